"""Mail across hosts over the user's OpenSSH: addresses, spools, the framed protocol, links and the relay.

A message for ``name@host`` waits in a spool (one folder per host) until the remote side has
written it durably and acked it; the remote side keeps a ledger of received ids and drops a
repeat. Nothing here imports ``tmms.server`` or ``tmms.config`` (they import this package).
"""

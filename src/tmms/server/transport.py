"""How a routed message reaches an inbox: on this host, or through another host's spool.

The router reads and checks an outbox file (``handover.hold``), then hands it to a transport.
``LocalTransport``: the claim, verify and no-clobber rename of ``handover.place`` into an inbox.
``RemoteTransport``: the same move into the spool of the host of ``name@host``, whose link (see
``tmms.hosts.links``) sends it and removes it once the host acked it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Protocol

from ..config import Config
from ..hosts.address import this_host
from ..hosts.links import Context, Links
from ..hosts.spool import hosts_root
from ..journal import Journal
from ..registry import Mailbox, Registry
from . import handover
from .handover import Held


class Transport(Protocol):
    """Delivers one held outbox file into a mailbox's inbox.

    ``deliver`` returns the path of the message in the inbox. It raises handover.Changed when the
    file is no longer the one that was read (it is routed again), FileNotFoundError when it is
    gone, and OSError when a step fails (the file is left in the outbox to be tried again).
    """

    def deliver(self, held: Held, box: Mailbox, data: bytes | None = None) -> str:
        """Put the held file (as ``data`` when given) into ``box``'s inbox; its path there."""
        ...


class LocalTransport:
    """An inbox on this host: the file is renamed into it, never replacing one (see ``handover``)."""

    def deliver(self, held: Held, box: Mailbox, data: bytes | None = None) -> str:
        """Move the held file into ``box.inbox`` (made when missing); its path there."""
        return handover.place(held, box.inbox, data)


class RemoteTransport:
    """Mail for other hosts: into the host's spool (posting order kept), then its link is woken."""

    def __init__(self, links: Links) -> None:
        self.links = links

    def deliver(self, held: Held, host: str, data: bytes | None = None) -> str:
        """Move the held file into ``host``'s spool; its path there (errors as ``Transport.deliver``)."""
        spool = self.links.spool(host)
        with spool.ordered():  # numbered and moved in before a listing can look
            name = spool.next_name(os.path.basename(held.path))  # its place in the line: posting order
            final = handover.place(held, spool.dir, data, rename_to=name)
        self.links.spooled(host)
        return final

    def start(self) -> None:
        """Finish spools a crash left half done; start the links of hosts with mail waiting."""
        self.links.start()

    def close(self) -> None:
        """Close every link (each says bye)."""
        self.links.close()


def remote_transport(config: Config, env: Mapping[str, str], state_dir: str, key: str, journal: str,
                     registry: Callable[[bool], Registry], dead_dir: Callable[[], str]) -> RemoteTransport:
    """The remote transport of the server of one tmux server (``key``), its spools in ``state_dir``."""
    me = this_host(env, config.hosts.host_name)
    context = Context(hosts_root(state_dir, key), config.hosts, me, env, Journal(journal), registry, dead_dir,
                      config.max_message_bytes)
    return RemoteTransport(Links(context))

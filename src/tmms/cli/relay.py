"""``tmms relay``: internal; the far end of a link between hosts, which ssh starts (see tmms.hosts)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from .common import CONFIG, ExitCode, Spec, tmux_of, warn

if TYPE_CHECKING:
    from ..tmux import Tmux

PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("relay", "cmd_relay", "internal: the far end of a link from another host (ssh runs it)",
         "Speaks tmms's framed protocol on stdin/stdout: mail from the host that connected goes into "
         "this host's inboxes (its sender shown as name@thathost), and mail this host holds for that "
         "host goes back. The server of the other host starts it as 'ssh -T HOST tmms relay'; people "
         "never need to run it.",
         """\
  ssh -T gpu-box tmms relay          # what another host's server runs
  ssh -T gpu-box tmms -L work relay  # for the tmux server 'work' there (hosts: tmux_socket_name)
""",
         (CONFIG,)),
)}


def cmd_relay(args: argparse.Namespace) -> int:
    import logging

    from ..config import load
    from ..hosts.address import this_host
    from ..hosts.relay import serve
    from ..hosts.session import LinkDown
    from ..hosts.spool import hosts_root
    from ..journal import Journal, default_path
    from ..paths import state_dir
    from ..registry import Registry
    from ..server.lock import ledger_key

    logging.basicConfig(level=logging.WARNING, format="tmms relay: %(message)s")
    env = os.environ
    tmux = tmux_of(args)
    config = load(args.config or _served_config(tmux), env)
    root = hosts_root(state_dir(env), ledger_key(tmux.socket_path))
    journal = Journal(default_path(env))
    try:
        serve(root, config.hosts, this_host(env, config.hosts.host_name),
              lambda: Registry.from_panes(tmux.list_panes(), env), journal, lambda: config.dead_letter_dir,
              config.max_message_bytes, env)
    except LinkDown as exc:
        if str(exc) != "the connection closed":
            warn(f"relay: {exc}")
            return ExitCode.NOTHING
    finally:
        journal.close()
    return ExitCode.OK


def _served_config(tmux: Tmux) -> str | None:
    """The config file of the server running for this tmux server (None: discover one)."""
    from ..errors import TmmsError
    from ..server.service import running

    try:
        found = running(tmux)
    except TmmsError:
        return None
    return found.info.config if found and found.info and found.info.config else None

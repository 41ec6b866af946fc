"""``tmms relay``: the far end of a link, run by ssh on the remote host, speaking frames on stdin/stdout.

It answers the hello (refusing a host name that ``accept_from`` does not list), notes that the
host links to us, and runs a ``Session``: messages from the host go into this host's inboxes
(their ``tmms_from`` qualified with the host's name), and mail this host holds for that host goes
back over the same link, whenever no other process here is sending it. It runs as the ssh user,
with that user's folders only; it never dials anywhere.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import StorageError, TmmsError
from ..journal import Journal
from ..registry import Registry
from . import frames
from .address import host_problem
from .frames import Decoder
from .received import Received
from .receiver import Delivered, Receiver
from .session import LinkDown, Session, read_frames, write_all
from .settings import Hosts
from .spool import Spool

log = logging.getLogger("tmms.hosts")
HELLO_TIMEOUT = 30.0
REREAD = 1.0  # seconds a read of the panes is used before it is read again
SILENCE_MARGIN = 60.0  # a relay that heard nothing for twice the dialler's idle time and this is orphaned


class Panes:
    """The panes of this host's tmux server, read again when older than REREAD (or when asked)."""

    def __init__(self, read: Callable[[], Registry]) -> None:
        self.read = read
        self._registry: Registry | None = None
        self._at = 0.0

    def __call__(self, fresh: bool) -> Registry:
        now = time.monotonic()
        if self._registry is None or now - self._at > REREAD or (fresh and now - self._at > 0.25):
            try:
                self._registry = self.read()
            except TmmsError as exc:  # no tmux server here: the sender keeps the mail and tries again
                raise OSError(errno.EAGAIN, f"cannot read the panes here: {exc}") from None
            self._at = now
        return self._registry


def serve(root: str, settings: Hosts, me: str, panes: Callable[[], Registry], journal: Journal,
          dead_dir: Callable[[], str], max_bytes: int, env: Mapping[str, str], rfd: int = 0, wfd: int = 1) -> str:
    """Serve one link on ``rfd``/``wfd``; why it ended. LinkDown when it failed."""
    decoder = Decoder()
    got = read_frames(rfd, decoder, HELLO_TIMEOUT)
    hello = got[0]
    peer = hello.fields.get("host")
    version = frames.chosen_version(hello.fields)
    problem = _refusal(hello, peer, version, settings, me)
    if problem:
        write_all(wfd, frames.encode(frames.ERROR, {"reason": problem}))
        raise LinkDown(problem)
    assert isinstance(peer, str) and version is not None
    write_all(wfd, frames.hello(me, version))
    spool = Spool(root, peer)
    spool.mark_inbound()

    def record(event: str, fields: dict[str, Any]) -> None:
        try:
            journal.append(event, **fields)
        except StorageError:
            pass

    def delivered(made: Delivered) -> None:
        record("delivered", made.record(peer))

    receiver = Receiver(peer, Received(spool.ledger_path), Panes(panes), here=me, max_bytes=max_bytes,
                        on_delivered=delivered)
    idle = hello.fields.get("idle")
    silence = 2 * float(idle) + SILENCE_MARGIN if isinstance(idle, (int, float)) and 0 < idle < 1e6 else None
    session = Session(rfd, wfd, peer, receiver, spool, idle=None, events=record, dead_dir=dead_dir,
                      decoder=decoder, initial=got[1:], silence=silence)
    return session.run()


def _refusal(hello: frames.Frame, peer: object, version: int | None, settings: Hosts, me: str) -> str:
    """Why this hello is refused ('' when it is taken)."""
    if hello.kind != frames.HELLO or hello.fields.get("tmms") != "relay":
        return "expected a tmms relay hello"
    if version is None:
        return f"{me}: no protocol version in common (this side speaks {frames.VERSION}): upgrade tmms"
    if not isinstance(peer, str) or host_problem(peer):
        return f"{me}: the hello names no usable host"
    if not settings.accepts(peer):
        return f"{me}: host name '{peer}' is not in accept_from there"
    return ""

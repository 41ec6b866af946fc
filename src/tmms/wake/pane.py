"""The tmux side of waking an agent: look at a pane, type into it, press one key, one sender at a time.

Every call is one tmux invocation. ``look`` reads the pane's mode and its visible screen with SGR
attributes (never the scrollback, where an old busy footer may linger). Text goes in as a bracketed
paste (``paste-buffer -p``: tmux adds the brackets only if the program asked for them) or literally
(``send-keys -l``); a key is always its own ``send-keys`` call, never bundled with the text.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from ..errors import TmuxCommandError
from ..tmux import Tmux

_SEP = "\x1f"
_MODE_FORMAT = _SEP.join(["#{pane_in_mode}", "#{pane_mode}", "#{pane_dead}", "#{pane_id}"])
KEYS = {"Enter", "C-m", "C-j", "Escape", "CR"}
"""The keys a doorbell may press ("CR": a literal carriage return, which some tmux versions need)."""


class View(NamedTuple):
    """A pane at one moment: whether it is in a mode (and which), dead, and its visible screen."""

    in_mode: bool
    mode: str
    dead: bool
    captured: str


def look(tmux: Tmux, pane_id: str) -> View:
    """The pane's mode and its visible screen with attributes: one tmux invocation."""
    out = tmux.run(["display-message", "-p", "-t", pane_id, _MODE_FORMAT, ";",
                    "capture-pane", "-p", "-e", "-t", pane_id])
    first, _, captured = out.partition("\n")
    fields = first.split(_SEP)
    if len(fields) != 4:
        raise TmuxCommandError(["display-message", "-t", pane_id], f"unexpected output {first[:80]!r}")
    in_mode, mode, dead, _ = fields
    return View(in_mode not in ("", "0"), mode, dead == "1", captured)


def type_text(tmux: Tmux, pane_id: str, text: str, *, bracketed: bool) -> None:
    """Put ``text`` into the pane's input: a bracketed paste, or literal keys."""
    if bracketed:
        name = f"tmms-{os.getpid()}-{time.monotonic_ns()}"
        tmux.run(["set-buffer", "-b", name, "--", text, ";",
                  "paste-buffer", "-p", "-d", "-r", "-b", name, "-t", pane_id])
    else:
        tmux.run(["send-keys", "-t", pane_id, "-l", "--", text])


def press(tmux: Tmux, pane_id: str, key: str) -> None:
    """Press one key in the pane (``CR``: a literal carriage return)."""
    if key not in KEYS:
        raise ValueError(f"not a key a doorbell presses: {key!r}")
    if key == "CR":
        tmux.run(["send-keys", "-t", pane_id, "-l", "\r"])
    else:
        tmux.run(["send-keys", "-t", pane_id, key])


def lock_path(state_dir: str, socket_path: str, pane_id: str) -> str:
    """The lock file that lets one sender at a time type into ``pane_id`` of the server at ``socket_path``."""
    key = hashlib.sha256(f"{socket_path}\0{pane_id}".encode()).hexdigest()[:16]
    return os.path.join(state_dir, "wake", f"lock-{key}")


@contextmanager
def sender_lock(path: str, timeout: float) -> Iterator[bool]:
    """Hold the pane's sender lock (an flock, across processes); yields False when ``timeout`` ran out."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    yield False
                    return
                time.sleep(0.02)
        yield True
    finally:
        os.close(fd)

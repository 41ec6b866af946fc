"""``tmms ui``: the full-screen mailbox (tmms.tui, on Textual), for a terminal or a tmux popup (``tmms bind``).

Textual is imported here, inside ``browse``, and nowhere else on a command's path.
"""

from __future__ import annotations

import sys
from typing import TextIO

from .. import api
from ..errors import UsageError
from ..tmux import Tmux

NEEDS_TERMINAL = ("tmms ui needs a terminal (stdin and stdout); in scripts use "
                  "tmms inbox, tmms read, tmms reply and tmms log")


def browse(tmux: Tmux, pane_id: str | None, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """Run the mailbox of the pane ``pane_id`` (else the current one) until ``q``; returns an exit code.

    The pane must be registered (PaneNotRegistered otherwise); UsageError without a terminal.
    """
    at = api.here(tmux, pane_id)
    if not (stdin.isatty() and out.isatty()):
        raise UsageError(NEEDS_TERMINAL)
    from ..tui.app import MailApp

    code = MailApp(at).run()
    return code or 0

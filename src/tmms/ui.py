"""``tmms ui``: a small line-based mailbox browser, for a terminal or a tmux popup (``tmms bind``).

It is part of the command line (it reads the keyboard and prints), built on the mailbox library.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from . import mailbox
from .errors import TmmsError
from .journal import default_path
from .mailbox import Letter
from .post import Here, here, reply
from .tmux import Tmux
from .views import letter_line, raw_text, rendered

HELP = "number: read · r NUMBER: reply · a: all/unread · g: refresh · q: quit"
END_OF_BODY = "."


def browse(tmux: Tmux, pane_id: str | None, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """Run the browser until ``q`` or end of input; returns an exit code."""
    at = here(tmux, pane_id)
    show_all = False
    letters = _listing(at, show_all, out)
    while True:
        out.write("> ")
        out.flush()
        line = stdin.readline()
        if not line:
            return 0
        command = line.strip()
        try:
            if command in ("q", "quit", "exit"):
                return 0
            if command in ("", "g"):
                letters = _listing(at, show_all, out)
            elif command == "a":
                show_all = not show_all
                letters = _listing(at, show_all, out)
            elif command.isdecimal():
                _read(at, _pick(letters, command), out)
                letters = _listing(at, show_all, out, quiet=True)
            elif command.startswith("r") and command[1:].strip().isdecimal():
                _reply(at, _pick(letters, command[1:].strip()), stdin, out)
                letters = _listing(at, show_all, out, quiet=True)
            else:
                out.write(HELP + "\n")
        except (TmmsError, IndexError) as exc:
            out.write(f"tmms: {exc}\n")


def _listing(at: Here, show_all: bool, out: TextIO, quiet: bool = False) -> list[Letter]:
    letters = mailbox.unread(at.me) + (mailbox.already_read(at.me) if show_all else [])
    if quiet:
        return letters
    unread = sum(1 for x in letters if x.folder == "inbox")
    out.write(f"\ntmms · {at.me.name} ({at.me.pane_id}) · {unread} unread\n")
    now = time.time()
    for number, letter in enumerate(letters, 1):
        out.write(f"{number:>3} {letter_line(letter, now, show_folder=show_all)}\n")
    if not letters:
        out.write("    no mail\n")
    out.write(HELP + "\n")
    return letters


def _pick(letters: list[Letter], number: str) -> Letter:
    index = int(number) - 1
    if not 0 <= index < len(letters):
        raise IndexError(f"no message number {number}")
    return letters[index]


def _read(at: Here, letter: Letter, out: TextIO) -> None:
    if letter.folder == "inbox":
        try:
            letter = mailbox.take(letter, at.me, default_path(at.tmux.env))
        except FileNotFoundError:
            out.write("tmms: that message was moved meanwhile\n")
            return
    out.write(rendered(letter) if out.isatty() else raw_text(letter))
    out.write("\n")


def _reply(at: Here, letter: Letter, stdin: TextIO, out: TextIO) -> None:
    h = letter.headers
    out.write(f"reply to {h.sender}: type the message; a line with only '{END_OF_BODY}' sends it\n")
    out.flush()
    lines: list[str] = []
    while True:
        line = stdin.readline()
        if not line or line.rstrip("\r\n") == END_OF_BODY:
            break
        lines.append(line)
    if not lines:
        out.write("nothing written; not sent\n")
        return
    posted = reply(at, letter, "".join(lines))
    out.write(f"sent to {h.sender}: {posted.paths[0]}\n")

"""``tmms ui``: a small line-based mailbox browser, for a terminal or a tmux popup (``tmms bind``).

It is part of the command line (it reads the keyboard and prints), built on the mailbox library.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .. import api
from ..api import Here
from ..errors import TmmsError
from ..mailbox import Letter
from ..terminal import visible, visible_text
from ..tmux import Tmux
from ..views import letter_line, raw_text, rendered

HELP = "number: read · r NUMBER: reply · a: all/unread · g: refresh · q: quit"
END_OF_BODY = "."


def browse(tmux: Tmux, pane_id: str | None, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """Run the browser until ``q`` or end of input; returns an exit code.

    A number always names the message shown with it in the last list printed: reading or replying
    does not renumber, and mail that arrives meanwhile gets a number only when the list is redrawn.
    """
    at = api.here(tmux, pane_id)
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
                index = _pick(letters, command)
                letters[index] = _read(at, letters[index], out)
            elif command.startswith("r") and command[1:].strip().isdecimal():
                _reply(at, letters[_pick(letters, command[1:].strip())], stdin, out)
            else:
                out.write(HELP + "\n")
        except (TmmsError, IndexError) as exc:
            out.write(visible(f"tmms: {exc}") + "\n")


def _listing(at: Here, show_all: bool, out: TextIO) -> list[Letter]:
    letters = api.inbox(at, include_read=show_all)
    unread = sum(1 for x in letters if x.folder == "inbox")
    out.write("\n" + visible(f"tmms · {at.me.name} ({at.me.pane_id}) · {unread} unread") + "\n")
    now = time.time()
    for number, letter in enumerate(letters, 1):
        out.write(f"{number:>3} {letter_line(letter, now, show_folder=show_all)}\n")
    if not letters:
        out.write("    no mail\n")
    out.write(HELP + "\n")
    return letters


def _pick(letters: list[Letter], number: str) -> int:
    index = int(number) - 1
    if not 0 <= index < len(letters):
        raise IndexError(f"no message number {number}")
    return index


def _read(at: Here, letter: Letter, out: TextIO) -> Letter:
    """Show a letter (marking it read); returns it at its new place, which its number keeps naming."""
    try:
        if letter.folder == "inbox":
            letter = api.mark_read(at, letter)
        text = rendered(letter) if out.isatty() else visible_text(raw_text(letter))
    except FileNotFoundError:
        out.write("tmms: that message was moved meanwhile\n")
        return letter
    except OSError as exc:
        out.write(visible(f"tmms: cannot show {letter.path}: {exc.strerror or exc}") + "\n")
        return letter
    out.write(text)
    out.write("\n")
    return letter


def _reply(at: Here, letter: Letter, stdin: TextIO, out: TextIO) -> None:
    h = letter.headers
    out.write(visible(f"reply to {h.sender}: type the message; a line with only '{END_OF_BODY}' sends it") + "\n")
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
    posted = api.reply(at, letter, "".join(lines))
    out.write(visible(f"sent to {h.sender}: {posted.paths[0]}") + "\n")

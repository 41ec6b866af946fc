"""Writing mail in ``$EDITOR``, as ``git commit`` does: a template, and the text above the scissors line.

Everything from the scissors line on is dropped (so a Markdown ``# heading`` in the body stays);
an empty body cancels. A new message starts with ``To:`` and ``Subject:`` lines.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from typing import NamedTuple

from ..mailbox import Letter, body_of
from ..names import SUFFIX
from ..terminal import visible

SCISSORS = "------------------------ >8 ------------------------"
_NOTE = (f"{SCISSORS}\nDo not modify or remove the line above.\n"
         "Everything below it is ignored. An empty message cancels.\n")
QUOTED_LINES = 40


class Draft(NamedTuple):
    """What the editor left: the recipients and subject (new mail only) and the body."""

    to: list[str]
    subject: str
    body: str


def new_template(to: str = "", subject: str = "") -> str:
    """The template of a new message."""
    return (f"To: {to}\nSubject: {subject}\n\n\n{_NOTE}"
            "To: one or more names or groups, separated by commas (empty: your reply-to address).\n")


def reply_template(letter: Letter) -> str:
    """The template of a reply: room for the body, then the original, quoted, below the scissors line."""
    h = letter.headers
    quoted = body_of(letter.path).splitlines()[:QUOTED_LINES]
    lines = [f"Replying to {h.sender}: {h.subject} ({letter.short_id})", ""]
    lines += ["> " + line for line in quoted]
    return "\n\n" + _NOTE + visible_lines(lines)


def visible_lines(lines: list[str]) -> str:
    """Lines a sender wrote, made safe to show in an editor in a terminal."""
    return "".join(visible(line) + "\n" for line in lines)


def parse(text: str, with_headers: bool) -> Draft:
    """The draft in an edited template; ``with_headers``: leading ``To:``/``Subject:`` lines are headers."""
    text = text.split(SCISSORS, 1)[0]
    lines = text.splitlines()
    to: list[str] = []
    subject = ""
    while with_headers and lines and ":" in lines[0]:
        key, _, value = lines[0].partition(":")
        if key.strip().lower() == "to":
            to = [name.strip() for name in value.replace(" ", ",").split(",") if name.strip()]
        elif key.strip().lower() == "subject":
            subject = value.strip()
        else:
            break
        lines.pop(0)
    body = "\n".join(lines).strip("\n")
    return Draft(to, subject, body + "\n" if body.strip() else "")


def editor_command() -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split as a shell would."""
    return shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")


def edit(template: str) -> str:
    """Run the editor on a private temporary file holding ``template``; its text afterwards.

    OSError when the editor cannot be started; a non-zero exit leaves the text as written.
    """
    fd, path = tempfile.mkstemp(prefix="tmms-", suffix=SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(template)
        subprocess.run([*editor_command(), path], check=False)
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    finally:
        os.unlink(path)

"""The doorbell's words: one line that states the new mail, safe to type into an agent's composer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..terminal import is_unsafe

PREFIX = "[tmms]"
MAX_LENGTH = 300
"""A doorbell line is at most this many characters (it is a pointer to the mail, not the mail)."""
MAX_NAMED = 3
"""At most this many senders and subjects are named; the rest are counted."""
MAX_PART = 60
"""A sender or subject is clipped to this many characters."""


class Mail(NamedTuple):
    """One unread message the doorbell announces."""

    message_id: str
    sender: str
    subject: str


def typeable(text: str) -> str:
    """``text`` with every control, format or bidi character dropped, tabs and newlines as spaces.

    What is left types the same in any composer: no ESC starts a key sequence, no CR submits early.
    """
    spaced = text.replace("\t", " ").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return "".join(c for c in spaced if not is_unsafe(c)).strip()


def _part(text: str) -> str:
    clean = " ".join(typeable(text).split()) or "?"
    return clean if len(clean) <= MAX_PART else clean[: MAX_PART - 3] + "..."


def doorbell(mail: Sequence[Mail], command: str = "tmms inbox") -> str:
    """``[tmms] 2 new messages, from alpha: "Review PR 7" - run: tmms inbox`` for ``mail``."""
    count = len(mail)
    senders: list[str] = []
    for m in mail:
        name = _part(m.sender)
        if name not in senders:
            senders.append(name)
    more = len(senders) - MAX_NAMED
    named = ", ".join(senders[:MAX_NAMED]) + (f" and {more} more" if more > 0 else "")
    subjects = ", ".join(f'"{_part(m.subject)}"' for m in mail[-MAX_NAMED:] if m.subject.strip())
    line = f"{PREFIX} {count} new message{'s' if count != 1 else ''}, from {named}"
    if subjects:
        line += f": {subjects}"
    tail = f" - run: {command}"
    if len(line) + len(tail) > MAX_LENGTH:
        line = line[: MAX_LENGTH - len(tail) - 3] + "..."
    return line + tail

"""Finding mail: the list filters (sender, subject, age) and a text search across unread, read, archived and sent
mail.

The search reads each file through tmms.reading (regular files only, never blocking, never
following a symlink) and at most SEARCH_BYTES of it, so a hostile file never hangs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from .mailbox import Letter

T = TypeVar("T")
SEARCH_BYTES = 1024 * 1024
"""The most of one file a search reads (the front matter and the start of the body)."""
FOLDERS = ("inbox", "read", "archive", "sent")
"""Where a search looks by default: unread mail, read mail, archived mail, sent copies."""


def select(items: Iterable[T], letter_of: Callable[[T], Letter], *, senders: Sequence[str] = (),
           subject: str | None = None, since: float | None = None, when: Callable[[T], float] | None = None,
           now: float | None = None) -> list[T]:
    """The items whose letter is from one of ``senders``, has ``subject`` in its subject (any case) and whose
    time (``when``; default the file's mtime) is at most ``since`` seconds ago. Empty filters pass everything."""
    now = time.time() if now is None else now
    wanted = subject.casefold() if subject else ""
    kept: list[T] = []
    for item in items:
        letter = letter_of(item)
        if senders and letter.headers.sender not in senders:
            continue
        if wanted and wanted not in letter.headers.subject.casefold():
            continue
        moment = when(item) if when else letter.mtime
        if since is not None and now - moment > since:
            continue
        kept.append(item)
    return kept


def contains(letter: Letter, text: str) -> bool:
    """Whether the letter's subject or body holds ``text`` (any case); an unreadable file never does."""
    wanted = text.casefold()
    if wanted in letter.headers.subject.casefold():
        return True
    if not letter.readable:
        return False
    from . import frontmatter
    from .errors import MessageError
    from .reading import read_regular

    try:
        raw, _ = read_regular(letter.path, SEARCH_BYTES)
    except OSError:
        return False
    content = raw.decode("utf-8", errors="replace")
    try:
        body = frontmatter.split(content).body
    except MessageError:
        body = content
    return wanted in body.casefold()


def search(letters: Iterable[Letter], text: str) -> list[Letter]:
    """The letters whose subject or body holds ``text``, any case, in the order given."""
    return [letter for letter in letters if contains(letter, text)]


def parse_folders(value: str) -> tuple[str, ...]:
    """``inbox,read,archive,sent`` -> the folder names; ValueError naming an unknown one."""
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in FOLDERS]
    if unknown or not names:
        raise ValueError(unknown[0] if unknown else value)
    return names

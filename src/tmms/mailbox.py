"""Reading a mailbox: unread and read mail, sent copies, lookup by id prefix, marking read, threads.

Unread mail is ``*.md`` directly in the inbox, as TMMS has it. Reading a message moves it into
``inbox/read/`` (a rename that never replaces), so ``ls inbox/*.md`` still means unread. ``tmms
post`` keeps a copy of each message it sends in ``outbox/sent/``; the router only looks at
``*.md`` files directly in the outbox, so neither TMMS nor tmms routes the copies.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import NamedTuple

from . import store
from .errors import AmbiguousMessage, MessageError, MessageNotFound, StorageError
from .message import Headers, read_headers
from .registry import Mailbox

READ_DIR = store.READ_DIR
SENT_DIR = store.SENT_DIR
HEAD_BYTES = 256 * 1024


class Letter(NamedTuple):
    """One message file and what its front matter says (empty headers when it cannot be read)."""

    path: str
    folder: str  # inbox | read | outbox | sent | dead
    headers: Headers
    mtime: float
    error: str = ""

    @property
    def name(self) -> str:
        """The file name."""
        return os.path.basename(self.path)

    @property
    def message_id(self) -> str:
        """The tmms_id, or '' when the file has none."""
        return self.headers.message_id

    @property
    def short_id(self) -> str:
        """The first eight hex digits of the id (as in file names), or the file name's."""
        if self.message_id:
            return self.message_id.replace("-", "")[:8]
        stem = self.name.removesuffix(".md")
        return stem.rsplit("_", 1)[-1][:8] if "_" in stem else stem[:8]

    @property
    def thread_root(self) -> str:
        """The id of the thread this message belongs to (its own id when it starts one)."""
        return self.headers.thread_id or self.message_id


def load(path: str, folder: str) -> Letter:
    """Read one message file's headers; a file that cannot be parsed keeps its error text."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(HEAD_BYTES)
            mtime = os.fstat(handle.fileno()).st_mtime
    except OSError as exc:
        return Letter(path, folder, Headers(), 0.0, error=exc.strerror or str(exc))
    try:
        headers = read_headers(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return Letter(path, folder, Headers(), mtime, error="not UTF-8 text")
    except MessageError as exc:
        return Letter(path, folder, Headers(), mtime, error=exc.reason)
    return Letter(path, folder, headers, mtime)


def scan(directory: str, folder: str) -> list[Letter]:
    """Every message of one folder, oldest first (by creation time, then name)."""
    letters = [load(entry.path, folder) for entry in store.messages(directory)]
    return sorted(letters, key=lambda x: (x.headers.created_at or "~", x.name))


def unread(box: Mailbox) -> list[Letter]:
    """The unread mail: ``*.md`` directly in the inbox."""
    return scan(box.inbox, "inbox")


def read_folder(box: Mailbox) -> str:
    """``inbox/read``."""
    return os.path.join(box.inbox, READ_DIR)


def sent_folder(box: Mailbox) -> str:
    """``outbox/sent``."""
    return os.path.join(box.outbox, SENT_DIR)


def already_read(box: Mailbox) -> list[Letter]:
    """Mail that has been read."""
    return scan(read_folder(box), "read")


def everything(box: Mailbox) -> list[Letter]:
    """Unread, read, queued (still in the outbox) and sent mail of one mailbox, oldest first."""
    letters = unread(box) + already_read(box) + scan(box.outbox, "outbox") + scan(sent_folder(box), "sent")
    return sorted(letters, key=lambda x: (x.headers.created_at or "~", x.name))


def matches_id(letter: Letter, ref: str) -> bool:
    """Whether ``ref`` is a prefix of the letter's id (dashes optional)."""
    ref = ref.strip().lower()
    plain = ref.replace("-", "")
    mid = letter.message_id.lower()
    return bool(ref and mid and (mid.startswith(ref) or (plain and mid.replace("-", "").startswith(plain))))


def matches(letter: Letter, ref: str) -> bool:
    """Whether ``ref`` names this letter: a prefix of its id (dashes optional) or of its file name."""
    ref = ref.strip().lower()
    if not ref:
        return False
    if matches_id(letter, ref):
        return True
    return letter.name.lower().startswith(ref) or letter.short_id.lower().startswith(ref)


def find(letters: Iterable[Letter], ref: str, where: str) -> Letter:
    """The one letter ``ref`` names; MessageNotFound or AmbiguousMessage otherwise.

    Copies of the same message in several folders (say, sent and read) count once: the first wins.
    Id prefixes win over file-name prefixes, so ``2026`` is not every message of the year when
    some id starts with it.
    """
    found: dict[str, Letter] = {}
    by_name: dict[str, Letter] = {}
    for letter in letters:
        if matches_id(letter, ref):
            found.setdefault(letter.message_id, letter)
        elif matches(letter, ref):
            by_name.setdefault(letter.message_id or letter.path, letter)
    found = found or by_name
    if not found:
        raise MessageNotFound(ref, where)
    if len(found) > 1:
        raise AmbiguousMessage(ref, [f"{x.short_id} ({x.folder}: {x.name})" for x in found.values()])
    return next(iter(found.values()))


def mark_read(letter: Letter, box: Mailbox) -> Letter:
    """Move an unread letter into ``inbox/read/``; returns it at its new place.

    FileNotFoundError when another reader took it first (the move is the claim).
    """
    if letter.folder != "inbox":
        return letter
    target = read_folder(box)
    store.ensure_dir(target)
    try:
        path = store.move_no_clobber(letter.path, target)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageError(target, exc.strerror or str(exc)) from None
    return Letter(path, "read", letter.headers, letter.mtime, letter.error)


def take(letter: Letter, box: Mailbox, journal_path: str | None = None) -> Letter:
    """Mark an unread letter read and, given a journal, record it there (``tmms status`` shows it).

    FileNotFoundError when another reader took it first.
    """
    if letter.folder != "inbox":
        return letter
    taken = mark_read(letter, box)
    if journal_path:
        from .journal import record

        record(journal_path, "read", id=taken.message_id, mailbox=box.name, path=taken.path)
    return taken


def thread(letters: Iterable[Letter], root: str) -> list[Letter]:
    """The letters of one thread, oldest first, one per message id."""
    seen: dict[str, Letter] = {}
    for letter in letters:
        if letter.message_id and (letter.thread_root == root or letter.message_id == root):
            seen.setdefault(letter.message_id, letter)
    return sorted(seen.values(), key=lambda x: (x.headers.created_at or "~", x.name))


def body_of(path: str) -> str:
    """The text after the front matter (the whole text when there is none)."""
    from .frontmatter import split

    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    try:
        return split(text).body
    except MessageError:
        return text

"""Reading a mailbox: unread and read mail, sent copies, lookup by id prefix, marking read, threads.

Unread mail is ``*.md`` directly in the inbox, as TMMS has it. Reading a message moves it into
``inbox/read/`` (a rename that never replaces), so ``ls inbox/*.md`` still means unread. ``tmms
post`` keeps a copy of each message it sends in ``outbox/sent/``; the router only looks at
``*.md`` files directly in the outbox, so neither TMMS nor tmms routes the copies.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from enum import StrEnum
from typing import NamedTuple

from . import frontmatter, store
from .errors import AmbiguousMessage, InputError, MessageError, MessageNotFound, StorageError, os_reason
from .message import SHORT_ID, Headers, read_headers, short_id
from .names import SUFFIX
from .registry import Mailbox

READ_DIR = store.READ_DIR
ARCHIVE_DIR = store.ARCHIVE_DIR  # inside an inbox, beside read/: mail put away (tmms archive, the ui's a key)
SENT_DIR = store.SENT_DIR
HEAD_BYTES = 4 * frontmatter.MAX_CHARS + 64  # the longest front matter frontmatter.load takes, as UTF-8
TEXT_LIMIT = 64 * 1024 * 1024  # the most of one file a reader shows (as max_message_bytes' default)


class Folder(StrEnum):
    """Where a letter was found; each is its own string, so ``folder == "inbox"`` still holds."""

    INBOX = "inbox"
    READ = "read"
    OUTBOX = "outbox"
    SENT = "sent"
    DEAD = "dead"
    ARCHIVE = "archive"


class Letter(NamedTuple):
    """One message file and what its front matter says (empty headers when it cannot be read).

    ``error`` says why the file is not a valid message. ``readable`` is False when the file itself
    could not be read (not a regular file, no permission, gone): such a file is listed, never read.
    """

    path: str
    folder: Folder
    headers: Headers
    mtime: float
    error: str = ""
    readable: bool = True

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
            return short_id(self.message_id)
        stem = self.name.removesuffix(SUFFIX)
        return stem.rsplit("_", 1)[-1][:SHORT_ID]  # the file name's last part: its id8

    @property
    def thread_root(self) -> str:
        """The id of the thread this message belongs to (its own id when it starts one)."""
        return self.headers.thread_id or self.message_id


def by_date(letter: Letter) -> tuple[str, str]:
    """The order of letters: by creation time (undated last), then by file name."""
    return (letter.headers.created_at or "~", letter.name)


def load(path: str, folder: Folder) -> Letter:
    """Read one message file's headers, never blocking; a file that cannot be read or parsed keeps why.

    Only a regular file is opened (store.read_regular), and at most HEAD_BYTES of it is read.
    No exception escapes: one hostile file is one letter with an error, never the end of a listing.
    """
    try:
        raw, st = store.read_regular(path, HEAD_BYTES)
    except OSError as exc:
        return Letter(path, folder, Headers(), _mtime(path), error=os_reason(exc), readable=False)
    try:
        headers = read_headers(_decode_head(raw, truncated=len(raw) >= HEAD_BYTES))
    except UnicodeDecodeError as exc:
        return Letter(path, folder, Headers(), st.st_mtime, error=f"not UTF-8 text (bad byte at offset {exc.start})")
    except MessageError as exc:
        return Letter(path, folder, Headers(), st.st_mtime, error=exc.reason)
    except Exception as exc:  # the last guard of a listing against one hostile file
        return Letter(path, folder, Headers(), st.st_mtime, error=f"cannot be parsed ({type(exc).__name__})")
    return Letter(path, folder, headers, st.st_mtime)


def _decode_head(raw: bytes, truncated: bool) -> str:
    """UTF-8 text of a file's first bytes; a character cut at the end of a partial read is dropped."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if truncated and exc.reason == "unexpected end of data":
            return raw[: exc.start].decode("utf-8")
        raise


def _mtime(path: str) -> float:
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0.0


def scan(directory: str, folder: Folder) -> list[Letter]:
    """Every message of one folder, oldest first (by creation time, then name).

    A missing folder, or a path that is not a folder, holds no mail; a folder that cannot be
    listed is an InputError.
    """
    try:
        entries = list(store.messages(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise InputError.from_os(directory, exc) from None
    letters = [load(entry.path, folder) for entry in entries]
    return sorted(letters, key=by_date)


def unread(box: Mailbox) -> list[Letter]:
    """The unread mail: ``*.md`` directly in the inbox."""
    return scan(box.inbox, Folder.INBOX)


def read_folder(box: Mailbox) -> str:
    """``inbox/read``."""
    return os.path.join(box.inbox, READ_DIR)


def sent_folder(box: Mailbox) -> str:
    """``outbox/sent``."""
    return os.path.join(box.outbox, SENT_DIR)


def already_read(box: Mailbox) -> list[Letter]:
    """Mail that has been read."""
    return scan(read_folder(box), Folder.READ)


def everything(box: Mailbox) -> list[Letter]:
    """Unread, read, queued (still in the outbox) and sent mail of one mailbox, oldest first."""
    letters = unread(box) + already_read(box) + scan(box.outbox, Folder.OUTBOX) + scan(sent_folder(box), Folder.SENT)
    return sorted(letters, key=by_date)


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
    """The one message ``ref`` names; MessageNotFound or AmbiguousMessage otherwise.

    Copies of one message in several folders (say, sent and read) count once: the first wins.
    Two different messages that carry the same id (an impostor) are ambiguous, never a silent
    pick. Id prefixes win over file-name prefixes, so ``2026`` is not every message of the year
    when some id starts with it.
    """
    by_id: list[Letter] = []
    by_name: list[Letter] = []
    for letter in letters:
        if matches_id(letter, ref):
            by_id.append(letter)
        elif matches(letter, ref):
            by_name.append(letter)
    found = distinct(by_id or by_name)
    if not found:
        raise MessageNotFound(ref, where)
    if len(found) > 1:
        ids = [x.message_id for x in found if x.message_id]
        hint = ("different messages carry the same id; give the file name instead" if len(set(ids)) < len(ids)
                else "give more of the id")
        raise AmbiguousMessage(ref, [f"{x.short_id} ({x.folder}: {x.name})" for x in found], hint=hint)
    return found[0]


def distinct(letters: Iterable[Letter]) -> list[Letter]:
    """One letter per message, in order: copies of one message (``same_message``) count once."""
    kept: list[Letter] = []
    paths: set[str] = set()
    by_id: dict[str, list[Letter]] = {}
    for letter in letters:
        if letter.path in paths:
            continue
        paths.add(letter.path)
        if letter.message_id:
            group = by_id.setdefault(letter.message_id, [])
            if any(same_message(letter, other) for other in group):
                continue
            group.append(letter)
        kept.append(letter)
    return kept


def same_message(a: Letter, b: Letter) -> bool:
    """Whether two letters are copies of one message, not an impostor reusing its id.

    Copies (the sent copy, the delivered or read one, a dead letter) have the same id, sender,
    recipients, date, subject, thread and reply-to, and the same body (the text after the front
    matter). A body that cannot be read now (moved meanwhile) is not held against a copy.
    """
    if _facts(a.headers) != _facts(b.headers):
        return False
    body_a, body_b = _body_or_none(a.path), _body_or_none(b.path)
    return body_a is None or body_b is None or body_a == body_b


def _facts(h: Headers) -> tuple[object, ...]:
    return (h.message_id, h.sender, h.recipients, h.created_at, h.subject, h.thread_id, h.in_reply_to)


def _body_or_none(path: str) -> str | None:
    try:
        return body_text(path)
    except InputError:
        return None


def mark_read(letter: Letter, box: Mailbox) -> Letter:
    """Move an unread letter into ``inbox/read/``; returns it at its new place.

    FileNotFoundError when another reader took it first (the move is the claim), or when what was
    moved is no longer a regular file (swapped after the listing: it is put back, as no message).
    InputError for a letter whose file cannot be read (a FIFO, a folder, a symlink, ...), which
    is left where it is.
    """
    if letter.folder != Folder.INBOX:
        return letter
    if not letter.readable:
        raise InputError(letter.path, letter.error)
    target = read_folder(box)
    store.ensure_dir(target)
    try:
        path = store.move_no_clobber(letter.path, target)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageError.from_os(target, exc) from None
    if not _is_regular(path):
        _put_back(path, letter.path)
        raise FileNotFoundError(errno.ENOENT, "replaced by something that is not a message", letter.path)
    return letter._replace(path=path, folder=Folder.READ)


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _put_back(path: str, where: str) -> None:
    """Return a file a reader moved by mistake to the folder it came from (never replacing)."""
    try:
        store.move_no_clobber(path, os.path.dirname(where), os.path.basename(where))
    except OSError:
        pass  # it stays listed, as unreadable, in read/


def take(letter: Letter, box: Mailbox, journal_path: str | None = None) -> Letter:
    """Mark an unread letter read and, given a journal, record it there (``tmms status`` shows it).

    FileNotFoundError when another reader took it first.
    """
    if letter.folder != Folder.INBOX:
        return letter
    taken = mark_read(letter, box)
    if journal_path:
        from .journal import record

        record(journal_path, "read", id=taken.message_id, mailbox=box.name, path=taken.path)
    return taken


def archive_folder(box: Mailbox) -> str:
    """``inbox/archive``."""
    return os.path.join(box.inbox, ARCHIVE_DIR)


def archived(box: Mailbox) -> list[Letter]:
    """Mail put away in ``inbox/archive/``."""
    return scan(archive_folder(box), Folder.ARCHIVE)


def move_letter(letter: Letter, box: Mailbox, folder: Folder) -> Letter:
    """Move an unread, read or archived letter into ``folder`` (INBOX: unread again, READ, ARCHIVE), never
    replacing a file; the letter at its new place.

    FileNotFoundError when someone moved it first; InputError for a file that cannot be read.
    """
    targets = {Folder.INBOX: box.inbox, Folder.READ: read_folder(box), Folder.ARCHIVE: archive_folder(box)}
    if letter.folder == folder:
        return letter
    if letter.folder not in targets or folder not in targets:
        raise InputError(letter.path, f"only mail in the inbox, read/ or archive/ can be moved ({letter.folder})")
    if not letter.readable:
        raise InputError(letter.path, letter.error)
    store.ensure_dir(targets[folder])
    try:
        path = store.move_no_clobber(letter.path, targets[folder])
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageError.from_os(targets[folder], exc) from None
    return letter._replace(path=path, folder=folder)


def thread(letters: Iterable[Letter], root: str) -> list[Letter]:
    """The letters of one thread, oldest first, one per message (copies count once)."""
    members = [x for x in letters if x.message_id and (x.thread_root == root or x.message_id == root)]
    return sorted(distinct(members), key=by_date)


def read_text(path: str) -> str:
    """A mail file's whole text, never blocking (bad UTF-8 shows as U+FFFD); InputError when unreadable.

    Only a regular file is read, and at most TEXT_LIMIT bytes of it.
    """
    try:
        if os.lstat(path).st_size > TEXT_LIMIT:
            raise InputError(path, f"too large to show (more than {TEXT_LIMIT} bytes)")
        raw, _ = store.read_regular(path, TEXT_LIMIT + 1)
    except OSError as exc:
        raise InputError.from_os(path, exc) from None
    if len(raw) > TEXT_LIMIT:
        raise InputError(path, f"too large to show (more than {TEXT_LIMIT} bytes)")
    return raw.decode("utf-8", errors="replace")


def body_text(path: str) -> str:
    """The text after the front matter (the whole text when there is none); InputError when unreadable."""
    text = read_text(path)
    try:
        return frontmatter.split(text).body
    except MessageError:
        return text


def body_of(path: str) -> str:
    """The body for a person: as ``body_text``, or ``(unreadable: why)`` when the file cannot be read."""
    try:
        return body_text(path)
    except InputError as exc:
        return f"(unreadable: {exc.reason})"

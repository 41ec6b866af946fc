"""The journal: an append-only file of JSON lines that says what happened to each message.

The server and the commands append to it (posted, delivered, notified, read, dead-lettered, ...);
``tmms status`` reads it back. Each record is written with one ``write`` on an ``O_APPEND``
descriptor, so concurrent writers never interleave. When the file passes ``max_bytes`` it is
rotated to ``journal.jsonl.1`` (older ones shift up, ``keep`` are kept).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from . import store
from .errors import StorageError
from .paths import state_dir

FILE_NAME = "journal.jsonl"
MAX_BYTES = 8 * 1024 * 1024
KEEP = 3


# JSON string escapes: quote, backslash, control characters and lone surrogates (which a path
# decoded with surrogateescape may hold; escaped, the line stays valid UTF-8).
_JSON_ESCAPES = {ord('"'): '\\"', ord("\\"): "\\\\"}
_JSON_ESCAPES.update({c: f"\\u{c:04x}" for c in [*range(0x20), 0x7F]})


_PLAIN = re.compile('[^"\\\\\x00-\x1f\x7f\ud800-\udfff]*')


def _json_string(text: str) -> str:
    escaped = text.translate(_JSON_ESCAPES)
    try:
        escaped.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escape them too
        escaped = "".join(f"\\u{ord(c):04x}" if "\ud800" <= c <= "\udfff" else c for c in escaped)
    return '"' + escaped + '"'


def json_object(record: Mapping[str, str | int]) -> str:
    """One line of JSON for a flat record of strings and integers (json.dumps, without importing json)."""
    strings = [*record, *(v for v in record.values() if not isinstance(v, int))]
    if _PLAIN.fullmatch("".join(strings)):  # the usual case: nothing to escape anywhere
        return "{" + ", ".join(f'"{k}": {v}' if isinstance(v, int) else f'"{k}": "{v}"'
                               for k, v in record.items()) + "}"
    parts = []
    for key, value in record.items():
        text = str(value) if isinstance(value, int) else _json_string(value)
        parts.append(_json_string(key) + ": " + text)
    return "{" + ", ".join(parts) + "}"


def default_path(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_STATE_HOME/tmms/journal.jsonl``."""
    return os.path.join(state_dir(env), FILE_NAME)


def now_iso() -> str:
    """The current UTC time as ``2026-03-22T14:30:05.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Journal:
    """Appends records to the journal file; keeps one descriptor open and follows rotation."""

    def __init__(self, path: str, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self._fd = -1
        self._inode = -1
        self._lock = threading.Lock()  # the server appends from its loop and its notifier thread

    def append(self, event: str, **fields: str | int | None) -> None:
        """Write one record ``{"at", "event", **fields}`` (None values are left out)."""
        record: dict[str, str | int] = {"at": now_iso(), "event": event}
        record.update({k: v for k, v in fields.items() if v is not None and v != ""})
        line = (json_object(record) + "\n").encode("utf-8")
        with self._lock:
            try:
                fd = self._descriptor()
                os.write(fd, line)
                if os.fstat(fd).st_size > self.max_bytes:
                    self._rotate(fd)
            except OSError as exc:
                self.close()
                raise StorageError.from_os(self.path, exc) from None

    def _descriptor(self) -> int:
        """The open descriptor, reopened when someone else rotated the file away."""
        if self._fd >= 0:
            try:
                if os.stat(self.path).st_ino == self._inode:
                    return self._fd
            except FileNotFoundError:
                pass
            self.close()
        folder = os.path.dirname(self.path)
        try:
            store.ensure_dir(folder)
        except StorageError as exc:
            raise StorageError(self.path, exc.reason) from None
        store.tighten(folder)  # tmms's state folder, made 0755 by versions before 0.4
        self._fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        self._inode = os.fstat(self._fd).st_ino
        return self._fd

    def _rotate(self, fd: int) -> None:
        """Shift ``.1`` → ``.2`` … and the current file to ``.1``, under an exclusive lock."""
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            try:
                if os.stat(self.path).st_ino != self._inode:
                    return  # another writer rotated it first
            except FileNotFoundError:
                return  # another writer rotated it, and no one has written the new file yet
            for index in range(self.keep - 1, 0, -1):
                older = f"{self.path}.{index}"
                if os.path.exists(older):
                    os.replace(older, f"{self.path}.{index + 1}")
            os.replace(self.path, f"{self.path}.1")
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        self.close()

    def close(self) -> None:
        """Close the descriptor (the next append reopens it)."""
        if self._fd >= 0:
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = -1
        self._inode = -1


def open_private(path: str, flags: int) -> int:
    """Open (or create) a file of tmms's own, 0600 whatever the umask, never through a symlink.

    For the journal, the server log and the notify ledger: anything but a regular file at the name
    (a symlink, FIFO, device) is refused with ``store.NotRegularFile`` before it is opened, and a
    file of ours with a looser mode is made 0600.
    """
    try:
        before: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        before = None
    if before is not None and not stat.S_ISREG(before.st_mode):
        raise store.NotRegularFile(errno.EINVAL, f"not a regular file ({store.kind_of(before.st_mode)})", path)
    fd = os.open(path, flags | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, store.FILE_MODE)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise store.NotRegularFile(errno.EINVAL, f"not a regular file ({store.kind_of(st.st_mode)})", path)
        if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) != store.FILE_MODE:
            os.fchmod(fd, store.FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def record(journal_path: str, event: str, /, **fields: str | int | None) -> bool:
    """Append one record and close; False when it could not be written.

    For commands: the journal is a record of what happened, so a full disk must not turn a read
    or a post that did happen into a failure.
    """
    journal = Journal(journal_path)
    try:
        journal.append(event, **fields)
    except StorageError:
        return False
    finally:
        journal.close()
    return True


def read(path: str, keep: int = KEEP) -> Iterator[dict[str, str]]:
    """Every record, oldest first: the rotated files, then the current one. Bad lines are skipped."""
    import json

    for candidate in [f"{path}.{i}" for i in range(keep, 0, -1)] + [path]:
        try:
            fd, _ = store.open_regular(candidate)  # a FIFO at the name must not hang 'tmms status'
        except OSError:
            continue
        handle = os.fdopen(fd, encoding="utf-8", errors="replace")
        with handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield {str(k): str(v) for k, v in record.items()}


def events_for(path: str, message_ids: set[str]) -> list[dict[str, str]]:
    """The records about any of ``message_ids``, oldest first."""
    return [r for r in read(path) if r.get("id") in message_ids]

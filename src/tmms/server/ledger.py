"""Which inbox messages have had their notify command started, kept across restarts.

A key is recorded once its command has started, never before: a server killed between a delivery
and the start leaves the message unrecorded, and the next server runs its command (at least once).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Collection

from .. import store

COMPACT_SLACK = 1024  # stale lines the file may hold beyond twice the live keys before a rewrite
_IDENTITY = re.compile(r"[0-9]+:[0-9]+")


def identity(inode: int, mtime_ns: int) -> str:
    """What tells one message file from another that later takes the same name.

    A freed inode number is soon given to a new file, but the new file was written at another time.
    Renaming, linking, reading or chmod leave both alone (ctime would change on a link-then-unlink
    move, after the name is already visible). So a restart finds the same identity for an old
    message, and a new message under a reused name gets a new one.
    """
    return f"{inode}:{mtime_ns}"


def identity_of(path: str) -> str | None:
    """The identity of the file at ``path``, or None when there is none."""
    try:
        st = os.lstat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte (a damaged ledger line)
        return None
    return identity(st.st_ino, st.st_mtime_ns)


class NotifyLedger:
    """An append-only file (0600) of ``path<TAB>mailbox<TAB>identity`` keys; compacted when it is
    opened and when it has grown well past the keys still alive. Thread-safe: the notifier's thread
    records starts while the server's loop asks and forgets.

    Once opened, writing never raises: ``on_error`` hears of a failure, and the key is kept in
    memory (a restart may then run that notify command again).
    """

    def __init__(self, path: str, on_error: Callable[[OSError], None] | None = None) -> None:
        self.path = path
        self.on_error = on_error
        self._keys: set[str] = set()
        self._lines = 0
        self._fd = -1
        self._torn = False  # the last append was cut short: the next one starts a new line
        self._lock = threading.Lock()

    @staticmethod
    def key(file_path: str, mailbox: str, file_identity: str) -> str:
        """The key of one (message file, mailbox) notification."""
        return f"{file_path}\t{mailbox}\t{file_identity}"

    @staticmethod
    def path_of(key: str) -> str:
        """The file path a key is about."""
        return key.rsplit("\t", 2)[0]

    def open(self) -> None:
        """Load the keys whose files are still there, rewrite the file compactly, keep it open.

        Raises OSError when the file can be neither rewritten nor appended to (the keys loaded
        are kept in memory).
        """
        store.ensure_dir(os.path.dirname(self.path))
        keys: set[str] = set()
        try:
            with open(self.path, "rb") as handle:
                for line in handle:
                    key = _current(_decode(line.rstrip(b"\n")))
                    if key is not None:
                        keys.add(key)
        except FileNotFoundError:
            pass
        with self._lock:
            self._keys = keys
            self._rewrite(strict=True)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._keys

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)

    def add(self, key: str) -> None:
        """Record a started notification (written to the OS at once, so a crash keeps it)."""
        with self._lock:
            if key in self._keys:
                return
            self._keys.add(key)
            if self._fd >= 0:
                self._append(_encode(key))

    def forget_missing(self, folders: Collection[str], present: Collection[str]) -> None:
        """Forget the keys of files that are gone, after a scan of every inbox.

        ``present`` holds the keys of the files just listed in ``folders``; a key of a file in
        another folder (an inbox no pane uses any more) is kept while that file is still there.
        """
        def still_there(key: str) -> bool:
            if key in present:
                return True
            return os.path.dirname(self.path_of(key)) not in folders and _current(key) == key

        with self._lock:
            kept = {key for key in self._keys if still_there(key)}
            self._keys = kept
            if self._fd >= 0 and self._lines > 2 * len(kept) + COMPACT_SLACK:
                self._rewrite(strict=False)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def _append(self, line: bytes) -> None:
        data = (b"\n" if self._torn else b"") + line + b"\n"
        try:
            store.write_all(self._fd, data)
        except OSError as exc:
            self._torn = True  # some bytes of the line may be there
            self._report(exc)
            return
        self._torn = False
        self._lines += 1

    def _rewrite(self, *, strict: bool) -> None:
        """Replace the file with the live keys (private, whatever the umask); keep appending to it.

        When that fails the old file is appended to as it is; ``strict``: raise when even that fails.
        """
        self._close()
        temp = self.path + ".compact"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, store.FILE_MODE)
            try:
                os.fchmod(fd, store.FILE_MODE)
                store.write_all(fd, b"".join(_encode(k) + b"\n" for k in sorted(self._keys)))
            finally:
                os.close(fd)
            os.replace(temp, self.path)
            self._lines = len(self._keys)
            self._torn = False
        except OSError as exc:
            _unlink_quietly(temp)
            self._report(exc)
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                               store.FILE_MODE)
        except OSError as exc:
            if strict:
                raise
            self._report(exc)

    def _report(self, exc: OSError) -> None:
        if self.on_error is not None:
            self.on_error(exc)


def _encode(key: str) -> bytes:
    """One ledger line: a newline or backslash in a file name is escaped, so a key stays one line."""
    if "\\" in key or "\n" in key:
        key = key.replace("\\", "\\\\").replace("\n", "\\n")
    return key.encode("utf-8", "surrogateescape")


def _decode(line: bytes) -> str:
    text = line.decode("utf-8", "surrogateescape")
    if "\\" not in text:
        return text
    return re.sub(r"\\([\\n])", lambda m: "\n" if m.group(1) == "n" else "\\", text)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _current(line: str) -> str | None:
    """The key a ledger line stands for now, or None when its file is gone or was replaced.

    A line of an older tmms (``path<TAB>mailbox``, no identity) is taken to mean the file there now.
    """
    fields = line.rsplit("\t", 2)
    if len(fields) == 3 and _IDENTITY.fullmatch(fields[2]):
        path, mailbox, recorded = fields
    else:
        fields = line.rsplit("\t", 1)
        if len(fields) != 2:
            return None
        (path, mailbox), recorded = fields, None
    now = identity_of(path) if path else None
    if now is None or recorded not in (None, now):
        return None
    return NotifyLedger.key(path, mailbox, now)

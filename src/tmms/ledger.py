"""Which inbox messages have had their notify command run, kept across restarts."""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from typing import TextIO

from . import store

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
    except OSError:
        return None
    return identity(st.st_ino, st.st_mtime_ns)


class NotifyLedger:
    """An append-only file of ``path<TAB>mailbox<TAB>identity`` keys; compacted when it is opened and
    when it has grown well past the keys still alive."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._keys: set[str] = set()
        self._lines = 0
        self._handle: TextIO | None = None

    @staticmethod
    def key(file_path: str, mailbox: str, file_identity: str) -> str:
        """The key of one (message file, mailbox) notification."""
        return f"{file_path}\t{mailbox}\t{file_identity}"

    @staticmethod
    def path_of(key: str) -> str:
        """The file path a key is about."""
        return key.rsplit("\t", 2)[0]

    def open(self) -> None:
        """Load the keys whose files are still there, rewrite the file compactly, keep it open."""
        store.ensure_dir(os.path.dirname(self.path))
        keys: set[str] = set()
        try:
            with open(self.path, encoding="utf-8", errors="surrogateescape") as handle:
                for line in handle:
                    key = _current(line.rstrip("\n"))
                    if key is not None:
                        keys.add(key)
        except FileNotFoundError:
            pass
        self._keys = keys
        self._rewrite()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: str) -> None:
        """Record a notification (flushed to the OS at once, so a crash keeps it)."""
        if key in self._keys:
            return
        self._keys.add(key)
        if self._handle is not None:
            self._handle.write(key + "\n")
            self._handle.flush()
            self._lines += 1

    def forget_missing(self, folders: Collection[str], present: Collection[str]) -> None:
        """Forget the keys of files that are gone, after a scan of every inbox.

        ``present`` holds the keys of the files just listed in ``folders``; a key of a file in
        another folder (an inbox no pane uses any more) is kept while that file is still there.
        """
        def still_there(key: str) -> bool:
            if key in present:
                return True
            return os.path.dirname(self.path_of(key)) not in folders and _current(key) == key

        kept = {key for key in self._keys if still_there(key)}
        self._keys = kept
        if self._handle is not None and self._lines > 2 * len(kept) + COMPACT_SLACK:
            self._rewrite()

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _rewrite(self) -> None:
        self.close()
        temp = self.path + ".compact"
        with open(temp, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.writelines(k + "\n" for k in sorted(self._keys))
        os.replace(temp, self.path)
        self._lines = len(self._keys)
        self._handle = open(self.path, "a", encoding="utf-8", errors="surrogateescape")


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

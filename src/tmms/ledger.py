"""Which inbox files have had their notify command run, kept across restarts."""

from __future__ import annotations

import os
from typing import TextIO

from . import store


class NotifyLedger:
    """An append-only file of ``path<TAB>mailbox`` keys; compacted when opened."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._keys: set[str] = set()
        self._handle: TextIO | None = None

    @staticmethod
    def key(file_path: str, mailbox: str) -> str:
        """The key of one (file, mailbox) notification."""
        return f"{file_path}\t{mailbox}"

    def open(self) -> None:
        """Load the keys whose files still exist, rewrite the file compactly, keep it open."""
        store.ensure_dir(os.path.dirname(self.path))
        keys: set[str] = set()
        try:
            with open(self.path, encoding="utf-8", errors="surrogateescape") as handle:
                for line in handle:
                    line = line.rstrip("\n")
                    if line and os.path.exists(line.split("\t", 1)[0]):
                        keys.add(line)
        except FileNotFoundError:
            pass
        temp = self.path + ".compact"
        with open(temp, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.writelines(k + "\n" for k in sorted(keys))
        os.replace(temp, self.path)
        self._keys = keys
        self._handle = open(self.path, "a", encoding="utf-8", errors="surrogateescape")

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        """Record a notification (flushed to the OS at once, so a crash keeps it)."""
        if key in self._keys:
            return
        self._keys.add(key)
        if self._handle is not None:
            self._handle.write(key + "\n")
            self._handle.flush()

    def forget_missing(self, present: set[str]) -> None:
        """Drop in-memory keys for files that are gone (they stay in the file until compaction)."""
        self._keys = {k for k in self._keys if k.split("\t", 1)[0] in present}

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

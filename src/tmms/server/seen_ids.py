"""The ids of recently delivered messages, so that a file reusing one of them can be re-id'd.

Memory and disk stay bounded: the newest CAP ids are kept, each as a 64-bit digest (never the
id's own text, which a hand-written file may make as long as it likes). The file is one digest
per line, appended as messages are delivered and rewritten with the newest CAP once it holds
twice as many.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
from collections import deque

from .. import store
from ..errors import StorageError

log = logging.getLogger("tmms.router")
CAP = 20_000  # ids remembered (about 1.5 MB of memory, 340 KB on disk at most)
_LINE = 17  # 16 hex digits and a newline


def digest(message_id: str) -> int:
    """A 64-bit digest of an id, the same in every process."""
    raw = message_id.encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


class SeenIds:
    """The newest ``cap`` delivered ids, in memory and (when ``path`` is given) on disk."""

    def __init__(self, path: str | None = None, cap: int = CAP) -> None:
        self.path = path
        self.cap = cap
        self._set: set[int] = set()
        self._order: deque[int] = deque()
        self._fd = -1
        self._lines = 0
        self._loaded = path is None
        self._failed = False
        self._last: tuple[str, int] = ("", 0)

    def __contains__(self, message_id: object) -> bool:
        if not isinstance(message_id, str) or not message_id:
            return False
        self._load()
        return self._digest(message_id) in self._set

    def __len__(self) -> int:
        self._load()
        return len(self._set)

    def add(self, message_id: str) -> None:
        """Remember one delivered id (the oldest is forgotten past the cap)."""
        if not message_id:
            return
        self._load()
        key = self._digest(message_id)
        if key in self._set:
            return
        self._append(key)  # first: a compaction writes the ids before this one
        self._remember(key)

    def _digest(self, message_id: str) -> int:
        """``digest``, remembered for the last id (a lookup is followed by an add of the same id)."""
        if message_id != self._last[0]:
            self._last = (message_id, digest(message_id))
        return self._last[1]

    def close(self) -> None:
        """Close the file (it is reopened when needed)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _remember(self, key: int) -> None:
        self._set.add(key)
        self._order.append(key)
        while len(self._order) > self.cap:
            self._set.discard(self._order.popleft())

    def _load(self) -> None:
        if self._loaded or self.path is None:
            return
        self._loaded = True
        try:
            data, _ = store.read_regular(self.path, 2 * self.cap * _LINE + _LINE)
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read the delivered ids (%s); starting afresh", exc.strerror or exc)
            return
        lines = data.split(b"\n")
        self._lines = len(lines)
        for line in lines[-self.cap - 1 :]:
            try:
                key = int(line, 16)
            except ValueError:
                continue
            if key not in self._set:
                self._remember(key)

    def _append(self, key: int) -> None:
        if self.path is None or self._failed:
            return
        try:
            if self._lines >= 2 * self.cap:
                self._compact()
            if self._fd < 0:
                store.ensure_dir(os.path.dirname(self.path))
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
                self._fd = os.open(self.path, flags, store.FILE_MODE)
            store.write_all(self._fd, b"%016x\n" % key)
            self._lines += 1
        except (OSError, StorageError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            if not (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
                self._failed = True  # remembered in memory only from now on; said once
            log.warning("cannot record a delivered id in %s: %s", self.path, reason)

    def _compact(self) -> None:
        assert self.path is not None
        data = b"".join(b"%016x\n" % key for key in self._order)
        directory, name = os.path.split(self.path)
        temp = store.write_new(directory, f".{name}.compact-{os.getpid()}", data, durable=False)
        os.replace(temp, self.path)
        self.close()
        self._lines = len(self._order)

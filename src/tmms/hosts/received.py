"""The ledger of ids received from one host: a repeat is dropped (and acked again), never delivered twice.

One 64-bit digest per line (16 hex digits), appended and fsynced before the message is renamed
into its inbox; the newest CAP are kept (a resend only ever concerns the few messages in flight).
Two processes may take mail from one host at once (a relay, and an old one not yet gone): each
batch runs under an flock of the file, after reading what the other appended.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections import deque
from types import TracebackType

from .. import store

CAP = 200_000
_LINE = 17


def key(message_id: str, mailbox: str) -> int:
    """The digest of one delivery: a message id to one mailbox."""
    raw = f"{message_id}\0{mailbox}".encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


class Received:
    """The deliveries made for one host, in memory and in ``path``; use it as a context manager
    around each batch (``with ledger: ...``)."""

    def __init__(self, path: str, cap: int = CAP) -> None:
        self.path = path
        self.cap = cap
        self._set: set[int] = set()
        self._order: deque[int] = deque()
        self._fd = -1
        self._inode = 0
        self._offset = 0
        self._pending = bytearray()

    def __contains__(self, digest: object) -> bool:
        return digest in self._set

    def __len__(self) -> int:
        return len(self._set)

    def __enter__(self) -> Received:
        while True:
            self._open()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            if self._current():
                break
            fcntl.flock(self._fd, fcntl.LOCK_UN)  # compacted meanwhile: lock the new file
        try:
            self._catch_up()
        except BaseException:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._pending.clear()
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _current(self) -> bool:
        try:
            return os.stat(self.path).st_ino == self._inode
        except FileNotFoundError:
            return False

    def _open(self) -> None:
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = -1
        if self._fd >= 0 and inode == self._inode:
            return
        self.close()
        store.ensure_dir(os.path.dirname(self.path))
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        self._fd = os.open(self.path, flags, store.FILE_MODE)
        self._inode = os.fstat(self._fd).st_ino
        self._set.clear()
        self._order.clear()
        self._offset = 0

    def _catch_up(self) -> None:
        """Read the lines appended since the last look (by this process or another)."""
        size = os.fstat(self._fd).st_size
        if size <= self._offset:
            return
        start = max(self._offset, size - 2 * self.cap * _LINE)
        start -= start % _LINE
        data = os.pread(self._fd, size - start, start)
        whole = len(data) - len(data) % _LINE
        for at in range(0, whole, _LINE):
            try:
                self._remember(int(data[at:at + 16], 16))
            except ValueError:
                continue
        self._offset = start + whole

    def _remember(self, digest: int) -> None:
        if digest in self._set:
            return
        self._set.add(digest)
        self._order.append(digest)
        while len(self._order) > self.cap:
            self._set.discard(self._order.popleft())

    def add(self, digest: int) -> None:
        """Remember one delivery (written by the next ``sync``)."""
        if digest not in self._set:
            self._remember(digest)
            self._pending += b"%016x\n" % digest

    def sync(self) -> None:
        """Write and fsync what ``add`` remembered; OSError when the disk refuses."""
        if not self._pending:
            return
        store.write_all(self._fd, bytes(self._pending))
        os.fsync(self._fd)
        self._offset += len(self._pending)
        self._pending.clear()
        if self._offset >= 2 * self.cap * _LINE:
            self._compact()

    def _compact(self) -> None:
        """Keep the newest ``cap`` lines (under the lock, so no other writer is between)."""
        data = b"".join(b"%016x\n" % digest for digest in self._order)
        directory, name = os.path.split(self.path)
        temp = store.write_new(directory, f".{name}.compact-{os.getpid()}", data)
        os.replace(temp, self.path)  # others see the new inode at their next batch and read it whole

    def close(self) -> None:
        """Close the file (reopened when needed)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

"""When the router looks at a file again: soon for one that was not ready, later and later for one
that failed; and when a failure has come back often enough to send the file to dead letter."""

from __future__ import annotations

import errno
import math
import time

from .. import store

RECHECK_INTERVAL = 0.5  # seconds before a file that was not ready (open, unparseable) is looked at again
FAIL_LIMIT = 5  # tries of a file that keeps failing (not for want of space) before it goes to dead letter
RETRY_MAX = 30.0  # most seconds between two tries of a file that failed
TRANSIENT = frozenset({errno.ENOSPC, errno.EDQUOT, errno.ENOMEM, errno.ENFILE, errno.EMFILE, errno.EAGAIN,
                       errno.EINTR, errno.EBUSY})  # failures that another try may cure: never dead-lettered
FINAL = -1  # the error of a failure that dead letter cannot help (dead-lettering itself failed)


def _signature(entry: store.Entry) -> tuple[int, int, int]:
    return (entry.size, entry.mtime_ns, entry.inode)


class Schedule:
    """Due times of files to look at again, and the failures of each file (while it stays the same)."""

    def __init__(self, longest: float = RETRY_MAX) -> None:
        self.longest = min(longest, RETRY_MAX)  # the longest pause after a failure
        self.due: dict[str, float] = {}
        self.failures: dict[str, tuple[tuple[int, int, int], int]] = {}

    def next(self) -> float:
        """The earliest due time (monotonic); inf when none."""
        return min(self.due.values(), default=math.inf)

    def waiting(self, entry: store.Entry) -> bool:
        """Whether this file failed and its pause is not over (an event of its own is no reason to try)."""
        seen = self.failures.get(entry.path)
        pause_over = self.due.get(entry.path, -math.inf) <= time.monotonic()
        return seen is not None and seen[0] == _signature(entry) and not pause_over

    def failed(self, entry: store.Entry, error: int) -> int:
        """Count a failure; how many tries have failed, or 0 when it should go to dead letter now."""
        seen = self.failures.get(entry.path)
        tries = seen[1] + 1 if seen is not None and seen[0] == _signature(entry) else 1
        self.failures[entry.path] = (_signature(entry), tries)
        return 0 if error not in TRANSIENT and error != FINAL and tries >= FAIL_LIMIT else tries

    def soon(self, path: str) -> None:
        """Look again after RECHECK_INTERVAL (it was not ready)."""
        self.failures.pop(path, None)
        self.due[path] = time.monotonic() + RECHECK_INTERVAL

    def later(self, path: str) -> None:
        """Look again after a pause that doubles with each failure, up to ``longest``."""
        tries = self.failures.get(path, ((0, 0, 0), 1))[1]
        self.due[path] = time.monotonic() + min(RECHECK_INTERVAL * 2 ** min(tries - 1, 16), self.longest)

    def drop(self, path: str) -> None:
        """Nothing more to look at for this file."""
        self.due.pop(path, None)
        self.failures.pop(path, None)

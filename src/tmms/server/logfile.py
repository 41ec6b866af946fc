"""The server log: a file the server owns, rotated by size like the journal (``.1``, ``.2``, ... kept).

``tmms server start`` (and ``register``) start the server with ``--log-file PATH``: its log lines go
to ``PATH``, and so do its stdout and stderr (a traceback too), which follow the file when it rotates.
"""

from __future__ import annotations

import logging
import os
import threading

from ..errors import StorageError

MAX_BYTES = 2 * 1024 * 1024
KEEP = 3


def rotate(path: str, keep: int) -> None:
    """Shift ``path.1`` -> ``path.2`` ... (the oldest beyond ``keep`` is overwritten) and ``path`` to ``path.1``."""
    for index in range(keep - 1, 0, -1):
        older = f"{path}.{index}"
        if os.path.exists(older):
            os.replace(older, f"{path}.{index + 1}")
    if keep > 0:
        os.replace(path, f"{path}.1")
    else:
        os.unlink(path)


class LogFile(logging.Handler):
    """A log handler writing to a private file (0600, never through a symlink), rotated past ``max_bytes``.

    ``redirect``: stdout and stderr (descriptors 1 and 2) point at the current file too.
    """

    def __init__(self, path: str, max_bytes: int = MAX_BYTES, keep: int = KEEP, redirect: bool = False) -> None:
        super().__init__()
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.redirect = redirect
        self._guard = threading.Lock()
        self._fd = self._open()

    def _open(self) -> int:
        from .service import open_log

        fd = open_log(self.path)
        if self.redirect:
            for target in (1, 2):
                os.dup2(fd, target)
        return fd

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = (self.format(record) + "\n").encode("utf-8", "replace")
            with self._guard:
                os.write(self._fd, line)
                if os.fstat(self._fd).st_size > self.max_bytes:
                    self._rotate()
        except (OSError, StorageError):
            self.handleError(record)

    def _rotate(self) -> None:
        try:
            rotate(self.path, self.keep)
        except OSError:
            return  # the file stays and grows: the log matters less than serving
        old, self._fd = self._fd, self._open()
        os.close(old)

    def close(self) -> None:
        with self._guard:
            if self._fd >= 0:
                os.close(self._fd)
            self._fd = -1
        super().close()

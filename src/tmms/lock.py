"""One tmms server per tmux server: an flock on a file named after the tmux socket."""

from __future__ import annotations

import fcntl
import hashlib
import os

from .errors import AlreadyRunning, StorageError


def lock_path(runtime_dir: str, socket_path: str) -> str:
    """The lock file for the tmms server of one tmux socket."""
    digest = hashlib.sha1(os.path.abspath(socket_path).encode()).hexdigest()[:12]
    base = os.path.basename(socket_path) or "tmux"
    return os.path.join(runtime_dir, f"server-{base}-{digest}.lock")


class ServerLock:
    """Held for the server's life; the kernel drops it if the process dies."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and write our pid, or raise AlreadyRunning naming the holder."""
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StorageError(self.path, exc.strerror or str(exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = holder_pid(fd)
            os.close(fd)
            raise AlreadyRunning(holder, self.path) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Drop the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def holder_pid(fd: int) -> int | None:
    """The pid written in a lock file, if any."""
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def running_pid(path: str) -> int | None:
    """The pid of the live server holding ``path``, or None when no server holds it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = holder_pid(fd)
        os.close(fd)
        return pid
    os.close(fd)
    return None

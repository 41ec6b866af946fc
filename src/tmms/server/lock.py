"""One tmms server per tmux server: an flock on a file named after the tmux socket's device and inode.

The key is the tmux server itself, so a server started with another environment, another spelling
of the socket path or through a symlink to the socket finds the same lock. The lock lives in
``/tmp/tmms-$UID`` (``paths.runtime_dir``, never moved by a variable), which is refused unless it is
ours, mode 0700 and not a symlink, as tmux does for its own folder. Files in it are opened without
following symlinks and hold only what their flock holder wrote: a pid in a file nobody locks is stale.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import stat
import time
from datetime import UTC, datetime
from typing import NamedTuple

from ..errors import AlreadyRunning, StorageError, TmmsError, TmuxServerNotRunning
from ..paths import runtime_dir
from . import runinfo

FILE_MODE = 0o600
DIR_MODE = 0o700
BUSY_WAIT = 0.5  # a reader's probe holds the lock for microseconds: retry this long before giving up
STALE_WAIT = 3.0  # a server whose tmux server is gone stops within a second: wait this long for it
_OPEN = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
log = logging.getLogger("tmms.lock")


class UnsafeRuntimeDir(StorageError):
    """The runtime folder, or a file in it, is not private to this user: refused (exit 7)."""

    def __init__(self, path: str, reason: str) -> None:
        TmmsError.__init__(self, f"refusing the runtime folder {path}: {reason}; remove it and tmms makes "
                                 "it again (owned by you, mode 0700)")
        self.path = path
        self.reason = reason


class ServerKey(NamedTuple):
    """A tmux server's identity: the device and inode of its socket."""

    dev: int
    ino: int

    @property
    def name(self) -> str:
        """The file name stem of its lock and run info."""
        return f"server-{self.dev}-{self.ino}"


def socket_key(socket_path: str) -> ServerKey:
    """The key of the tmux server on ``socket_path`` (symlinks followed); TmuxServerNotRunning if none."""
    try:
        st = os.stat(socket_path)
    except (OSError, ValueError):
        raise TmuxServerNotRunning(socket_path) from None
    if not stat.S_ISSOCK(st.st_mode):
        raise TmuxServerNotRunning(socket_path)
    return ServerKey(st.st_dev, st.st_ino)


def serves(info: runinfo.RunInfo, key: ServerKey) -> bool:
    """Whether the socket a server published is still the tmux server ``key`` names."""
    try:
        return socket_key(info.socket) == key
    except TmuxServerNotRunning:
        return False


def ledger_key(socket_path: str) -> str:
    """A name for per-tmux-server state that outlives a tmux restart: the socket's real path, hashed."""
    real = os.path.realpath(socket_path)
    digest = hashlib.sha1(real.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{os.path.basename(real) or 'tmux'}-{digest}"


def check_runtime_dir(path: str | None = None, *, create: bool = True) -> str | None:
    """The runtime folder, made (0700) when missing; UnsafeRuntimeDir unless ours, 0700, no symlink.

    With ``create=False`` a missing folder gives None (no server can be running).
    """
    path = path or runtime_dir()
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return None
        _make_private_dir(path)
        st = os.lstat(path)
    except OSError as exc:
        raise StorageError.from_os(path, exc) from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeRuntimeDir(path, "it is a symlink")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeRuntimeDir(path, "it is not a folder")
    if st.st_uid != os.getuid():
        raise UnsafeRuntimeDir(path, f"it belongs to uid {st.st_uid}, not to you (uid {os.getuid()})")
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        raise UnsafeRuntimeDir(path, f"its mode is {stat.S_IMODE(st.st_mode):04o}, not 0700")
    return path


def _make_private_dir(path: str) -> None:
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        return  # made by someone else just now: checked like any other
    except OSError as exc:
        raise StorageError.from_os(path, exc) from None
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(fd, DIR_MODE)  # mkdir's mode went through the umask
    finally:
        os.close(fd)


def open_private(path: str, flags: int) -> int:
    """Open a file of the runtime folder: never through a symlink, never a FIFO; ours, 0600."""
    folder = os.path.dirname(path)
    try:
        fd = os.open(path, flags | _OPEN, FILE_MODE)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafeRuntimeDir(folder, f"{os.path.basename(path)} in it is a symlink") from None
        raise StorageError.from_os(path, exc) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        os.close(fd)
        raise UnsafeRuntimeDir(folder, f"{os.path.basename(path)} in it is not a file of yours")
    if stat.S_IMODE(st.st_mode) != FILE_MODE and flags & (os.O_WRONLY | os.O_RDWR):
        os.fchmod(fd, FILE_MODE)
    return fd


class ServerLock:
    """Held for the server's life; the kernel drops it if the process dies. Publishes the run info."""

    def __init__(self, socket_path: str, folder: str | None = None) -> None:
        self.socket_path = socket_path
        self.folder = folder or runtime_dir()
        self.key: ServerKey | None = None
        self._fd: int | None = None
        self._info: dict[str, object] = {}

    @property
    def path(self) -> str | None:
        """The lock file, once the key is known."""
        return None if self.key is None else self._file(self.key, ".lock")

    @property
    def info_path(self) -> str | None:
        """The run info file, once the key is known."""
        return None if self.key is None else self._file(self.key, ".json")

    def _file(self, key: ServerKey, suffix: str) -> str:
        return os.path.join(self.folder, key.name + suffix)

    def acquire(self) -> None:
        """Take the lock and write our pid; AlreadyRunning names the holder, TmuxServerNotRunning if none."""
        key = socket_key(self.socket_path)
        check_runtime_dir(self.folder)
        self._fd = self._take(key)
        self.key = key
        sweep_stale(self.folder)

    def _take(self, key: ServerKey, patience: float = BUSY_WAIT) -> int:
        path = self._file(key, ".lock")
        deadline: float | None = None
        while True:
            fd = open_private(path, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = holder_pid(fd)
                os.close(fd)
                if deadline is None:
                    info = runinfo.read(self._file(key, ".json"))
                    stale = info is not None and info.pid == holder and not serves(info, key)
                    deadline = time.monotonic() + (STALE_WAIT if stale else patience)
                if time.monotonic() >= deadline:
                    raise AlreadyRunning(holder, path) from None
                time.sleep(0.01)
                continue
            if _names(path, fd):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                return fd
            os.close(fd)  # its holder removed it as we opened it: take the new one

    def publish(self, **fields: object) -> None:
        """Write the run info: pid, socket and ``fields`` (config, dead_letter_dir, journal, watch)."""
        self._info = {"pid": os.getpid(), "socket": self.socket_path,
                      "started": datetime.now(UTC).isoformat(timespec="seconds"), **fields}
        self._write_info()

    def update(self, **fields: object) -> None:
        """Change some published fields (the server calls this when its watch mode changes)."""
        self._info.update(fields)
        if self._info.get("pid"):
            self._write_info()

    def _write_info(self) -> None:
        if self.key is None or self._fd is None:
            return
        self._info.update(dev=self.key.dev, ino=self.key.ino)
        path = self._file(self.key, ".json")
        try:
            runinfo.write(path, self._info)
        except OSError as exc:  # /tmp full: serving matters more; the commands use their own config meanwhile
            runinfo.remove(path)
            log.warning("cannot publish %s (%s): dead, status and peers use their own config", path,
                        exc.strerror or exc)

    def follow(self) -> None:
        """If another tmux server now listens on our socket path, move the lock (and run info) to it.

        AlreadyRunning when a server already serves the new one: this one must then stop.
        """
        if self._fd is None or self.key is None:
            return
        try:
            key = socket_key(self.socket_path)
        except TmuxServerNotRunning:
            return  # gone: the next read of the panes says so and stops the server
        if key == self.key:
            return
        fd = self._take(key, patience=0.0)
        old_fd, old_key = self._fd, self.key
        self._fd, self.key = fd, key
        self._drop(old_fd, old_key)
        if self._info:
            self._write_info()

    def release(self) -> None:
        """Remove the run info and the lock file, then drop the lock."""
        if self._fd is not None and self.key is not None:
            self._drop(self._fd, self.key)
        self._fd = None

    def _drop(self, fd: int, key: ServerKey) -> None:
        runinfo.remove(self._file(key, ".json"))
        path = self._file(key, ".lock")
        if _names(path, fd):
            try:
                os.unlink(path)
            except OSError:
                pass
        os.close(fd)


def sweep_stale(folder: str) -> int:
    """Remove the locks (and run info) that servers killed with SIGKILL left: those no one holds.

    Each is removed under a shared flock: no server holds it then, one starting on it meanwhile
    retries on a new file, and a reader probing it (also shared) sees no server, which is true.
    """
    removed = 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith("server-") and n.endswith(".lock")]
    except OSError:
        return 0
    for name in names:
        path = os.path.join(folder, name)
        try:
            fd = open_private(path, os.O_RDONLY)
        except StorageError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # a live server's
            continue
        if _names(path, fd):
            runinfo.remove(path.removesuffix(".lock") + ".json")
            runinfo.remove(path)
            removed += 1
        os.close(fd)
    return removed


def _names(path: str, fd: int) -> bool:
    """Whether ``path`` is still the file open as ``fd``."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def holder_pid(fd: int) -> int | None:
    """The pid written in a lock file, if any."""
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def running_pid(path: str) -> int | None:
    """The pid of the live process holding the lock file ``path``, or None when no one holds it."""
    try:
        fd = open_private(path, os.O_RDONLY)
    except StorageError:
        return None
    try:
        for _ in range(50):
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = holder_pid(fd)
                if pid:
                    return pid
                time.sleep(0.002)  # taken a moment ago: its pid is being written
                continue
            return None
        return None
    finally:
        os.close(fd)

"""File events from Linux inotify (through ctypes), with a wake-up pipe for signals and stop."""

from __future__ import annotations

import ctypes
import errno
import os
import select
import struct
from dataclasses import dataclass

IN_MODIFY = 0x002
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
WATCH_MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR
_HEADER = struct.Struct("iIII")


WATCH_LIMIT = "the inotify watch limit is reached (raise it: sysctl fs.inotify.max_user_watches=524288)"
INSTANCE_LIMIT = ("the inotify instance limit (raise it: sysctl fs.inotify.max_user_instances=1024) or this "
                  "process's open file limit is reached")


@dataclass(frozen=True)
class Batch:
    """What woke the loop: files that appeared or were closed, folders to rescan, or a wake-up.

    ``written``: the paths among ``paths`` whose last event was a close after writing (a writer
    filled the file in place under that name); the others last arrived whole (created by a link,
    or renamed in).
    """

    paths: tuple[str, ...] = ()
    rescan: tuple[str, ...] = ()
    overflow: bool = False
    woken: bool = False
    written: frozenset[str] = frozenset()


class Watcher:
    """Watches folders for new or finished files; ``wait`` also returns on ``wake``.

    ``max_watches`` caps the folders watched at once: a watch beyond it fails as the kernel's own
    limit (fs.inotify.max_user_watches) makes it fail, so that limit can be met without lowering
    a machine-wide setting. ``degraded`` says why some folder is only scanned, if one is.
    """

    def __init__(self, max_watches: int | None = None) -> None:
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._libc = _libc()
        self._fd = -1
        self._init_error = "no inotify here (not Linux)" if self._libc is None else ""
        if self._libc is not None:
            fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
            self._fd = fd if fd >= 0 else -1
            if fd < 0:
                self._init_error = _init_reason(ctypes.get_errno())
        self.max_watches = max_watches
        self._dirs: dict[int, str] = {}
        self._wds: dict[str, int] = {}
        self._refused: dict[str, str] = {}  # folder -> why it could not be watched (a limit)

    @property
    def available(self) -> bool:
        """Whether kernel file events work here (else only polling does)."""
        return self._fd >= 0

    @property
    def degraded(self) -> str | None:
        """Why some folder gets no file events (only the periodic scan finds its files); None when all do."""
        if self._fd < 0:
            return self._init_error or "inotify is closed"
        if self._refused:
            reason = next(iter(self._refused.values()))
            return f"{len(self._refused)} folder(s) not watched: {reason}"
        return None

    def wake(self) -> None:
        """Make a pending ``wait`` return now (nothing once closed)."""
        fd = self._wake_w
        if fd < 0:
            return
        try:
            os.write(fd, b"\0")
        except (BlockingIOError, BrokenPipeError):
            pass

    def watch(self, directory: str, mask: int = WATCH_MASK) -> bool:
        """Start watching a folder; False when that is not possible (missing, no inotify, a limit).

        ``mask``: other events to report as paths too (the ui adds IN_MODIFY, IN_MOVED_FROM, IN_DELETE).
        """
        if self._fd < 0 or self._libc is None:
            return False
        if directory in self._wds:
            return True
        if self.max_watches is not None and len(self._wds) >= self.max_watches:
            wd, err = -1, errno.ENOSPC if os.path.isdir(directory) else errno.ENOENT  # the kernel looks first
        else:
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), mask | IN_ONLYDIR)
            err = ctypes.get_errno() if wd < 0 else 0
        if wd < 0:
            if err in (errno.ENOSPC, errno.ENOMEM):
                self._refused[directory] = WATCH_LIMIT if err == errno.ENOSPC else "out of kernel memory for watches"
            return False
        self._refused.pop(directory, None)
        self._dirs[wd] = directory
        self._wds[directory] = wd
        return True

    def unwatch(self, directory: str) -> None:
        """Stop watching a folder (or trying to)."""
        self._refused.pop(directory, None)
        wd = self._wds.pop(directory, None)
        if wd is not None and self._libc is not None:
            self._dirs.pop(wd, None)
            self._libc.inotify_rm_watch(self._fd, wd)

    def watched(self) -> set[str]:
        """The folders being watched."""
        return set(self._wds)

    def refused(self) -> set[str]:
        """The folders that could not be watched because of a limit."""
        return set(self._refused)

    def wait(self, timeout: float | None) -> Batch:
        """Block until events, a wake-up or the timeout; return what happened."""
        fds = [self._wake_r] + ([self._fd] if self._fd >= 0 else [])
        try:
            ready, _, _ = select.select(fds, [], [], None if timeout is None else max(0.0, timeout))
        except InterruptedError:
            ready = []
        woken = self._wake_r in ready
        if woken:
            drain(self._wake_r)
        if self._fd in ready:
            return self._read(woken)
        return Batch(woken=woken)

    def read_now(self) -> Batch:
        """The events queued so far, without waiting (an empty batch when there are none)."""
        return self._read(False) if self._fd >= 0 else Batch()

    def _read(self, woken: bool) -> Batch:
        paths: list[str] = []
        rescan: list[str] = []
        written: set[str] = set()
        overflow = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                raise
            offset = 0
            while offset + _HEADER.size <= len(data):
                wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
                name = data[offset + _HEADER.size : offset + _HEADER.size + length].rstrip(b"\0")
                offset += _HEADER.size + length
                if mask & IN_Q_OVERFLOW:
                    overflow = True
                    continue
                directory = self._dirs.get(wd)
                if directory is None:
                    continue
                if mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF):
                    self._dirs.pop(wd, None)
                    self._wds.pop(directory, None)
                    rescan.append(directory)
                elif name:
                    path = os.path.join(directory, os.fsdecode(name))
                    paths.append(path)
                    if mask & IN_CLOSE_WRITE:
                        written.add(path)
                    else:  # created (by a link, or by an open that will be closed later) or renamed in
                        written.discard(path)
        return Batch(tuple(dict.fromkeys(paths)), tuple(rescan), overflow, woken, frozenset(written))

    def close(self) -> None:
        """Release the inotify descriptor and the pipe.

        Every descriptor is forgotten before it is closed, so a late ``wake`` (a signal, another
        thread) never writes into a number the process has since reused for another file.
        """
        fds = (self._fd, self._wake_r, self._wake_w)
        self._fd = self._wake_r = self._wake_w = -1
        self._dirs.clear()
        self._wds.clear()
        self._refused.clear()
        for fd in fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass


def _init_reason(err: int) -> str:
    """Why inotify_init1 failed, in words."""
    if err == errno.EMFILE:
        return INSTANCE_LIMIT
    if err == errno.ENFILE:
        return "the system's open file limit is reached (inotify unavailable)"
    if err == errno.ENOSYS:
        return "no inotify in this kernel"
    return f"inotify unavailable: {os.strerror(err) if err else 'unknown error'}"


def drain(fd: int) -> None:
    """Read a non-blocking wake-up pipe empty (the watcher's, the notify runner's, a host link's)."""
    try:
        while os.read(fd, 4096):
            pass
    except OSError:  # BlockingIOError: empty now; anything else: nothing more to read
        pass


def _libc() -> ctypes.CDLL | None:
    """The C library's inotify calls (looked up in the running process: no helper program is run)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
        return libc
    except (OSError, AttributeError):
        return None

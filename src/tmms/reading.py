"""Reading mail files that may be hostile: never blocking, never following a symlink, regular
files only, and (where the kernel grants read leases) never while a writer has the file open."""

from __future__ import annotations

import errno
import os
import stat

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW


class NotRegularFile(OSError):
    """A mail file that is not a regular file (a FIFO, socket, device, folder or symlink)."""


def kind_of(mode: int) -> str:
    """A file type in words, for reasons and reports."""
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symlink"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return word
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def open_regular(path: str) -> tuple[int, os.stat_result]:
    """Open a mail file for reading: never blocks, never follows a symlink, only a regular file.

    The type is checked before the open (so a device or FIFO is never opened) and again on the
    descriptor (so a file swapped in between is caught; a regular file replaced by another one is
    opened again). Raises FileNotFoundError when the file is gone, NotRegularFile for any other
    type (or a file that keeps being replaced), and OSError as the open gives it.
    """
    for _ in range(3):
        fd, st, replaced = _open_once(path)
        if not replaced:
            return fd, st
    raise NotRegularFile(errno.EINVAL, "it was replaced each time it was opened", path)


def _open_once(path: str) -> tuple[int, os.stat_result, bool]:
    """(descriptor, its status, False) or (-1, status, True) when another regular file took its place."""
    before = os.lstat(path)
    if not stat.S_ISREG(before.st_mode):
        raise NotRegularFile(errno.EINVAL, f"not a regular file ({kind_of(before.st_mode)})", path)
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFile(errno.EINVAL, "not a regular file (a symlink)", path) from None
        raise
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == (before.st_dev, before.st_ino):
        return fd, st, False
    os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(errno.EINVAL, f"not a regular file ({kind_of(st.st_mode)})", path)
    return -1, st, True


def read_regular(path: str, limit: int = -1) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular mail file (at most ``limit`` when >= 0) and its status, as ``open_regular``."""
    fd, st = open_regular(path)
    try:
        return read_all(fd, limit), st
    finally:
        os.close(fd)


def take_read_lease(fd: int) -> bool | None:
    """Take a read lease: True, or False when a writer has the file open, None when leases fail here.

    The kernel grants a read lease only when no one has the file open for writing.
    """
    import fcntl
    import signal

    # A writer that opens the file breaks the lease, and the kernel signals the lease holder: SIGIO
    # by default, whose default action ends the process. So the signal is SIGURG (ignored unless a
    # handler is set) and, once the lease is ours, it goes to no one at all.
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return False if exc.errno == errno.EAGAIN else None
    try:
        fcntl.fcntl(fd, fcntl.F_SETOWN, 0)
    except OSError:
        pass
    return True


def drop_lease(fd: int) -> None:
    """Give a read lease back."""
    import fcntl

    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)


def lease_intact(fd: int) -> bool:
    """Whether our read lease still stands: False once a writer has started to open the file."""
    import fcntl

    try:
        return fcntl.fcntl(fd, fcntl.F_GETLEASE) == fcntl.F_RDLCK
    except OSError:
        return False


def has_open_writer(path: str) -> bool | None:
    """Whether some process holds ``path`` open for writing; None when the kernel can't tell.

    The lease is released at once, so no writer is ever held up by it.
    """
    try:
        fd, _ = open_regular(path)
    except OSError:
        return None
    try:
        leased = take_read_lease(fd)
        if leased:
            drop_lease(fd)
        return None if leased is None else not leased
    finally:
        os.close(fd)


def read_when_closed(path: str, limit: int = -1) -> bytes | None:
    """The file's bytes (at most ``limit`` + 1), or None while some process has it open for writing.

    One open serves both: a read lease is taken, the bytes are read, the lease is dropped. Where
    leases are not available the file is just read. FileNotFoundError when the file is gone,
    NotRegularFile for anything but a regular file; other OSErrors pass through.
    """
    fd, _ = open_regular(path)
    try:
        leased = take_read_lease(fd)
        if leased is False:
            return None
        try:
            return read_all(fd, limit + 1 if limit >= 0 else -1)
        finally:
            if leased:
                drop_lease(fd)
    finally:
        os.close(fd)


def read_all(fd: int, most: int) -> bytes:
    """Read to the end of the file, or ``most`` bytes when ``most`` >= 0."""
    chunks: list[bytes] = []
    size = 0
    while most < 0 or size < most:
        chunk = os.read(fd, 1 << 20 if most < 0 else min(1 << 20, most - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)

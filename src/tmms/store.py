"""The Maildir discipline: atomic writes, moves that never replace a file, listing.

A file under its final ``.md`` name is always complete: writers fill a dot-named temporary file
in the same folder, fsync it, then give it its name with a rename that refuses to replace.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable, Collection, Iterator
from typing import NamedTuple

from .errors import StorageError
from .names import SUFFIX as SUFFIX
from .names import TRIES, byte_length, fit, fresh_name, generated
from .reading import NotRegularFile as NotRegularFile
from .reading import drop_lease as drop_lease
from .reading import has_open_writer as has_open_writer
from .reading import kind_of as kind_of
from .reading import lease_intact as lease_intact
from .reading import open_regular as open_regular
from .reading import read_all as read_all
from .reading import read_regular as read_regular
from .reading import read_when_closed as read_when_closed
from .reading import take_read_lease as take_read_lease

READ_DIR = "read"  # inside an inbox: mail that has been read
ARCHIVE_DIR = "archive"  # inside an inbox: mail put away (tmms archive); routers never look below an inbox
SENT_DIR = "sent"  # inside an outbox: copies of what was posted (routers look only at outbox/*.md)
TEMP_MARK = ".tmp-"
FILE_MODE = 0o600  # every file tmms writes, whatever the umask
DIR_MODE = 0o700  # every folder tmms makes, whatever the umask
_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


_renameat2: Callable[[str, str], int] | None = None
_renameat2_loaded = False


def _load_renameat2() -> Callable[[str, str], int] | None:
    """renameat2(RENAME_NOREPLACE) through ctypes, imported on first use (post never needs it)."""
    import ctypes

    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int

    def call(src: str, dst: str) -> int:
        if func(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return 0
        return ctypes.get_errno()

    return call


def rename_noreplace(src: str, dst: str) -> None:
    """Atomically rename ``src`` to ``dst``; FileExistsError if ``dst`` exists.

    Uses renameat2(RENAME_NOREPLACE); where the filesystem lacks it, link then unlink, which is
    just as safe against replacing and leaves at worst a second name for the same inode.
    """
    global _renameat2, _renameat2_loaded
    if not _renameat2_loaded:
        _renameat2, _renameat2_loaded = _load_renameat2(), True
    if _renameat2 is not None:
        err = _renameat2(src, dst)
        if err == 0:
            return
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), dst)
    link_noreplace(src, dst)


def link_noreplace(src: str, dst: str) -> None:
    """Give ``src`` the name ``dst`` (never replacing), then drop the old name."""
    os.link(src, dst)
    os.unlink(src)


def write_new(
    directory: str, name: str, data: bytes, *, durable: bool = True, companions: tuple[str, ...] = ()
) -> str:
    """Create ``directory/name`` holding ``data``; never exposes a partial file; never replaces.

    ``companions`` as for ``move_no_clobber``. StorageError when it cannot be written.
    """
    try:
        return create_new(directory, name, data, durable=durable, companions=companions)
    except OSError as exc:
        raise StorageError.from_os(os.path.join(directory, name), exc) from None


def create_new(
    directory: str, name: str, data: bytes, *, durable: bool = True, companions: tuple[str, ...] = ()
) -> str:
    """``write_new``, raising the OSError itself (its errno says whether a retry may help)."""
    temp = temp_path(directory, name)
    _fill_new(temp, data, durable)
    try:
        return _place(temp, directory, name, companions)
    except BaseException:
        _unlink_quietly(temp)
        raise


def _fill_new(temp: str, data: bytes, durable: bool) -> None:
    """Create the private file ``temp`` holding all of ``data`` (fsynced when ``durable``); none on failure."""
    fd = create_private(temp)
    try:
        try:
            write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _unlink_quietly(temp)
        raise


def temp_path(directory: str, name: str) -> str:
    """A fresh dot-named temporary path for ``name`` in ``directory`` (routers and readers skip it)."""
    tag = f"{TEMP_MARK}{os.getpid()}-{os.urandom(4).hex()}"
    return os.path.join(directory, f".{fit(name, 1 + byte_length(tag))}{tag}")


def create_private(path: str) -> int:
    """Create a new file for writing, mode FILE_MODE whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except OSError:
        os.close(fd)
        _unlink_quietly(path)
        raise
    return fd


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data``: a short write (a nearly full disk) is continued or raises."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _place(temp: str, directory: str, name: str, companions: tuple[str, ...]) -> str:
    return take_name(directory, name, companions, lambda final: link_noreplace(temp, final))


def take_name(directory: str, name: str, companions: tuple[str, ...], put: Callable[[str], None]) -> str:
    """Call ``put(path)`` with ``directory/name`` or a fresh variant until one is free; the path.

    Every name tried fits NAME_MAX bytes with room for the longest companion suffix; a folder
    that refuses even that (ENAMETOOLONG: a filesystem with shorter names) gets generated names.
    FileExistsError when no name is free (after the numbered and the random variants).
    """
    reserve = max((byte_length(suffix) for suffix in companions), default=0)
    short = False
    for attempt in range(TRIES):
        final = os.path.join(directory, generated(name) if short else fresh_name(name, attempt, reserve))
        if _companion_taken(final, companions):
            continue
        try:
            put(final)
            return final
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG or short:
                raise
            short = True
    raise FileExistsError(errno.EEXIST, "no free name", os.path.join(directory, name))


def move_no_clobber(
    src: str, directory: str, name: str | None = None, *, companions: tuple[str, ...] = ()
) -> str:
    """Move ``src`` into ``directory`` under ``name`` (or a fresh variant); return the new path.

    A name is taken only when ``name + suffix`` is free too for every suffix in ``companions``
    (a dead letter's ``.reason.json``), so a file never lands next to an older file's companion.
    Across filesystems it copies through a temporary file, then removes the source.
    """
    name = name or os.path.basename(src)
    try:
        return take_name(directory, name, companions, lambda final: rename_noreplace(src, final))
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    return _copy_across(src, directory, name, companions)


def _companion_taken(path: str, companions: tuple[str, ...]) -> bool:
    return any(os.path.lexists(path + suffix) for suffix in companions)


def _copy_across(src: str, directory: str, name: str, companions: tuple[str, ...]) -> str:
    data, _ = read_regular(src)
    existing = os.path.join(directory, name)
    if _same_bytes(existing, data):  # an earlier copy landed before a crash
        os.unlink(src)
        return existing
    final = write_new(directory, name, data, companions=companions)
    os.unlink(src)
    return final


def _same_bytes(path: str, data: bytes) -> bool:
    try:
        return read_regular(path, len(data))[0] == data
    except OSError:
        return False


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class Entry(NamedTuple):
    """One message file in a folder."""

    path: str
    name: str
    size: int
    mtime_ns: int
    inode: int
    mode: int


def messages(directory: str) -> Iterator[Entry]:
    """The ``*.md`` files of a folder that are not dot-files, oldest name first."""
    try:
        scanner = os.scandir(directory)
    except FileNotFoundError:
        return
    with scanner:
        found = []
        for item in scanner:
            if item.name.startswith(".") or not item.name.endswith(SUFFIX):
                continue
            try:
                st = item.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            found.append(Entry(item.path, item.name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode))
    found.sort(key=lambda e: e.name)
    yield from found


def message_names(directory: str, limit: int, skip: Collection[str] = ()) -> list[str]:
    """Up to ``limit`` names of ``*.md`` files (not dot-files, not in ``skip``), sorted.

    The folder is read only as far as needed, so a huge folder costs ``limit`` names of memory.
    """
    names: list[str] = []
    try:
        scanner = os.scandir(directory)
    except FileNotFoundError:
        return names
    with scanner:
        for item in scanner:
            name = item.name
            if name.startswith(".") or not name.endswith(SUFFIX) or name in skip:
                continue
            names.append(name)
            if len(names) >= limit:
                break
    return sorted(names)


def sweep_temp_files(directory: str, older_than: float = 36 * 3600) -> int:
    """Remove writers' abandoned temporary files (left by a crash) older than ``older_than`` s."""
    removed = 0
    cutoff = time.time() - older_than
    try:
        scanner = os.scandir(directory)
    except OSError:
        return 0
    with scanner:
        for item in scanner:
            if item.name.startswith(".") and TEMP_MARK in item.name:
                try:
                    if item.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(item.path)
                        removed += 1
                except OSError:
                    continue
    return removed


def ensure_dir(path: str) -> None:
    """Create a folder and its missing parents, each private (DIR_MODE) whatever the umask.

    Folders that exist already are left as they are (see ``tighten`` for folders tmms owns).
    """
    try:
        _make_private_dirs(os.path.abspath(path))
    except OSError as exc:
        raise StorageError.from_os(path, exc) from None


def _make_private_dirs(path: str) -> None:
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent != path:
        _make_private_dirs(parent)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
        return
    os.chmod(path, DIR_MODE)


def tighten(path: str) -> bool:
    """Make an existing folder of ours private (DIR_MODE) if it is not; True when it was changed.

    Only a real folder owned by this user is changed; anything else is left alone.
    """
    try:
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) == DIR_MODE:
            return False
        os.chmod(path, DIR_MODE, follow_symlinks=False)
    except (OSError, NotImplementedError):
        return False
    return True


def replace_whole(path: str, data: bytes, temp: str, *, durable: bool = True) -> None:
    """Put ``data`` at ``path`` in one rename from the private temporary file ``temp`` (created new):
    a reader sees the old file or the whole new one, never part of it."""
    _fill_new(temp, data, durable)
    try:
        os.replace(temp, path)
    except BaseException:
        _unlink_quietly(temp)
        raise

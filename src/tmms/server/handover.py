"""Hand an outbox file over to an inbox or to dead letter: exactly the file that was read and checked.

``hold`` opens the file without blocking, takes a read lease (the kernel grants it only while no
one has the file open for writing, and makes a later opener for writing wait until it is given
back) and reads it. ``place`` then

1. renames the path to a hidden staging name in the outbox (a dot-name, which routers and
   readers skip) and checks that what it renamed is the inode, size, mtime and type that was
   read, and that no writer has started to open it since;
2. for a file whose bytes must change (a corrected sender, a new id), or that has other hard
   links, swaps in a private copy of the bytes that were read (written and fsynced first);
3. renames the staged file to its final name (never replacing), and checks the lease again.

A file that fails a check goes back under its outbox name to be routed again; it is never visible
in the inbox. A crash leaves at worst a staged file, which ``recover`` puts back. Two renames cost
a few microseconds; the copy and its fsync are paid only for the rare file that needs them.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from dataclasses import dataclass
from types import TracebackType

from .. import store
from ..errors import StorageError
from ..names import byte_length, fit, fresh_name, generated

log = logging.getLogger("tmms.router")
STAGE_PREFIX = ".tmms-routing-"
_STAGE_TAG = len(STAGE_PREFIX) + 17  # the prefix, 16 hex digits and a dash
_salt = int.from_bytes(os.urandom(8), "big")
_count = 0


def _stage_tag() -> str:
    """16 hex digits that no other staged file has: a random salt per process, plus a counter."""
    global _count
    _count += 1
    return f"{(_salt + _count) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


class Changed(Exception):
    """The file at the path is no longer the one that was read (or a writer opened it meanwhile)."""


@dataclass
class Held:
    """A regular file opened, leased where the kernel allows it, and read."""

    path: str
    fd: int
    stat: os.stat_result  # of the descriptor, after the read
    data: bytes
    leased: bool  # True: no writer had it open while we read, and none can open it unseen

    def close(self) -> None:
        """Give the lease back and close the descriptor."""
        if self.fd < 0:
            return
        try:
            if self.leased:
                store.drop_lease(self.fd)
        except OSError:
            pass
        finally:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Held:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def hold(path: str, most: int = -1) -> Held | None:
    """Open, lease and read a regular file (at most ``most`` bytes); None while a writer has it open.

    FileNotFoundError when it is gone, store.NotRegularFile for any other type, Changed when it
    changed while being read (where leases are not available), other OSErrors as they come.
    """
    try:
        fd, before = store.open_regular(path)
    except store.NotRegularFile:
        if stat.S_ISREG(os.lstat(path).st_mode):  # regular, but replaced again and again meanwhile
            raise Changed("it was replaced while being opened") from None
        raise
    try:
        leased = store.take_read_lease(fd)
        if leased is False:
            os.close(fd)
            return None
        held = Held(path, fd, before, b"", bool(leased))
    except BaseException:
        os.close(fd)
        raise
    try:
        held.data = store.read_all(fd, most)
        held.stat = os.fstat(fd)
        if not held.leased and _signature(held.stat) != _signature(before):
            raise Changed("it changed while it was read")
    except BaseException:
        held.close()
        raise
    return held


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def place(held: Held, directory: str, data: bytes | None = None, *, companions: tuple[str, ...] = (),
          rename_to: str | None = None) -> str:
    """Move the held file into ``directory`` (made when missing), as ``data`` when given, under its
    own name or ``rename_to``; the path.

    Raises Changed when what is at the path is not what was read (the file is back in the outbox
    to be routed again), FileNotFoundError when it is gone, OSError when a step fails (the file is
    back in the outbox, untouched).
    """
    outbox, name = os.path.split(held.path)
    whole = len(held.data) == held.stat.st_size  # False: read only in part (too large), never copied from
    stage = _claim(held, outbox, name)
    try:
        copied = data is not None or (held.stat.st_nlink != 1 and whole)
        if copied:
            _swap(stage, held.data if data is None else data)
        else:
            _make_private(held)
        payload = data if data is not None else held.data if whole else None
        final, across = _move(stage, directory, rename_to or name, companions, payload)
    except BaseException:
        put_back(stage, outbox, name)
        raise
    if not (copied or across) and held.leased and not store.lease_intact(held.fd):
        # A writer began opening the file in the outbox just before it was claimed; it waits for our
        # lease. The file goes back to the outbox, so whatever that writer writes is routed again.
        put_back(final, outbox, name)
        raise Changed("a writer opened it while it was being routed")
    return final


def _claim(held: Held, outbox: str, name: str) -> str:
    """Rename the path to a staging name; check it is what was read (else put it back, Changed)."""
    clean = name.replace(store.TEMP_MARK, ".tmp_")  # a staged file is never taken for a writer's leftover
    stage = os.path.join(outbox, f"{STAGE_PREFIX}{_stage_tag()}-{fit(clean, _STAGE_TAG)}")
    try:
        os.rename(held.path, stage)  # a name no one else makes: this process's salt and a counter
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:  # a filesystem with shorter names: a short one
            raise
        stage = os.path.join(outbox, f"{STAGE_PREFIX}{_stage_tag()}-{generated(name)}")
        os.rename(held.path, stage)
    problem = _mismatch(held, stage)
    if problem:
        put_back(stage, outbox, name)
        raise Changed(problem)
    return stage


def _mismatch(held: Held, stage: str) -> str:
    """Why the staged file is not the one read ('' when it is)."""
    st = os.lstat(stage)
    if not stat.S_ISREG(st.st_mode):
        return f"it was replaced by {store.kind_of(st.st_mode)} while being routed"
    if _signature(st) != _signature(held.stat):
        return "it was replaced or rewritten while being routed"
    if held.leased:
        return "" if store.lease_intact(held.fd) else "a writer opened it while it was being routed"
    if os.pread(held.fd, len(held.data), 0) != held.data:  # no lease here: compare the bytes
        return "it was rewritten while being routed"
    return ""


def _swap(stage: str, data: bytes) -> None:
    """Replace the staged file with a private, fsynced copy holding ``data``."""
    directory, name = os.path.split(stage)
    store.replace_whole(stage, data, store.temp_path(directory, name[_STAGE_TAG:]))


def _make_private(held: Held) -> None:
    """Make the file FILE_MODE (through the descriptor that was read) before anyone can see it."""
    if stat.S_IMODE(held.stat.st_mode) == store.FILE_MODE:
        return
    try:
        os.fchmod(held.fd, store.FILE_MODE)
    except OSError as exc:  # not ours to change (another user's file): delivered as it is
        log.debug("%s: cannot make it private: %s", held.path, exc.strerror)


def _move(stage: str, directory: str, name: str, companions: tuple[str, ...], data: bytes | None) -> tuple[str, bool]:
    """Rename the staged file into ``directory`` under a free name; (its path, whether it was copied
    across filesystems instead)."""
    try:
        return _rename_in(stage, directory, name, companions), False
    except FileNotFoundError:
        if os.path.isdir(directory) or not os.path.lexists(stage):
            raise
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        return _copy_in(stage, directory, name, companions, data), True
    _make_dirs(directory)
    return _move(stage, directory, name, companions, data)


def _rename_in(stage: str, directory: str, name: str, companions: tuple[str, ...]) -> str:
    return store.take_name(directory, name, companions, lambda final: store.rename_noreplace(stage, final))


def _make_dirs(directory: str) -> None:
    try:
        store.ensure_dir(directory)
    except StorageError as exc:
        raise OSError(errno.EACCES, f"cannot make {directory}: {exc.reason}") from None


def _copy_in(stage: str, directory: str, name: str, companions: tuple[str, ...], data: bytes | None) -> str:
    """Across filesystems: write ``data`` (None: the staged file's bytes) as a new file there, then
    drop the staged one."""
    if data is None:
        data = store.read_regular(stage)[0]
    reserve = max((byte_length(suffix) for suffix in companions), default=0)
    earlier = os.path.join(directory, fresh_name(name, 0, reserve))
    if _holds(earlier, data):  # a copy landed there before a crash
        os.unlink(stage)
        return earlier
    try:
        final = store.create_new(directory, name, data, companions=companions)
    except FileNotFoundError:
        _make_dirs(directory)
        final = store.create_new(directory, name, data, companions=companions)
    os.unlink(stage)
    return final


def _holds(path: str, data: bytes) -> bool:
    try:
        return store.read_regular(path, len(data) + 1)[0] == data
    except OSError:
        return False


def put_back(path: str, outbox: str, name: str) -> None:
    """Give a staged (or just moved) file its outbox name back, to be routed again."""
    try:
        store.take_name(outbox, name, (), lambda final: store.rename_noreplace(path, final))
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.error("cannot put %s back into %s: %s (it is routed again from there later)", path, outbox,
                  exc.strerror or exc)


def recover(outbox: str) -> int:
    """Put back the files a crash left under a staging name in ``outbox``; how many."""
    try:
        with os.scandir(outbox) as scanner:
            names = [item.name for item in scanner if item.name.startswith(STAGE_PREFIX)]
    except OSError:
        return 0
    for staged in names:
        original = staged[len(STAGE_PREFIX):].partition("-")[2] or "recovered.md"
        log.warning("%s: putting back a file left while it was being routed", os.path.join(outbox, original))
        put_back(os.path.join(outbox, staged), outbox, original)
    return len(names)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

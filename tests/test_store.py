"""The Maildir discipline: atomic writes, moves that never replace, listing and sweeping."""

from __future__ import annotations

import errno
import os
import stat as stat_module
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tmms import names, store
from tmms.errors import StorageError


def _names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# --- write_new ---------------------------------------------------------------------------------


def test_write_new_creates_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = store.write_new(str(tmp_path), "x.md", b"hello\n")
    assert path == str(tmp_path / "x.md")
    assert (tmp_path / "x.md").read_bytes() == b"hello\n"
    assert _names(tmp_path) == ["x.md"]


@pytest.mark.parametrize("durable", [True, False])
def test_write_new_never_replaces_an_existing_file(tmp_path: Path, durable: bool) -> None:
    (tmp_path / "x.md").write_bytes(b"first")
    second = store.write_new(str(tmp_path), "x.md", b"second", durable=durable)
    third = store.write_new(str(tmp_path), "x.md", b"third", durable=durable)
    assert (second, third) == (str(tmp_path / "x-2.md"), str(tmp_path / "x-3.md"))
    contents = {name: (tmp_path / name).read_bytes() for name in _names(tmp_path)}
    assert contents == {"x.md": b"first", "x-2.md": b"second", "x-3.md": b"third"}


def test_write_new_writes_large_data_completely(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    path = store.write_new(str(tmp_path), "big.md", data)
    assert Path(path).read_bytes() == data


def test_final_name_does_not_exist_while_the_data_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    real_fsync = os.fsync

    def watching_fsync(fd: int) -> None:
        seen.append(_names(tmp_path))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watching_fsync)
    store.write_new(str(tmp_path), "x.md", b"data")
    assert len(seen) >= 1
    during = seen[0]
    assert "x.md" not in during
    assert len(during) == 1 and during[0].startswith(".x.md") and store.TEMP_MARK in during[0]
    assert _names(tmp_path) == ["x.md"]


def test_failed_write_leaves_neither_final_nor_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    calls = 0

    def disk_fills_up(fd: int, data: bytes | memoryview) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_fills_up)
    with pytest.raises(StorageError, match="No space left on device") as info:
        store.write_new(str(tmp_path), "x.md", b"0123456789")
    monkeypatch.undo()
    assert info.value.path == str(tmp_path / "x.md")
    assert _names(tmp_path) == []


def test_failed_fsync_leaves_neither_final_nor_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(StorageError, match="Input/output error"):
        store.write_new(str(tmp_path), "x.md", b"data")
    monkeypatch.undo()
    assert _names(tmp_path) == []


def test_write_new_into_a_missing_directory_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        store.write_new(str(tmp_path / "missing"), "x.md", b"data")
    assert info.value.path == str(tmp_path / "missing" / "x.md")
    assert "No such file or directory" in info.value.reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_write_new_on_a_read_only_directory_is_a_storage_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StorageError, match="Permission denied"):
            store.write_new(str(folder), "x.md", b"data")
        assert _names(folder) == []
    finally:
        folder.chmod(0o755)


def test_write_new_refused_by_the_kernel_is_a_storage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a read-only folder does for a non-root user, also checked when tests run as root."""

    def denied(path: str, flags: int, mode: int = 0o777) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(StorageError, match="Permission denied") as info:
        store.write_new(str(tmp_path), "x.md", b"data")
    monkeypatch.undo()
    assert info.value.path == str(tmp_path / "x.md")
    assert _names(tmp_path) == []


# --- renames and moves -------------------------------------------------------------------------


@pytest.mark.parametrize("attempt,expected", [(0, "x.md"), (1, "x-2.md"), (2, "x-3.md")])
def test_fresh_name(attempt: int, expected: str) -> None:
    assert names.fresh_name("x.md", attempt) == expected


def test_fresh_name_without_extension() -> None:
    assert names.fresh_name("x", 1) == "x-2"


def test_rename_noreplace_renames(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"A")
    store.rename_noreplace(str(tmp_path / "a"), str(tmp_path / "b"))
    assert _names(tmp_path) == ["b"]
    assert (tmp_path / "b").read_bytes() == b"A"


def test_rename_noreplace_raises_file_exists(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"A")
    (tmp_path / "b").write_bytes(b"B")
    with pytest.raises(FileExistsError):
        store.rename_noreplace(str(tmp_path / "a"), str(tmp_path / "b"))
    assert ((tmp_path / "a").read_bytes(), (tmp_path / "b").read_bytes()) == (b"A", b"B")


def test_link_noreplace_raises_file_exists(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"A")
    (tmp_path / "b").write_bytes(b"B")
    with pytest.raises(FileExistsError):
        store.link_noreplace(str(tmp_path / "a"), str(tmp_path / "b"))
    assert ((tmp_path / "a").read_bytes(), (tmp_path / "b").read_bytes()) == (b"A", b"B")


def test_move_no_clobber_moves_under_the_same_name(tmp_path: Path) -> None:
    src_dir, dst_dir = tmp_path / "out", tmp_path / "in"
    src_dir.mkdir()
    dst_dir.mkdir()
    (src_dir / "m.md").write_bytes(b"message")
    moved = store.move_no_clobber(str(src_dir / "m.md"), str(dst_dir))
    assert moved == str(dst_dir / "m.md")
    assert (_names(src_dir), (dst_dir / "m.md").read_bytes()) == ([], b"message")


def test_move_no_clobber_never_replaces(tmp_path: Path) -> None:
    src_dir, dst_dir = tmp_path / "out", tmp_path / "in"
    src_dir.mkdir()
    dst_dir.mkdir()
    (dst_dir / "m.md").write_bytes(b"already delivered")
    (dst_dir / "m-2.md").write_bytes(b"also delivered")
    (src_dir / "m.md").write_bytes(b"new message")
    moved = store.move_no_clobber(str(src_dir / "m.md"), str(dst_dir))
    assert moved == str(dst_dir / "m-3.md")
    contents = {name: (dst_dir / name).read_bytes() for name in _names(dst_dir)}
    assert contents == {"m.md": b"already delivered", "m-2.md": b"also delivered", "m-3.md": b"new message"}
    assert _names(src_dir) == []


def test_move_no_clobber_skips_a_name_whose_companion_is_taken(tmp_path: Path) -> None:
    src_dir, dst_dir = tmp_path / "out", tmp_path / "dead"
    src_dir.mkdir()
    dst_dir.mkdir()
    (dst_dir / "m.md.reason.json").write_bytes(b"a stale reason")
    (dst_dir / "m-2.md").write_bytes(b"an older dead letter")
    (src_dir / "m.md").write_bytes(b"new message")
    moved = store.move_no_clobber(str(src_dir / "m.md"), str(dst_dir), companions=(".reason.json",))
    assert moved == str(dst_dir / "m-3.md")
    assert _names(dst_dir) == ["m-2.md", "m-3.md", "m.md.reason.json"]
    assert (dst_dir / "m.md.reason.json").read_bytes() == b"a stale reason"


def test_move_no_clobber_counts_a_dangling_symlink_companion_as_taken(tmp_path: Path) -> None:
    (tmp_path / "m.md").write_bytes(b"new message")
    (tmp_path / "dst").mkdir()
    os.symlink(tmp_path / "nowhere", tmp_path / "dst" / "m.md.reason.json")
    moved = store.move_no_clobber(str(tmp_path / "m.md"), str(tmp_path / "dst"), companions=(".reason.json",))
    assert moved == str(tmp_path / "dst" / "m-2.md")


def test_write_new_skips_a_name_whose_companion_is_taken(tmp_path: Path) -> None:
    (tmp_path / "m.md.reason.json").write_bytes(b"a stale reason")
    path = store.write_new(str(tmp_path), "m.md", b"data", companions=(".reason.json",))
    assert path == str(tmp_path / "m-2.md")


def test_move_no_clobber_uses_the_given_name(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_bytes(b"A")
    (tmp_path / "dst").mkdir()
    moved = store.move_no_clobber(str(tmp_path / "a.md"), str(tmp_path / "dst"), "renamed.md")
    assert moved == str(tmp_path / "dst" / "renamed.md")
    assert Path(moved).read_bytes() == b"A"


def test_move_no_clobber_of_a_missing_source_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.move_no_clobber(str(tmp_path / "gone.md"), str(tmp_path))


def _other_filesystem(tmp_path: Path) -> Path | None:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != tmp_path.stat().st_dev:
        return shm
    return None


def test_move_no_clobber_across_filesystems_never_replaces(tmp_path: Path) -> None:
    other = _other_filesystem(tmp_path)
    if other is None:
        pytest.skip("no second writable filesystem")
    folder = other / f"tmms-test-{os.getpid()}-{time.monotonic_ns()}"
    folder.mkdir()
    try:
        (folder / "m.md").write_bytes(b"already there")
        (tmp_path / "m.md").write_bytes(b"new message")
        moved = store.move_no_clobber(str(tmp_path / "m.md"), str(folder))
        assert moved == str(folder / "m-2.md")
        assert ((folder / "m.md").read_bytes(), (folder / "m-2.md").read_bytes()) == (b"already there", b"new message")
        assert not (tmp_path / "m.md").exists()
        assert _names(folder) == ["m-2.md", "m.md"]
    finally:
        for item in folder.iterdir():
            item.unlink()
        folder.rmdir()


def test_move_no_clobber_across_filesystems_skips_a_name_whose_companion_is_taken(tmp_path: Path) -> None:
    other = _other_filesystem(tmp_path)
    if other is None:
        pytest.skip("no second writable filesystem")
    folder = other / f"tmms-test-{os.getpid()}-{time.monotonic_ns()}"
    folder.mkdir()
    try:
        (folder / "m.md.reason.json").write_bytes(b"a stale reason")
        (tmp_path / "m.md").write_bytes(b"new message")
        moved = store.move_no_clobber(str(tmp_path / "m.md"), str(folder), companions=(".reason.json",))
        assert moved == str(folder / "m-2.md")
        assert (folder / "m-2.md").read_bytes() == b"new message"
        assert not (tmp_path / "m.md").exists()
    finally:
        for item in folder.iterdir():
            item.unlink()
        folder.rmdir()


# --- listing and sweeping ----------------------------------------------------------------------


def test_messages_lists_md_files_by_name_and_ignores_the_rest(tmp_path: Path) -> None:
    for name in ["b.md", "a.md", ".hidden.md", ".a.md.tmp-1-ab", "notes.txt", "c.md.reason.json", "md"]:
        (tmp_path / name).write_bytes(b"x" * len(name))
    (tmp_path / "dir.md").mkdir()
    entries = list(store.messages(str(tmp_path)))
    assert [e.name for e in entries] == ["a.md", "b.md", "dir.md"]
    assert stat_module.S_ISDIR(entries[2].mode) and stat_module.S_ISREG(entries[0].mode)  # the router checks mode
    first = entries[0]
    stat = (tmp_path / "a.md").stat()
    assert (first.path, first.size, first.inode, first.mtime_ns) == (
        str(tmp_path / "a.md"), 4, stat.st_ino, stat.st_mtime_ns,
    )


def test_messages_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list(store.messages(str(tmp_path / "missing"))) == []


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_sweep_temp_files_removes_only_old_temp_files(tmp_path: Path) -> None:
    old_temp = tmp_path / f".m.md{store.TEMP_MARK}123-abcd"
    new_temp = tmp_path / f".n.md{store.TEMP_MARK}456-ef01"
    old_message = tmp_path / "old.md"
    old_dot_file = tmp_path / ".lock"
    old_marked_without_dot = tmp_path / f"x{store.TEMP_MARK}1.md"
    for path in (old_temp, new_temp, old_message, old_dot_file, old_marked_without_dot):
        path.write_bytes(b"x")
    for path in (old_temp, old_message, old_dot_file, old_marked_without_dot):
        _age(path, 37 * 3600)
    assert store.sweep_temp_files(str(tmp_path)) == 1
    assert _names(tmp_path) == sorted(p.name for p in (new_temp, old_message, old_dot_file, old_marked_without_dot))


def test_sweep_temp_files_honours_older_than(tmp_path: Path) -> None:
    temp = tmp_path / f".m.md{store.TEMP_MARK}1-ab"
    temp.write_bytes(b"x")
    _age(temp, 120)
    assert store.sweep_temp_files(str(tmp_path), older_than=600) == 0
    assert store.sweep_temp_files(str(tmp_path), older_than=60) == 1
    assert _names(tmp_path) == []


def test_sweep_temp_files_of_a_missing_folder_removes_nothing(tmp_path: Path) -> None:
    assert store.sweep_temp_files(str(tmp_path / "missing")) == 0


def test_ensure_dir_creates_parents_and_reports_failure(tmp_path: Path) -> None:
    store.ensure_dir(str(tmp_path / "a" / "b"))
    assert (tmp_path / "a" / "b").is_dir()
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StorageError) as info:
        store.ensure_dir(str(tmp_path / "file" / "sub"))
    assert info.value.path == str(tmp_path / "file" / "sub")


# --- open writers ------------------------------------------------------------------------------

HOLD_OPEN = """
import sys
handle = open(sys.argv[1], sys.argv[2])
print("ready", flush=True)
sys.stdin.read()
"""


def _holder(path: Path, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path), mode],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize("mode", ["ab", "r+b"])
def test_has_open_writer_while_another_process_writes(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "m.md"
    path.write_bytes(b"partial")
    if store.has_open_writer(str(path)) is None:
        pytest.skip("this filesystem cannot tell (no leases)")
    proc = _holder(path, mode)
    try:
        assert store.has_open_writer(str(path)) is True
    finally:
        _release(proc)
    assert store.has_open_writer(str(path)) is False


def test_a_reader_is_not_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "m.md"
    path.write_bytes(b"complete")
    if store.has_open_writer(str(path)) is None:
        pytest.skip("this filesystem cannot tell (no leases)")
    proc = _holder(path, "rb")
    try:
        assert store.has_open_writer(str(path)) is False
    finally:
        _release(proc)


def test_has_open_writer_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert store.has_open_writer(str(tmp_path / "missing.md")) is None

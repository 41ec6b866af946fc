"""The notify ledger: one key per message (not per file name), kept across restarts, forgetting
messages that are gone."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from test_full_disk import _fill, small_disk
from tmms.server import ledger
from tmms.server.ledger import NotifyLedger

__all__ = ["small_disk"]  # the fixture, shared with test_full_disk


def _key(path: Path, mailbox: str = "beta") -> str:
    file_identity = ledger.identity_of(str(path))
    assert file_identity is not None
    return NotifyLedger.key(str(path), mailbox, file_identity)


def _opened(path: Path) -> NotifyLedger:
    book = NotifyLedger(str(path))
    book.open()
    return book


def test_a_new_file_under_a_reused_name_has_a_new_key(tmp_path: Path) -> None:
    message = tmp_path / "status.md"
    message.write_text("first\n")
    first, written = _key(message), message.stat().st_mtime_ns
    message.unlink()
    message.write_text("second\n")  # the freed inode number is often given straight back
    os.utime(message, ns=(written, written + 4_000_000))  # written a clock tick (or more) later
    assert _key(message) != first


def test_a_file_keeps_its_identity_when_read_renamed_linked_or_chmodded(tmp_path: Path) -> None:
    message = tmp_path / "m.md"
    message.write_text("body\n")
    before = ledger.identity_of(str(message))
    assert message.read_text() == "body\n"
    (tmp_path / "inbox").mkdir()
    moved = tmp_path / "inbox" / "m.md"
    os.rename(message, moved)
    os.link(moved, tmp_path / "second-name.md")  # a link-then-unlink move, as store.write_new does
    os.unlink(tmp_path / "second-name.md")
    os.chmod(moved, 0o600)
    assert ledger.identity_of(str(moved)) == before


def test_keys_survive_a_restart_while_their_files_stay(tmp_path: Path) -> None:
    kept, removed = tmp_path / "kept.md", tmp_path / "removed.md"
    kept.write_text("k\n")
    removed.write_text("r\n")
    book = _opened(tmp_path / "state" / "ledger.log")
    book.add(_key(kept))
    book.add(_key(removed))
    book.close()
    removed.unlink()
    again = _opened(tmp_path / "state" / "ledger.log")
    assert _key(kept) in again
    assert len(again) == 1
    assert (tmp_path / "state" / "ledger.log").read_text() == _key(kept) + "\n"


def test_a_restart_drops_the_key_of_a_file_replaced_under_the_same_name(tmp_path: Path) -> None:
    message = tmp_path / "status.md"
    message.write_text("first\n")
    book = _opened(tmp_path / "ledger.log")
    book.add(_key(message))
    book.close()
    message.unlink()
    message.write_text("second\n")
    again = _opened(tmp_path / "ledger.log")
    assert _key(message) not in again
    assert len(again) == 0


def test_a_line_of_an_older_tmms_stands_for_the_file_there_now(tmp_path: Path) -> None:
    message = tmp_path / "a\tname with a tab.md"
    message.write_text("old\n")
    (tmp_path / "ledger.log").write_text(f"{message}\tbeta\n{tmp_path / 'gone.md'}\tbeta\n")
    book = _opened(tmp_path / "ledger.log")
    assert _key(message) in book
    assert len(book) == 1


def test_forget_missing_drops_keys_of_removed_files_in_the_scanned_folders(tmp_path: Path) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "old-inbox"
    inbox.mkdir()
    elsewhere.mkdir()
    stays, goes, other_stays, other_goes = inbox / "s.md", inbox / "g.md", elsewhere / "s.md", elsewhere / "g.md"
    for path in (stays, goes, other_stays, other_goes):
        path.write_text("x\n")
    book = _opened(tmp_path / "ledger.log")
    keys = {path: _key(path) for path in (stays, goes, other_stays, other_goes)}
    for key in keys.values():
        book.add(key)
    goes.unlink()
    other_goes.unlink()
    book.forget_missing({str(inbox)}, {keys[stays]})
    assert {k for k in keys.values() if k in book} == {keys[stays], keys[other_stays]}


def test_the_file_is_compacted_once_it_holds_mostly_forgotten_keys(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    log = tmp_path / "ledger.log"
    book = _opened(log)
    count = 2 * ledger.COMPACT_SLACK
    for n in range(count):
        message = inbox / f"{n}.md"
        message.write_text("x\n")
        book.add(_key(message))
        message.unlink()
    keeper = inbox / "keeper.md"
    keeper.write_text("x\n")
    book.add(_key(keeper))
    assert len(log.read_text().splitlines()) == count + 1
    book.forget_missing({str(inbox)}, {_key(keeper)})
    assert log.read_text() == _key(keeper) + "\n"
    other = inbox / "later.md"
    other.write_text("x\n")
    book.add(_key(other))  # the reopened file is appended to
    book.close()
    assert log.read_text().splitlines() == [_key(keeper), _key(other)]
    assert sorted(os.listdir(tmp_path)) == ["inbox", "ledger.log"]


# -- issue 7: private files, any file name, damage and a full disk ---------------------------------


def test_the_ledger_is_private_whatever_the_umask_and_a_stale_compaction_file_is_not_reused(
    tmp_path: Path,
) -> None:
    message = tmp_path / "m.md"
    message.write_text("x\n")
    state = tmp_path / "state"
    old = os.umask(0o022)
    try:
        state.mkdir()
        (state / "ledger.log").write_text(_key(message) + "\n")  # an older tmms's file: 0644
        (state / "ledger.log.compact").write_text("left by a crash\n")
        os.chmod(state / "ledger.log.compact", 0o644)
        book = _opened(state / "ledger.log")
        book.add(_key(message, "gamma"))
        book.close()
        fresh = _opened(tmp_path / "new-state" / "deeper" / "ledger.log")
        fresh.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((state / "ledger.log").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new-state" / "deeper" / "ledger.log").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new-state" / "deeper").stat().st_mode) == 0o700
    assert sorted(os.listdir(state)) == ["ledger.log"]
    assert _opened(state / "ledger.log").__contains__(_key(message, "gamma"))


@pytest.mark.parametrize("name", ["new\nline.md", "back\\slash.md", "back\\nslash.md", "tab\tand\nboth\\.md",
                                  "caf\udce9-not-utf8.md"], ids=["newline", "backslash", "backslash-n",
                                                                 "tab-newline-backslash", "bad-utf8"])
def test_any_file_name_keeps_its_key_on_one_line_across_a_restart(tmp_path: Path, name: str) -> None:
    message = tmp_path / name
    message.write_text("x\n")
    other = tmp_path / "plain.md"
    other.write_text("y\n")
    book = _opened(tmp_path / "ledger.log")
    book.add(_key(message))
    book.add(_key(other))
    book.close()
    assert len((tmp_path / "ledger.log").read_bytes().splitlines()) == 2
    again = _opened(tmp_path / "ledger.log")
    assert _key(message) in again and _key(other) in again
    assert len(again) == 2


def test_a_damaged_ledger_loads_what_it_can(tmp_path: Path) -> None:
    kept = tmp_path / "kept.md"
    kept.write_text("x\n")
    log = tmp_path / "ledger.log"
    damaged = [b"\0\0\0\0", f"{tmp_path}/zer\0ed.md\tbeta\t1:2".encode(), f"{tmp_path}/gone.md\tbe".encode(),
               b"\xff\xfe\t", b"", _key(kept).encode(), f"{kept}\tbeta\t12".encode()]  # the last one cut by a crash
    log.write_bytes(b"\n".join(damaged))
    book = _opened(log)
    assert _key(kept) in book
    assert len(book) == 1


def test_a_full_disk_is_reported_never_raised_and_the_next_line_starts_clean(small_disk: Path) -> None:
    first, second, third = (small_disk.parent / f"{n}.md" for n in ("first", "second", "third"))
    for path in (first, second, third):
        path.write_text("x\n")
    errors: list[OSError] = []
    book = NotifyLedger(str(small_disk / "ledger.log"), on_error=errors.append)
    book.open()  # no key yet: an empty file, no block of the disk
    filler = _fill(small_disk)
    book.add(_key(first))
    assert [e.errno for e in errors] == [errno.ENOSPC]
    assert _key(first) in book  # kept in memory: not run twice by this server
    filler.unlink()
    book.add(_key(second))
    book.add(_key(third))
    book.close()
    again = _opened(small_disk / "ledger.log")
    assert {_key(second), _key(third)} <= {k for k in (_key(first), _key(second), _key(third)) if k in again}
    assert _key(first) not in again  # never written: a restart runs that notify command again

"""Unit tests of the journal: append, read back, rotation, and many writers at once (real files, real processes)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import REPO
from tmms import journal
from tmms.errors import StorageError
from tmms.journal import Journal

ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# A child process that appends ``count`` records tagged ``writer`` once the go-file exists, and
# prints how many appends raised (an append must never fail because another writer rotated).
WRITER = """
import os, sys, time
from tmms.errors import StorageError
from tmms.journal import Journal
path, writer, count, max_bytes, keep, go = sys.argv[1:7]
journal = Journal(path, max_bytes=int(max_bytes), keep=int(keep))
while not os.path.exists(go):
    time.sleep(0.001)
failures = []
for seq in range(int(count)):
    try:
        journal.append("tick", id=writer, seq=seq, pad="x" * 40)
    except StorageError as exc:
        failures.append(str(exc))
journal.close()
print(len(failures), failures[:1])
"""


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def all_files(path: Path) -> list[Path]:
    """The journal and its rotated files, oldest first."""
    rotated = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    return [*rotated, path] if path.exists() else rotated


def run_writers(path: Path, writers: int, count: int, max_bytes: int, keep: int) -> None:
    """Start ``writers`` processes appending ``count`` records each, all at once; none may fail."""
    go = path.parent / "go"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{n}", str(count), str(max_bytes),
                               str(keep), str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
             for n in range(writers)]
    try:
        go.touch()
        outputs = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        assert out.decode().strip() == "0 []", out.decode()


def check_records(path: Path, writers: int, count: int) -> None:
    """Every line of every file is one whole record; each writer's records are all there, in order."""
    seen: dict[str, list[int]] = {}
    for file in all_files(path):
        raw = file.read_bytes()
        assert raw.endswith(b"\n"), file
        for line in raw.decode("utf-8").splitlines():
            record = json.loads(line)  # an interleaved line would not parse
            assert set(record) == {"at", "event", "id", "seq", "pad"}, line
            seen.setdefault(record["id"], []).append(record["seq"])
    assert sorted(seen) == sorted(f"w{n}" for n in range(writers))
    for writer, seqs in seen.items():
        assert seqs == list(range(count)), writer


# -- append and read -----------------------------------------------------------------------------


def test_append_writes_one_json_line_per_record_leaving_out_empty_fields(tmp_path: Path) -> None:
    path = tmp_path / "state" / "tmms" / "journal.jsonl"  # parent folders are created
    j = Journal(str(path))
    j.append("posted", id="abc", to="beta", subject=None, thread="", size=12)
    j.append("read", id="abc", mailbox="beta", path="/mail/ünï.md")
    j.close()
    first, second = (json.loads(line) for line in lines_of(path))
    assert list(first) == ["at", "event", "id", "to", "size"]
    assert ISO_MILLIS.match(first["at"]), first["at"]
    assert (first["event"], first["id"], first["to"], first["size"]) == ("posted", "abc", "beta", 12)
    assert second["path"] == "/mail/ünï.md"
    assert "ünï" in path.read_text(encoding="utf-8")  # kept as UTF-8 text, not \\u escapes


def test_read_returns_records_oldest_first_as_strings_and_skips_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(str(path))
    j.append("posted", id="m1", size=3)
    j.close()
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("not json\n[1, 2]\n\n{\"event\": \"half\n")
    j.append("read", id="m1")
    j.close()
    records = list(journal.read(str(path)))
    assert [r["event"] for r in records] == ["posted", "read"]
    assert records[0]["size"] == "3"


def test_read_of_a_missing_journal_is_empty(tmp_path: Path) -> None:
    assert list(journal.read(str(tmp_path / "nothing.jsonl"))) == []
    assert journal.events_for(str(tmp_path / "nothing.jsonl"), {"x"}) == []


def test_events_for_keeps_only_the_given_ids(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(str(path))
    for event, mid in [("posted", "a"), ("posted", "b"), ("read", "a"), ("posted", "c")]:
        j.append(event, id=mid)
    j.close()
    assert [(r["event"], r["id"]) for r in journal.events_for(str(path), {"a", "c"})] == [
        ("posted", "a"), ("read", "a"), ("posted", "c")]


def test_append_where_the_folder_cannot_exist_raises_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    j = Journal(str(blocker / "journal.jsonl"))
    with pytest.raises(StorageError, match=r"a-file/journal\.jsonl"):
        j.append("posted", id="x")


class DefaultPathCase(NamedTuple):
    test_id: str
    env: dict[str, str]
    expected: str


DEFAULT_PATHS = [
    DefaultPathCase("xdg-state-home", {"HOME": "/h", "XDG_STATE_HOME": "/state"}, "/state/tmms/journal.jsonl"),
    DefaultPathCase("home-fallback", {"HOME": "/h"}, "/h/.local/state/tmms/journal.jsonl"),
    DefaultPathCase("relative-xdg-ignored", {"HOME": "/h", "XDG_STATE_HOME": "rel"},
                    "/h/.local/state/tmms/journal.jsonl"),
]


@pytest.mark.parametrize("case", DEFAULT_PATHS, ids=[c.test_id for c in DEFAULT_PATHS])
def test_default_path_is_in_the_xdg_state_dir(case: DefaultPathCase) -> None:
    assert journal.default_path(case.env) == case.expected


# -- rotation ------------------------------------------------------------------------------------


def test_rotation_shifts_files_up_and_keeps_only_keep_of_them(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(str(path), max_bytes=200, keep=2)
    for seq in range(40):
        j.append("tick", id="w", seq=seq)
    j.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.jsonl", "journal.jsonl.1", "journal.jsonl.2"]
    for file in all_files(path):
        assert file.stat().st_size <= 200 + 100  # rotated right after the write that passed max_bytes
    seqs = [int(r["seq"]) for r in journal.read(str(path), keep=2)]
    assert seqs == list(range(seqs[0], 40))  # the newest records, oldest first, none missing in between
    assert seqs[0] > 0  # the oldest file was dropped


def test_a_writer_follows_a_rotation_done_by_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    rotating = Journal(str(path), max_bytes=10, keep=3)
    other = Journal(str(path))
    other.append("first", id="o")  # holds a descriptor on the file about to be rotated
    rotating.append("second", id="r")  # passes max_bytes: rotates
    assert not path.exists()
    other.append("third", id="o")
    assert [json.loads(line)["event"] for line in lines_of(path)] == ["third"]
    assert [r["event"] for r in journal.read(str(path))] == ["first", "second", "third"]
    rotating.close()
    other.close()


# -- many processes at once ----------------------------------------------------------------------


def test_concurrent_appenders_never_interleave_or_lose_lines(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    run_writers(path, writers=6, count=300, max_bytes=journal.MAX_BYTES, keep=journal.KEEP)
    assert all_files(path) == [path]
    check_records(path, writers=6, count=300)


def test_concurrent_appenders_across_rotations_never_fail_interleave_or_lose_lines(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    run_writers(path, writers=6, count=300, max_bytes=4000, keep=500)
    files = all_files(path)
    assert len(files) > 10, files  # it really rotated, many times, while others wrote
    check_records(path, writers=6, count=300)
    records = list(journal.read(str(path), keep=500))
    assert len(records) == 6 * 300


@given(st.dictionaries(st.text(), st.one_of(st.text(), st.integers())))
def test_json_object_is_json_that_loads_back_exactly(record: dict[str, str | int]) -> None:
    line = journal.json_object(record)
    line.encode("utf-8")  # valid UTF-8 even with lone surrogates from a surrogateescape path
    assert "\n" not in line and "\r" not in line
    assert json.loads(line) == record

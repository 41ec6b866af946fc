"""``tmms log``: the journal as readable lines or JSON, filtered, and followed across rotation (issue #11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import IO

import pytest

from conftest import TmuxServer, as_json, check_json, failed, ok, wait_until
from tmms import journal
from tmms.journal_view import Describer, Filter, follow_lines, parse_age

ID1 = "11111111-aaaa-4bbb-8ccc-000000000001"
ID2 = "22222222-aaaa-4bbb-8ccc-000000000002"


def _journal(home: Path) -> Path:
    return home / ".local" / "state" / "tmms" / "journal.jsonl"


def _write(home: Path, *records: dict[str, str]) -> None:
    path = _journal(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def _local(stamp: str) -> str:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _story(home: Path) -> None:
    """A post to beta, delivered and read; a post to nobody, dead-lettered."""
    journal.record(str(_journal(home)), "posted", id=ID1, to="beta", path="/p1", subject="Hello there",
                   **{"from": "alpha"})
    journal.record(str(_journal(home)), "delivered", id=ID1, to="beta", mailbox="beta", path="/p1",
                   **{"from": "alpha"})
    journal.record(str(_journal(home)), "read", id=ID1, mailbox="beta", path="/p1")
    journal.record(str(_journal(home)), "posted", id=ID2, to="ghost", path="/p2", subject="Lost",
                   **{"from": "alpha"})
    journal.record(str(_journal(home)), "dead-lettered", id=ID2, to="ghost", path="/p2",
                   reason="unknown recipient 'ghost'", **{"from": "alpha"})


def test_log_prints_one_readable_line_per_event(tmux_server: TmuxServer, home: Path) -> None:
    _story(home)
    lines = ok(tmux_server.tmms("log")).splitlines()
    assert [line.split()[2] for line in lines] == ["posted", "delivered", "read", "posted", "dead-lettered"]
    stamp = json.loads(_journal(home).read_text().splitlines()[0])["at"]
    assert lines[0] == f'{_local(stamp)}  posted         11111111  alpha -> beta  "Hello there"'
    assert lines[1].endswith('delivered      11111111  alpha -> beta  "Hello there"')
    assert lines[2].endswith('read           11111111  -> beta  "Hello there"')
    assert lines[4].endswith('dead-lettered  22222222  alpha -> ghost  "Lost"  (unknown recipient \'ghost\')')


def test_log_of_no_journal_prints_nothing(tmux_server: TmuxServer) -> None:
    assert ok(tmux_server.tmms("log")) == ""
    assert as_json(tmux_server.tmms("log", "--json")) == []


def test_log_filters_combine(tmux_server: TmuxServer, home: Path) -> None:
    _story(home)

    def events(*args: str) -> list[str]:
        return [r["event"] for r in as_json(tmux_server.tmms("log", "--json", *args))]

    assert events("--to", "beta") == ["posted", "delivered", "read"]  # 'read' by its mailbox
    assert events("--from", "alpha", "--to", "ghost") == ["posted", "dead-lettered"]
    assert events("--event", "read,dead-lettered") == ["read", "dead-lettered"]
    assert events("--event", "read", "--event", "posted") == ["posted", "read", "posted"]
    assert events("-n", "2") == ["posted", "dead-lettered"]
    assert events("--from", "nobody") == []


def test_log_since_leaves_out_older_events(tmux_server: TmuxServer, home: Path) -> None:
    _write(home, {"at": "2020-01-01T00:00:00.000Z", "event": "posted", "id": ID1, "to": "beta", "from": "alpha"})
    _story(home)
    assert len(as_json(tmux_server.tmms("log", "--json"))) == 6
    assert len(as_json(tmux_server.tmms("log", "--json", "--since", "1h"))) == 5
    assert len(as_json(tmux_server.tmms("log", "--json", "--since", "5000w"))) == 6


@pytest.mark.parametrize("age", ["soon", "-1h", "1y", "", "nan"])
def test_a_bad_since_exits_2(tmux_server: TmuxServer, age: str) -> None:
    line = failed(tmux_server.tmms("log", f"--since={age}"), 2)
    assert line == f"tmms: error: --since: '{age}' is not an age such as 90s, 30m, 12h, 7d, 2w"


def test_a_negative_lines_exits_2(tmux_server: TmuxServer) -> None:
    assert failed(tmux_server.tmms("log", "-n", "-3"), 2) == "tmms: error: --lines must be 0 or more, not -3"


def test_an_unknown_event_warns_with_the_nearest(tmux_server: TmuxServer, home: Path) -> None:
    _story(home)
    proc = tmux_server.tmms("log", "--event", "delivred")
    assert proc.returncode == 0 and proc.stdout == ""
    assert proc.stderr == "tmms: warning: tmms writes no event 'delivred'; did you mean 'delivered'?\n"


def test_log_reads_the_rotated_files_first_and_skips_bad_lines(tmux_server: TmuxServer, home: Path) -> None:
    _story(home)
    path = _journal(home)
    path.rename(f"{path}.1")
    with path.open("w") as handle:
        handle.write("not json\n[1, 2]\n")
    journal.record(str(path), "retried", id=ID2, path="/p2")
    assert [r["event"] for r in as_json(tmux_server.tmms("log", "--json"))][-2:] == ["dead-lettered", "retried"]


def test_a_senders_control_characters_are_shown_visibly(tmux_server: TmuxServer, home: Path) -> None:
    journal.record(str(_journal(home)), "posted", id=ID1, to="beta", path="/p", subject="\x1b[2Jgone\nx",
                   **{"from": "al\x07pha"})
    out = ok(tmux_server.tmms("log"))
    assert "\x1b" not in out and "\x07" not in out and out.count("\n") == 1
    assert as_json(tmux_server.tmms("log", "--json"))[0]["subject"] == "\x1b[2Jgone\nx"


def test_log_shows_a_real_servers_traffic(tmux_server: TmuxServer, home: Path) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    tmux_server.start_server()
    ok(tmux_server.tmms("post", "-t", "beta", "-s", "Live", pane=alpha.pane_id, input="x\n"))
    records = wait_until(lambda: [r for r in as_json(tmux_server.tmms("log", "--json", "--to", "beta"))
                                  if r["event"] == "delivered"])
    assert records[0]["from"] == "alpha" and records[0]["mailbox"] == "beta"
    assert records[0]["subject"] == "Live"  # the server's own lines carry the subject
    assert '"Live"' in ok(tmux_server.tmms("log", "--event", "delivered"))


# -- follow ---------------------------------------------------------------------------------------


def _readline(stream: IO[str]) -> str:
    line = stream.readline()
    assert line, "tmms log -f ended"
    return line


def test_follow_prints_the_last_ten_then_new_events_across_rotation(tmux_server: TmuxServer, home: Path) -> None:
    path = _journal(home)
    for index in range(12):
        journal.record(str(path), "posted", id=f"{index:08d}-x", to="beta", subject=f"s{index}", **{"from": "alpha"})
    proc = subprocess.Popen([sys.executable, "-m", "tmms", "-L", tmux_server.socket, "log", "-f"],
                            stdout=subprocess.PIPE, text=True, env=tmux_server.env())
    try:
        assert proc.stdout is not None
        first = [_readline(proc.stdout) for _ in range(10)]
        assert '"s2"' in first[0] and '"s11"' in first[-1]
        journal.record(str(path), "delivered", id="00000011-x", to="beta", mailbox="beta", **{"from": "alpha"})
        assert _readline(proc.stdout).split()[2:5] == ["delivered", "00000011", "alpha"]
        path.rename(f"{path}.1")  # rotated, as the journal rotates
        journal.record(str(path), "read", id="00000011-x", mailbox="beta")
        line = _readline(proc.stdout)
        assert line.split()[2] == "read" and line.rstrip().endswith('"s11"')
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_follow_json_is_one_object_a_line_with_filters(tmux_server: TmuxServer, home: Path) -> None:
    path = _journal(home)
    journal.record(str(path), "posted", id=ID1, to="beta", **{"from": "alpha"})
    proc = subprocess.Popen([sys.executable, "-m", "tmms", "-L", tmux_server.socket, "log", "-f", "--json",
                             "--event", "read"], stdout=subprocess.PIPE, text=True, env=tmux_server.env())
    try:
        assert proc.stdout is not None
        journal.record(str(path), "posted", id=ID2, to="beta", **{"from": "alpha"})
        journal.record(str(path), "read", id=ID2, mailbox="beta")
        record = json.loads(_readline(proc.stdout))
        assert record["event"] == "read" and record["id"] == ID2
        check_json(proc.args, [record])  # JSON Lines: each line as an item of log's array
    finally:
        proc.kill()
        proc.wait(timeout=10)


# -- the library ----------------------------------------------------------------------------------


def test_parse_age() -> None:
    assert parse_age("90") == 90 and parse_age("15m") == 900 and parse_age("2w") == 1209600
    for bad in ("", "x", "-5m", "inf", "nan", "1y"):
        with pytest.raises(ValueError):
            parse_age(bad)


def test_follow_lines_reads_to_the_end_and_stops(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    path.write_bytes(b"one\ntwo\npartial")
    caught: list[bool] = []
    lines = list(follow_lines(str(path), stop=lambda: True, caught_up=lambda: caught.append(True)))
    assert lines == ["one\n", "two\n"] and caught == [True]


def test_follow_lines_reads_the_rest_of_a_rotated_file_then_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text("one\n")
    looks: list[bool] = []

    def stop() -> bool:
        if not looks:  # rotate: a last line lands in the old file after the rename, the new file starts
            with path.open("a") as old:
                path.rename(f"{path}.1")
                old.write("two\n")
            path.write_text("three\n")
        looks.append(True)
        return len(looks) > 1

    assert list(follow_lines(str(path), stop=stop, poll=0)) == ["one\n", "two\n", "three\n"]


def test_follow_lines_waits_for_a_missing_file(tmp_path: Path) -> None:
    assert list(follow_lines(str(tmp_path / "none"), stop=lambda: True)) == []


def test_follow_lines_rereads_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    path.write_text("a long first line\n")
    looks = iter([False, True])

    def stop() -> bool:
        if not os.path.getsize(path) < 10:
            path.write_text("new\n")  # truncated in place, and written again
        return next(looks)

    assert list(follow_lines(str(path), stop=stop, poll=0)) == ["a long first line\n", "new\n"]


def test_filter_and_describer() -> None:
    record = {"at": "2026-01-01T00:00:00.000Z", "event": "delivered", "id": ID1, "to": "a,b", "mailbox": "b"}
    assert not Filter(sender="x").matches(record) and not Filter(events=frozenset({"read"})).matches(record)
    assert not Filter(recipient="a").matches(record)  # the copy delivered to b, of a message to a and b
    assert Filter(recipient="a").matches({**record, "mailbox": ""}) and Filter(recipient="b").matches(record)
    assert not Filter(since=1e12).matches(record) and not Filter(since=0).matches({"event": "x"})
    describer = Describer()
    describer.note({"id": ID1, "subject": "S"})
    assert describer.line(record).endswith('delivered      11111111  -> b  "S"')

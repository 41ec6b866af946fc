"""The parts of ``tmms ui`` that need no screen: the editor template and the journal follower."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tmms import journal
from tmms.mailbox import Folder, load
from tmms.message import compose
from tmms.tui import compose as drafts
from tmms.tui.listing import first_screen, when
from tmms.tui.traffic import TAIL_BYTES, Flow, Follower, delay, row


def test_a_new_message_template_parses_back_to_headers_and_body() -> None:
    template = drafts.new_template()
    assert drafts.parse(template, with_headers=True) == drafts.Draft([], "", "")  # untouched: empty, cancelled
    edited = template.replace("To: \n", "To: beta, @reviewers gamma\n").replace("Subject: \n", "Subject: Plan: v2\n")
    edited = edited.replace("\n\n\n", "\n\n# Heading\n\nthe body\n\n", 1)
    assert drafts.parse(edited, with_headers=True) == drafts.Draft(
        ["beta", "@reviewers", "gamma"], "Plan: v2", "# Heading\n\nthe body\n")


def test_only_the_text_above_the_scissors_line_is_the_body(tmp_path: Path) -> None:
    composed = compose("line one\n\x1b]0;title\x07\n", "beta", "alpha", "Question")
    path = tmp_path / composed.file_name
    path.write_text(composed.text)
    template = drafts.reply_template(load(str(path), Folder.INBOX))
    assert template.startswith("\n\n" + drafts.SCISSORS + "\n")
    assert "> line one\n> ^[]0;title^G\n" in template and "Replying to beta: Question" in template
    assert drafts.parse(template, with_headers=False).body == ""
    assert drafts.parse("To: x\n\n" + template, with_headers=False).body == "To: x\n"  # a reply has no headers
    assert drafts.parse("ok\n" + template, with_headers=False).body == "ok\n"


def test_the_editor_is_visual_then_editor_then_vi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISUAL", "code --wait")
    monkeypatch.setenv("EDITOR", "nano")
    assert drafts.editor_command() == ["code", "--wait"]
    monkeypatch.delenv("VISUAL")
    assert drafts.editor_command() == ["nano"]
    monkeypatch.delenv("EDITOR")
    assert drafts.editor_command() == ["vi"]


def test_dates_are_local_and_short() -> None:
    now = 1_774_200_000.0  # 2026-03-22
    assert when("", now - 60, now).count(":") == 1  # today: HH:MM (no date: the file's time)
    assert len(when("2026-01-02T03:04:05.000Z", 0, now)) == 6  # this year: "Jan 02"
    assert when("2024-01-02T12:00:00.000Z", 0, now).startswith("2024-01-0")


def append(path: Path, *lines: str) -> None:
    with path.open("a") as handle:
        handle.write("".join(line + "\n" for line in lines))


def line(event: str, at: str, message_id: str, **fields: str) -> str:
    return journal.json_object({"at": at, "event": event, "id": message_id, **fields})


def test_the_follower_reads_whole_lines_only_its_servers_messages_and_survives_rotation(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    box = tmp_path / "alpha"
    follower = Follower(str(path), [str(box)], {"alpha"})
    assert follower.poll() == []  # no journal yet
    posted = line("posted", "2026-03-22T14:00:00.000Z", "m1", path=f"{box}/outbox/x.md", subject="s", to="beta")
    with path.open("a") as handle:
        handle.write(posted[:20])  # half a line: nothing yet
    assert follower.poll() == []
    with path.open("a") as handle:
        handle.write(posted[20:] + "\n")
    (flow,) = follower.poll()
    assert (flow.message_id, flow.subject, flow.recipient, flow.posted is not None) == ("m1", "s", "beta", True)
    append(path, line("posted", "2026-03-22T14:00:00.000Z", "m2", path=f"{tmp_path}/alphabet/outbox/y.md"),
           "not json", line("typed", "2026-03-22T14:00:01.000Z", "m3", mailbox="alpha"),
           line("delivered", "2026-03-22T14:00:00.050Z", "m1", path="/elsewhere/inbox/x.md"))
    assert sorted(f.message_id for f in follower.poll()) == ["m1", "m3"]  # m2: another server's folder
    os.replace(path, f"{path}.1")
    append(path, line("read", "2026-03-22T14:00:03.000Z", "m1", mailbox="alpha"))
    (flow,) = follower.poll()
    assert [delay(flow, stage) for stage in ("inbox", "read", "notify")] == ["+50ms", "+3.0s", "-"]


def test_a_long_journal_is_read_from_its_tail_from_a_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    filler = line("posted", "2026-03-22T14:00:00.000Z", "old", path="/elsewhere/x.md")
    append(path, *[filler] * (2 * TAIL_BYTES // len(filler)))
    append(path, line("posted", "2026-03-22T14:00:00.000Z", "new", mailbox="alpha"))
    flows = Follower(str(path), [], {"alpha"}).poll()
    assert [f.message_id for f in flows] == ["new"]


def test_a_rows_cells_are_plain_text_with_times_after_the_post() -> None:
    flow = Flow("12345678-aaaa", "b[i]x[/i]", "alpha", "\x1b[2Jsubject", 100.0,
                {"inbox": 100.12, "typed": 101.0, "dead": 102.0})
    cells = [cell.plain for cell in row(flow)]
    assert cells[1:] == ["b[i]x[/i]", "alpha", "^[[2Jsubject", "+120ms", "-", "+1.0s…", "-", "12345678"]
    assert [cell.plain for cell in row(Flow("m", times={"dead": 1.0}))][4] == "dead"
    assert row(Flow("\x1b]0;t\x07"))[-1].plain == "^[]0;t^G"  # a hostile id from the journal too
    assert delay(Flow("m", times={"read": 5.0}), "read") == "✓"  # no post time known


def test_the_first_frame_reads_only_the_newest_screenful_and_counts_the_folders(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "read").mkdir(parents=True)
    for n in range(60):
        composed = compose(f"{n}\n", "beta", "alpha", f"number {n:02d}",
                           moment=datetime(2026, 3, 22, 14, n, tzinfo=UTC))
        (inbox / ("read" if n % 2 else "") / composed.file_name).write_text(composed.text)
    (inbox / "notes.txt").write_text("not mail")
    first = first_screen(str(inbox), 5)
    assert (first.unread, first.total) == (30, 60)
    assert [x.headers.subject for x in first.letters] == [f"number {n}" for n in (59, 58, 57, 56, 55)]
    assert [x.folder for x in first.letters] == [Folder.READ, Folder.INBOX] * 2 + [Folder.READ]
    assert first_screen(str(tmp_path / "missing"), 5) == ([], 0, 0)


def test_records_of_a_pane_registered_later_show_once_it_is_served(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    follower = Follower(str(path), [str(tmp_path / "alpha")], {"alpha"})
    append(path, line("posted", "2026-03-22T14:00:00.000Z", "g1", path=f"{tmp_path}/gamma/outbox/x.md", to="alpha",
                      subject="hi from a new pane", **{"from": "gamma"}))
    assert follower.poll() == [] and len(follower.strangers) == 1
    (flow,) = follower.serve([str(tmp_path / "alpha"), str(tmp_path / "gamma")], {"alpha", "gamma"})
    assert (flow.message_id, flow.sender, flow.subject) == ("g1", "gamma", "hi from a new pane")
    assert not follower.strangers and follower.serve([], set()) == []

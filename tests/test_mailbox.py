"""Unit tests of reading a mailbox, waiting, views and recipient expansion: real temp folders, no tmux."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest

from conftest import wait_until
from tmms import mailbox, views
from tmms.errors import AmbiguousMessage, MessageNotFound, NoRecipient
from tmms.mailbox import Folder, Letter
from tmms.message import Headers, compose
from tmms.post import reply_subject, resolve_recipients
from tmms.registry import Mailbox, Registry
from tmms.tmux import PaneRecord
from tmms.waiting import Match, wait_for

BASE = datetime(2026, 3, 22, 14, 30, 5, tzinfo=UTC)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def make_box(root: Path, name: str = "beta", groups: tuple[str, ...] = ()) -> Mailbox:
    """A mailbox with real folders under ``root``."""
    inbox, outbox = root / name / "inbox", root / name / "outbox"
    inbox.mkdir(parents=True)
    outbox.mkdir(parents=True)
    pane = PaneRecord("%1", "main", "0", "0", "1", "1", {})
    return Mailbox(name, "%1", str(inbox), str(outbox), "", "", groups, pane)


def put(folder: str | Path, message_id: str, sender: str = "alpha", to: str = "beta", subject: str = "Hi",
        seconds: int = 0, body: str = "body\n", thread: str | None = None, in_reply_to: str | None = None,
        recipients: list[str] | None = None) -> Path:
    """Write a composed message file into ``folder`` (created when missing); return its path."""
    composed = compose(body, sender, to, subject, thread_id=thread, in_reply_to=in_reply_to,
                       recipients=recipients, message_id=message_id, moment=BASE + timedelta(seconds=seconds))
    os.makedirs(folder, exist_ok=True)
    path = Path(folder) / composed.file_name
    path.write_text(composed.text, encoding="utf-8")
    return path


def uid(prefix: str) -> str:
    """A UUID-shaped id that starts with the hex digits ``prefix``."""
    digits = (prefix + "0" * 32)[:32]
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def letter(message_id: str = "", sender: str = "alpha", thread_id: str = "", error: str = "",
           name: str = "20260322-143005_alpha_to_beta_abcdef12.md", folder: Folder = Folder.INBOX) -> Letter:
    """A Letter without a file, for the pure predicates."""
    return Letter(f"/nowhere/{name}", folder, Headers(message_id=message_id, sender=sender, thread_id=thread_id),
                  0.0, error)


# -- listing -----------------------------------------------------------------------------------------


def test_unread_is_the_md_files_directly_in_the_inbox_oldest_first(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    late = put(box.inbox, uid("bbbb"), seconds=20)
    early = put(box.inbox, uid("aaaa"), seconds=10)
    put(mailbox.read_folder(box), uid("cccc"))
    (Path(box.inbox) / ".draft.md").write_text("---\ntmms_id: x\n---\n")
    (Path(box.inbox) / "notes.txt").write_text("not mail")
    assert [x.path for x in mailbox.unread(box)] == [str(early), str(late)]
    assert {x.folder for x in mailbox.unread(box)} == {"inbox"}


def test_already_read_lists_inbox_read_and_a_missing_folder_is_empty(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    assert mailbox.already_read(box) == []
    path = put(mailbox.read_folder(box), uid("cccc"))
    assert [(x.path, x.folder) for x in mailbox.already_read(box)] == [(str(path), "read")]
    assert mailbox.read_folder(box) == os.path.join(box.inbox, "read")
    assert mailbox.sent_folder(box) == os.path.join(box.outbox, "sent")


def test_everything_spans_inbox_read_outbox_and_sent_in_time_order(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    a = put(mailbox.read_folder(box), uid("a1"), seconds=1)
    b = put(mailbox.sent_folder(box), uid("b2"), sender="beta", to="alpha", seconds=2)
    c = put(box.outbox, uid("c3"), sender="beta", to="alpha", seconds=3)
    d = put(box.inbox, uid("d4"), seconds=4)
    got = mailbox.everything(box)
    assert [(x.path, x.folder) for x in got] == [(str(a), "read"), (str(b), "sent"), (str(c), "outbox"),
                                                 (str(d), "inbox")]


def test_a_file_without_a_created_at_sorts_last(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    bare = Path(box.inbox) / "0000-first-by-name.md"
    bare.write_text(f"---\ntmms_id: {uid('ee')}\ntmms_from: alpha\n---\nno date\n")
    dated = put(box.inbox, uid("ff"))
    assert [x.path for x in mailbox.unread(box)] == [str(dated), str(bare)]


class Broken(NamedTuple):
    test_id: str
    data: bytes
    error: str


BROKEN = [
    Broken("no-front-matter", b"just text\n", "no front matter"),
    Broken("not-utf8", b"---\ntmms_id: x\n---\ncaf\xe9\n", "not UTF-8 text"),
    Broken("malformed-yaml", b"---\nkey: [unclosed\n---\nbody\n", "malformed YAML"),
    Broken("list-front-matter", b"---\n- a\n---\nbody\n", "not a mapping"),
]


@pytest.mark.parametrize("case", BROKEN, ids=[c.test_id for c in BROKEN])
def test_load_keeps_the_error_of_an_unreadable_file(tmp_path: Path, case: Broken) -> None:
    path = tmp_path / "20260322-143005_alpha_to_beta_0badf00d.md"
    path.write_bytes(case.data)
    got = mailbox.load(str(path), Folder.INBOX)
    assert case.error in got.error
    assert got.message_id == ""
    assert got.short_id == "0badf00d"  # from the file name
    assert got.mtime > 0


def test_load_of_a_vanished_file_is_an_error_letter(tmp_path: Path) -> None:
    got = mailbox.load(str(tmp_path / "gone.md"), Folder.INBOX)
    assert got.error == "No such file or directory"
    assert got.short_id == "gone"


def test_letter_ids_and_thread_root(tmp_path: Path) -> None:
    root_id, reply_id = uid("1a2b3c4d5e"), uid("99887766")
    first = mailbox.load(str(put(tmp_path, root_id)), Folder.INBOX)
    second = mailbox.load(str(put(tmp_path, reply_id, thread=root_id, in_reply_to=root_id, seconds=1)), Folder.INBOX)
    assert first.message_id == root_id and first.short_id == "1a2b3c4d"
    assert first.thread_root == root_id  # a message that starts a thread is its root
    assert second.thread_root == root_id
    assert second.headers.in_reply_to == root_id
    assert second.name.endswith("_99887766.md")


# -- lookup by id prefix -------------------------------------------------------------------------------


class Ref(NamedTuple):
    test_id: str
    ref: str
    hit: bool


REFS = [
    Ref("full-id", uid("1a2b3c4d5e6f"), True),
    Ref("short-prefix", "1a2b", True),
    Ref("eight-digits", "1a2b3c4d", True),
    Ref("dashed-prefix", "1a2b3c4d-5e6f", True),
    Ref("undashed-past-eight", "1a2b3c4d5e6f", True),
    Ref("upper-case", "1A2B3C", True),
    Ref("surrounding-space", "  1a2b  ", True),
    Ref("file-name-prefix", "20260322-143005_alpha", True),
    Ref("other-id", "ffff", False),
    Ref("wrong-tail", "1a2b3c4d5e70", False),
    Ref("empty", "", False),
    Ref("blank", "   ", False),
]


@pytest.mark.parametrize("case", REFS, ids=[c.test_id for c in REFS])
def test_matches_an_id_prefix_or_a_file_name_prefix(tmp_path: Path, case: Ref) -> None:
    found = mailbox.load(str(put(tmp_path, uid("1a2b3c4d5e6f"))), Folder.INBOX)
    assert mailbox.matches(found, case.ref) is case.hit


def test_find_returns_the_one_letter_a_unique_prefix_names(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    put(box.inbox, uid("1a2b0000"))
    wanted = put(box.inbox, uid("1a3c0000"), seconds=1)
    assert mailbox.find(mailbox.unread(box), "1a3", "the inbox of beta").path == str(wanted)


def test_find_with_no_match_raises_message_not_found(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    put(box.inbox, uid("1a2b"))
    with pytest.raises(MessageNotFound) as caught:
        mailbox.find(mailbox.unread(box), "ffff", "the inbox of beta")
    assert str(caught.value) == "no message matches 'ffff' in the inbox of beta"
    assert (caught.value.ref, caught.value.where) == ("ffff", "the inbox of beta")


def test_find_with_an_ambiguous_prefix_lists_every_match(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    one = put(box.inbox, uid("1a2b0001"))
    two = put(mailbox.read_folder(box), uid("1a2b0002"), seconds=1)
    put(box.inbox, uid("ffff0003"), seconds=2)
    letters = mailbox.unread(box) + mailbox.already_read(box)
    with pytest.raises(AmbiguousMessage) as caught:
        mailbox.find(letters, "1a2b", "the inbox of beta")
    assert caught.value.matches == [f"1a2b0001 (inbox: {one.name})", f"1a2b0002 (read: {two.name})"]
    assert str(caught.value) == (f"'1a2b' matches 2 messages: 1a2b0001 (inbox: {one.name}), "
                                 f"1a2b0002 (read: {two.name}); give more of the id")


def test_ambiguous_message_shows_eight_matches_and_counts_the_rest() -> None:
    error = AmbiguousMessage("a", [f"m{i}" for i in range(11)])
    assert str(error) == "'a' matches 11 messages: m0, m1, m2, m3, m4, m5, m6, m7 and 3 more; give more of the id"


def test_find_counts_copies_of_one_message_once_and_the_first_wins(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    same = uid("5e4d")
    sent = put(mailbox.sent_folder(box), same, sender="beta", to="alpha")
    put(box.outbox, same, sender="beta", to="alpha")
    got = mailbox.find(mailbox.everything(box), "5e4d", "the mail of beta")
    assert got.message_id == same
    assert got.path in {str(sent), str(Path(box.outbox) / sent.name)}


def test_find_names_an_unreadable_file_by_its_file_name(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    bad = Path(box.inbox) / "20260322-143005_alpha_to_beta_0badf00d.md"
    bad.write_bytes(b"no front matter\n")
    put(box.inbox, uid("0bad1234"))
    assert mailbox.find(mailbox.unread(box), "0badf", "x").path == str(bad)


# -- marking read -----------------------------------------------------------------------------------


def test_mark_read_moves_the_file_into_inbox_read(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    path = put(box.inbox, uid("1a2b"))
    data = path.read_bytes()
    (unread_letter,) = mailbox.unread(box)
    taken = mailbox.mark_read(unread_letter, box)
    assert taken.folder == "read"
    assert taken.path == os.path.join(box.inbox, "read", path.name)
    assert Path(taken.path).read_bytes() == data
    assert not path.exists()
    assert mailbox.unread(box) == []
    assert taken.headers == unread_letter.headers


def test_mark_read_never_replaces_a_read_file_of_the_same_name(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    older = put(mailbox.read_folder(box), uid("1a2b"), body="older\n")
    newer = put(box.inbox, uid("1a2b"), body="newer\n")
    taken = mailbox.mark_read(mailbox.unread(box)[0], box)
    assert taken.path == os.path.join(box.inbox, "read", newer.name.removesuffix(".md") + "-2.md")
    assert older.read_text().endswith("older\n")
    assert Path(taken.path).read_text().endswith("newer\n")


def test_mark_read_of_a_read_letter_changes_nothing(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    put(mailbox.read_folder(box), uid("1a2b"))
    (read_letter,) = mailbox.already_read(box)
    assert mailbox.mark_read(read_letter, box) is read_letter


def test_mark_read_of_a_letter_another_reader_took_raises_file_not_found(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    put(box.inbox, uid("1a2b"))
    (unread_letter,) = mailbox.unread(box)
    mailbox.mark_read(unread_letter, box)
    with pytest.raises(FileNotFoundError):
        mailbox.mark_read(unread_letter, box)


# -- threads and bodies -------------------------------------------------------------------------------


def test_thread_collects_one_thread_in_time_order_once_per_id(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    root = uid("aaaa")
    put(box.inbox, uid("dddd"), thread=root, seconds=3)
    put(mailbox.read_folder(box), root, seconds=1)
    put(mailbox.sent_folder(box), uid("cccc"), sender="beta", to="alpha", thread=root, seconds=2)
    put(box.outbox, uid("cccc"), sender="beta", to="alpha", thread=root, seconds=2)  # queued copy, same id
    put(box.inbox, uid("eeee"), seconds=4)  # another conversation
    put(box.inbox, uid("ffff"), thread=uid("eeee"), seconds=5)
    got = mailbox.thread(mailbox.everything(box), root)
    assert [x.message_id for x in got] == [root, uid("cccc"), uid("dddd")]


def test_thread_skips_letters_without_an_id(tmp_path: Path) -> None:
    assert mailbox.thread([letter(""), letter(uid("aa"))], uid("aa")) == [letter(uid("aa"))]


def test_body_of_is_the_text_after_the_front_matter(tmp_path: Path) -> None:
    path = put(tmp_path, uid("aa"), body="# Title\n\nText.\n")
    assert mailbox.body_of(str(path)) == "# Title\n\nText.\n"
    plain = tmp_path / "plain.md"
    plain.write_text("no front matter here\n")
    assert mailbox.body_of(str(plain)) == "no front matter here\n"


# -- waiting.Match -----------------------------------------------------------------------------------


class Want(NamedTuple):
    test_id: str
    match: Match
    candidate: Letter
    hit: bool


ROOT = uid("7e57")
WANTS = [
    Want("anything", Match(), letter(uid("aa")), True),
    Want("from-listed-sender", Match(frozenset({"alpha", "gamma"})), letter(uid("aa"), sender="gamma"), True),
    Want("from-other-sender", Match(frozenset({"alpha"})), letter(uid("aa"), sender="gamma"), False),
    Want("in-thread", Match(thread=ROOT), letter(uid("aa"), thread_id=ROOT), True),
    Want("thread-prefix", Match(thread="7e57"), letter(uid("aa"), thread_id=ROOT), True),
    Want("thread-upper-case", Match(thread=ROOT.upper()), letter(uid("aa"), thread_id=ROOT), True),
    Want("thread-root-itself", Match(thread=ROOT), letter(ROOT), True),
    Want("other-thread", Match(thread=ROOT), letter(uid("aa"), thread_id=uid("bb")), False),
    Want("no-thread", Match(thread=ROOT), letter(uid("aa")), False),
    Want("sender-and-thread", Match(frozenset({"alpha"}), ROOT), letter(uid("aa"), thread_id=ROOT), True),
    Want("thread-but-wrong-sender", Match(frozenset({"zed"}), ROOT), letter(uid("aa"), thread_id=ROOT), False),
    Want("unreadable", Match(), letter(uid("aa"), error="not UTF-8 text"), False),
    Want("no-id", Match(), letter(""), False),
]


@pytest.mark.parametrize("case", WANTS, ids=[c.test_id for c in WANTS])
def test_match_selects_by_sender_and_thread(case: Want) -> None:
    assert case.match(case.candidate) is case.hit


# -- waiting.wait_for (real folders, real inotify) ---------------------------------------------------


def test_wait_for_takes_a_waiting_message_into_read(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    path = put(box.inbox, uid("1a2b"))
    got = wait_for(box, Match(), timeout=0)
    assert got is not None and got.folder == "read"
    assert got.path == os.path.join(mailbox.read_folder(box), path.name)
    assert not path.exists()


def test_wait_for_keep_leaves_the_message_unread(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    path = put(box.inbox, uid("1a2b"))
    got = wait_for(box, Match(), timeout=0, keep=True)
    assert got is not None and (got.path, got.folder) == (str(path), "inbox")
    assert path.exists()


def test_wait_for_times_out_with_none_and_takes_nothing(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    other = put(box.inbox, uid("1a2b"), sender="gamma")
    assert wait_for(box, Match(frozenset({"alpha"})), timeout=0.05) is None
    assert other.exists()


def test_wait_for_skips_messages_that_do_not_match_and_picks_the_oldest_match(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    put(box.inbox, uid("0001"), sender="gamma", seconds=1)
    first = put(box.inbox, uid("0002"), seconds=2)
    put(box.inbox, uid("0003"), seconds=3)
    got = wait_for(box, Match(frozenset({"alpha"})), timeout=0)
    assert got is not None and got.message_id == uid("0002")
    assert not first.exists()


def test_wait_for_returns_when_stop_says_so(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    assert wait_for(box, Match(), timeout=None, stop=lambda: True) is None


def test_wait_for_wakes_for_a_message_that_arrives_later(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    results: list[Letter | None] = []
    waiter = threading.Thread(target=lambda: results.append(wait_for(box, Match(frozenset({"alpha"})), 30)))
    waiter.start()
    try:
        put(box.inbox, uid("0001"), sender="gamma")  # wakes the waiter, which goes back to sleep
        put(box.inbox, uid("0002"), sender="alpha", seconds=1)
    finally:
        waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert [r.message_id if r else None for r in results] == [uid("0002")]
    assert [x.message_id for x in mailbox.unread(box)] == [uid("0001")]


def test_wait_for_watches_an_inbox_that_is_created_while_it_waits(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    os.rmdir(box.inbox)
    results: list[Letter | None] = []
    waiter = threading.Thread(target=lambda: results.append(wait_for(box, Match(), 30)))
    waiter.start()
    try:
        put(box.inbox, uid("0001"))
    finally:
        waiter.join(timeout=30)
    assert [r.message_id if r else None for r in results] == [uid("0001")]


def test_wait_for_follows_an_inbox_that_is_replaced_while_it_waits(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    listings: list[int] = []  # ``stop`` is asked once after each listing of the inbox
    results: list[Letter | None] = []

    def stop() -> bool:
        listings.append(1)
        return False

    waiter = threading.Thread(target=lambda: results.append(wait_for(box, Match(), 60, stop=stop)), daemon=True)
    waiter.start()
    wait_until(lambda: listings)  # it watches the inbox and found nothing
    os.rename(box.inbox, box.inbox + ".old")
    wait_until(lambda: len(listings) >= 2)  # the move woke it; it listed the (missing) inbox
    os.mkdir(box.inbox)
    put(box.inbox, uid("0001"))
    waiter.join(timeout=10)
    assert not waiter.is_alive()  # it used to sleep on the old folder until its timeout
    assert [r.message_id if r else None for r in results] == [uid("0001")]


def test_concurrent_waiters_never_take_the_same_message(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    count = 6
    start = threading.Barrier(count + 1)
    results: list[Letter | None] = []
    lock = threading.Lock()

    def waiter() -> None:
        start.wait()
        got = wait_for(box, Match(), 30)
        with lock:
            results.append(got)

    threads = [threading.Thread(target=waiter) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        start.wait()
        for index in range(count):
            put(box.inbox, uid(f"{index:04d}"), seconds=index)
    finally:
        for thread in threads:
            thread.join(timeout=30)
    assert all(not t.is_alive() for t in threads)
    ids = [r.message_id for r in results if r]
    assert sorted(ids) == [uid(f"{i:04d}") for i in range(count)]  # each message exactly once
    assert mailbox.unread(box) == []
    assert len(mailbox.already_read(box)) == count


# -- views ---------------------------------------------------------------------------------------------


@pytest.fixture
def local_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC while the test runs."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class Age(NamedTuple):
    seconds: float
    text: str


@pytest.mark.parametrize("case", [Age(-5, "0s"), Age(0, "0s"), Age(59.9, "59s"), Age(60, "1m"), Age(3599, "59m"),
                                  Age(3600, "1h"), Age(86399, "23h"), Age(86400, "1d"), Age(10 * 86400, "10d")],
                         ids=lambda c: f"{c.seconds:g}")
def test_age_is_short(case: Age) -> None:
    assert views.age(case.seconds) == case.text


def test_letter_line_shows_age_sender_subject_thread_and_short_id(tmp_path: Path) -> None:
    root = uid("7e57a1b2c3")
    got = mailbox.load(str(put(tmp_path, uid("1a2b3c4d"), subject="Status", thread=root)), Folder.INBOX)
    line = views.letter_line(got, now=got.mtime + 125)
    assert line.split() == ["2m", "alpha", "Status", "7e57a1b2", "1a2b3c4d"]
    assert views.letter_line(got, now=got.mtime, show_folder=True).split()[0] == "inbox"


def test_letter_line_marks_missing_values(tmp_path: Path) -> None:
    bad = tmp_path / "20260322-143005_alpha_to_beta_0badf00d.md"
    bad.write_bytes(b"no front matter\n")
    got = mailbox.load(str(bad), Folder.INBOX)
    line = views.letter_line(got, now=got.mtime)
    assert "(unreadable: no front matter" in line
    assert line.split()[1] == "?" and line.endswith("0badf00d")
    plain = mailbox.load(str(put(tmp_path, uid("aa"), subject="")), Folder.INBOX)
    assert "(no subject)" in views.letter_line(plain)
    assert views.letter_line(plain).split()[-2] == "-"  # no thread


def test_letter_line_clips_a_long_subject_to_one_line(tmp_path: Path) -> None:
    got = mailbox.load(str(put(tmp_path, uid("aa"), subject="word " * 40)), Folder.INBOX)
    line = views.letter_line(got, now=got.mtime)
    assert "\n" not in line and "…" in line
    assert len(line) < 120


def test_letter_record_holds_every_field_and_optionally_the_body(tmp_path: Path) -> None:
    root = uid("7e57")
    path = put(tmp_path, uid("1a2b"), subject="S", thread=root, in_reply_to=root, recipients=["beta", "gamma"],
               body="the body\n")
    got = mailbox.load(str(path), Folder.READ)
    record = views.letter_record(got)
    assert record == {"id": uid("1a2b"), "from": "alpha", "to": "beta", "subject": "S",
                      "created_at": "2026-03-22T14:30:05.000Z", "thread_id": root, "in_reply_to": root,
                      "path": str(path), "folder": "read", "state": "read", "recipients": ["beta", "gamma"],
                      "front_matter": {}}
    assert views.letter_record(got, with_body=True)["body"] == "the body\n"
    assert json.loads(views.to_json(record)) == record


def test_letter_record_of_an_unreadable_file_carries_the_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.md"
    bad.write_bytes(b"nothing\n")
    record = views.letter_record(mailbox.load(str(bad), Folder.INBOX))
    assert record["error"].startswith("no front matter")
    assert record["recipients"] == [] and record["id"] == "" and record["thread_id"] == ""


def test_json_lines_is_a_json_array_and_keeps_non_ascii() -> None:
    text = views.json_lines([{"subject": "Grüße"}, {"subject": "✓"}])
    assert json.loads(text) == [{"subject": "Grüße"}, {"subject": "✓"}]
    assert "Grüße" in text
    assert json.loads(views.json_lines([])) == []


def test_raw_text_is_the_file_as_stored(tmp_path: Path) -> None:
    path = put(tmp_path, uid("aa"), body="**bold**\n")
    assert views.raw_text(mailbox.load(str(path), Folder.INBOX)) == path.read_text()


def test_header_block_lists_the_set_headers_only(tmp_path: Path) -> None:
    got = mailbox.load(str(put(tmp_path, uid("aa"), subject="Hello")), Folder.INBOX)
    lines = views.header_block(got).splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["From", "To", "Date", "Subject", "Id"]
    assert "Subject:     Hello" in lines


def test_rendered_shows_headers_and_renders_the_markdown(tmp_path: Path) -> None:
    got = mailbox.load(str(put(tmp_path, uid("aa"), subject="Hello", body="# Big title\n\n**strong** text\n")),
                       Folder.INBOX)
    out = views.rendered(got, width=80)
    assert "\x1b[" in out
    plain = ANSI.sub("", out)
    assert "Subject:     Hello" in plain and "Big title" in plain and "strong text" in plain
    assert "**" not in plain and "# Big" not in plain


def test_conversation_says_you_for_this_mailbox(tmp_path: Path, local_utc: None) -> None:
    box = make_box(tmp_path)
    root = uid("aaaa")
    put(box.inbox, root, subject="Q", body="question?\n")
    put(mailbox.sent_folder(box), uid("bbbb"), sender="beta", to="alpha", subject="Re: Q", thread=root,
        body="answer.\n", seconds=1)
    now = views.parse_time("2026-03-22T14:35:06Z")
    text = views.conversation(mailbox.thread(mailbox.everything(box), root), "beta", now=now)
    lines = text.splitlines()
    assert lines[0] == "── 2026-03-22 14:30 UTC (5 min ago)  alpha → you  Q  [aaaa0000, inbox]"  # local time: TZ=UTC
    assert lines[1] == "question?"
    assert lines[3] == "── 2026-03-22 14:30 UTC (5 min ago)  you → alpha  Re: Q  [bbbb0000, sent]"
    assert lines[4] == "answer."


# -- recipients and subjects ---------------------------------------------------------------------------


def registry(tmp_path: Path, *boxes: tuple[str, tuple[str, ...]]) -> Registry:
    return Registry(make_box(tmp_path, name, groups) for name, groups in boxes)


class Resolve(NamedTuple):
    test_id: str
    targets: list[str]
    expected: list[str]


RESOLVES = [
    Resolve("one", ["beta"], ["beta"]),
    Resolve("comma", ["beta,gamma"], ["beta", "gamma"]),
    Resolve("repeated", ["gamma", "beta"], ["gamma", "beta"]),
    Resolve("spaces-and-blanks", [" beta , ,gamma ", ""], ["beta", "gamma"]),
    Resolve("duplicates-once", ["beta,gamma", "beta"], ["beta", "gamma"]),
    Resolve("unknown-kept", ["ghost"], ["ghost"]),
    Resolve("self-by-name", ["alpha"], ["alpha"]),
    Resolve("everyone-but-me", ["*"], ["beta", "gamma", "delta"]),
    Resolve("group", ["@reviewers"], ["beta", "delta"]),
    Resolve("group-without-me", ["@ops"], ["gamma", "delta"]),
    Resolve("group-and-name", ["gamma,@reviewers", "beta"], ["gamma", "beta", "delta"]),
    Resolve("everyone-and-group", ["*", "@reviewers"], ["beta", "gamma", "delta"]),
]


@pytest.mark.parametrize("case", RESOLVES, ids=[c.test_id for c in RESOLVES])
def test_resolve_recipients_expands_lists_groups_and_everyone(tmp_path: Path, case: Resolve) -> None:
    reg = registry(tmp_path, ("alpha", ("ops",)), ("beta", ("reviewers",)), ("gamma", ("ops",)),
                   ("delta", ("reviewers", "ops")))
    assert resolve_recipients(case.targets, reg, "alpha") == case.expected


def test_resolve_everyone_lists_a_name_held_by_two_panes_once(tmp_path: Path) -> None:
    reg = Registry([make_box(tmp_path / "1", "beta"), make_box(tmp_path / "2", "beta"),
                    make_box(tmp_path / "3", "alpha")])
    assert resolve_recipients(["*"], reg, "alpha") == ["beta"]


class Empty(NamedTuple):
    test_id: str
    targets: list[str]
    message: str


NO_MEMBERS = "has no members (set @tmms_groups on their panes)"
EMPTIES = [
    Empty("unknown-group", ["@nobody"], f"no recipient: group '@nobody' {NO_MEMBERS}"),
    Empty("group-of-only-me", ["@solo"], f"no recipient: group '@solo' {NO_MEMBERS}"),
    Empty("everyone-alone", ["*"], "no recipient: '*' means every other registered pane, and there is none"),
]


@pytest.mark.parametrize("case", EMPTIES, ids=[c.test_id for c in EMPTIES])
def test_resolve_refuses_an_expansion_with_nobody_in_it(tmp_path: Path, case: Empty) -> None:
    reg = registry(tmp_path, ("alpha", ("solo",)))
    with pytest.raises(NoRecipient) as caught:
        resolve_recipients(case.targets, reg, "alpha")
    assert str(caught.value) == case.message


def test_resolve_of_only_blanks_is_empty(tmp_path: Path) -> None:
    assert resolve_recipients([",", " "], registry(tmp_path, ("alpha", ())), "alpha") == []


class Subject(NamedTuple):
    original: str
    reply: str


@pytest.mark.parametrize("case", [Subject("Status", "Re: Status"), Subject("Re: Status", "Re: Status"),
                                  Subject("RE: Status", "RE: Status"), Subject("re:Status", "re:Status"),
                                  Subject("Re: Re: x", "Re: Re: x"), Subject("", "Re:"),
                                  Subject("Regarding x", "Re: Regarding x")],
                         ids=lambda c: c.original or "empty")
def test_reply_subject_adds_re_once(case: Subject) -> None:
    assert reply_subject(case.original) == case.reply

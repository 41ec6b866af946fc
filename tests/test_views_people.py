"""The views for people and scripts, without tmux: relative and local times, links that keep their URLs, the
author's front matter in JSON (flat and bounded), a post's records."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest

from tmms import mailbox, views
from tmms.mailbox import Folder
from tmms.message import compose
from tmms.post import Posted

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def local_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class Ago(NamedTuple):
    seconds: float
    text: str


@pytest.mark.parametrize("case", [Ago(-5, "in the future"), Ago(0, "just now"), Ago(9.9, "just now"),
                                  Ago(42, "42 s ago"), Ago(300, "5 min ago"), Ago(3 * 3600, "3 h ago"),
                                  Ago(86400, "1 day ago"), Ago(2 * 86400 + 5, "2 days ago")],
                         ids=lambda c: f"{c.seconds:g}")
def test_ago_says_how_long_ago_in_words(case: Ago) -> None:
    assert views.ago(case.seconds) == case.text


def test_local_time_is_local_and_relative(local_utc: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stamp = "2026-03-22T14:30:05.000Z"
    now = datetime(2026, 3, 22, 14, 35, 5, tzinfo=UTC).timestamp()
    assert views.local_time(stamp, now) == "2026-03-22 14:30 UTC (5 min ago)"
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    assert views.local_time(stamp, now) == "2026-03-22 23:30 JST (5 min ago)"
    assert views.local_time("not a time", now) == "not a time"
    assert views.parse_time("2026-03-22T14:30:05") == views.parse_time(stamp)  # no zone: UTC, as tmms writes


def write(folder: Path, body: str, front: str = "", subject: str = "Links") -> Path:
    moment = datetime(2026, 3, 22, 14, 30, 5, tzinfo=UTC)
    composed = compose(f"---\n{front}---\n{body}" if front else body, "alpha", "beta", subject, moment=moment)
    path = folder / composed.file_name
    path.write_text(composed.text, encoding="utf-8")
    return path


def test_rendered_links_keep_their_urls_and_images_their_targets(tmp_path: Path) -> None:
    body = ("Read [the docs](https://example.com/docs?a=1) and ![a diagram](https://example.com/d.png) "
            "and ![](https://example.com/bare.png) today.\n")
    letter = mailbox.load(str(write(tmp_path, body)), Folder.INBOX)
    plain = ANSI.sub("", views.rendered(letter, width=200))
    assert "the docs (https://example.com/docs?a=1)" in plain
    assert "a diagram (https://example.com/d.png)" in plain and "(https://example.com/bare.png)" in plain
    assert plain.index("Read") < plain.index("a diagram") < plain.index("today")  # in the line they stand in
    assert "\x1b]8;" not in views.rendered(letter, width=200)  # no hidden OSC 8 hyperlink
    assert "\x1b[" not in views.rendered(letter, width=200, color=False)


def test_header_block_shows_the_date_in_local_time(tmp_path: Path, local_utc: None) -> None:
    letter = mailbox.load(str(write(tmp_path, "x\n")), Folder.INBOX)
    now = datetime(2026, 3, 24, 14, 30, 5, tzinfo=UTC).timestamp()
    assert "Date:        2026-03-22 14:30 UTC (2 days ago)" in views.header_block(letter, now).splitlines()


def test_front_matter_is_flat_and_bounded(tmp_path: Path) -> None:
    keys = "".join(f"k{n}: v\n" for n in range(100))
    front = (f"priority: 2\nlabels: [a, b]\nempty:\nnested: {{a: b}}\nlists: [[a]]\nmixed: [a, {{b: c}}]\n"
             f"long: {'x' * 5000}\nmany: [{', '.join('x' * 100)}]\n{keys}")
    letter = mailbox.load(str(write(tmp_path, "x\n", front)), Folder.INBOX)
    record = views.letter_record(letter)
    extra = record["front_matter"]
    assert list(extra)[:4] == ["priority", "labels", "empty", "k0"]
    assert (extra["priority"], extra["labels"], extra["empty"]) == ("2", ["a", "b"], "")
    assert not {"nested", "lists", "mixed", "long", "many"} & set(extra)
    assert len(extra) == views.MAX_EXTRA_KEYS
    assert not any(key.startswith("tmms_") for key in extra)


def test_a_posts_record_without_its_sent_copy_keeps_what_the_post_knows(tmp_path: Path) -> None:
    posted = Posted([str(tmp_path / "outbox" / "x.md")], ["1a2b"], ["beta"], [], "")
    (record,) = views.posted_records(posted)
    assert (record["id"], record["thread_id"], record["to"], record["recipients"]) == ("1a2b", "1a2b", "beta",
                                                                                      ["beta"])
    assert (record["state"], record["folder"], record["path"]) == ("queued", "outbox", posted.paths[0])

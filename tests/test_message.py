"""Messages: the merge rule, ids, file names and reading the routing headers back."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

import pytest

from tmms import frontmatter, message
from tmms.errors import MessageError

MOMENT = datetime(2024, 3, 5, 7, 8, 9, 123456, tzinfo=UTC)
MESSAGE_ID = "12345678-abcd-4000-8000-0000000000ff"

AUTHOR_SOURCE = """\
---
# the author's notes
title: x  # keep this comment
tmms_id: forged-id
priority: 007
tmms_from: evil
tags:
  - a
  - b
tmms_custom: dropped too
date: 2024-01-01
---
Hello
---
not front matter
"""


def _compose(source: str = AUTHOR_SOURCE, subject: str | None = "Hi", **kwargs: object) -> message.Composed:
    kwargs.setdefault("message_id", MESSAGE_ID)
    kwargs.setdefault("moment", MOMENT)
    return message.compose(source, "alice", "bob", subject, **kwargs)  # type: ignore[arg-type]


def _front_matter(text: str) -> str:
    fm = frontmatter.split(text).front_matter
    assert fm is not None
    return fm


# --- compose -----------------------------------------------------------------------------------


def test_compose_generates_the_tmms_keys_first() -> None:
    composed = _compose()
    head = _front_matter(composed.text).splitlines()[:5]
    assert head == [
        f"tmms_id: {MESSAGE_ID}",
        "tmms_from: alice",
        "tmms_to: bob",
        'tmms_created_at: "2024-03-05T07:08:09.123Z"',
        "tmms_subject: Hi",
    ]


def test_compose_keeps_author_keys_verbatim_and_replaces_author_tmms_keys() -> None:
    fm = _front_matter(_compose().text)
    author = "".join(line for line in fm.splitlines(keepends=True) if not line.startswith("tmms_"))
    assert author == (
        "# the author's notes\ntitle: x  # keep this comment\npriority: 007\ntags:\n  - a\n  - b\ndate: 2024-01-01\n"
    )
    data = frontmatter.load(fm)
    assert data["tmms_id"] == MESSAGE_ID
    assert data["tmms_from"] == "alice"
    assert "tmms_custom" not in data
    assert "forged-id" not in fm and "evil" not in fm


def test_compose_keeps_the_body_byte_for_byte() -> None:
    assert frontmatter.split(_compose().text).body == "Hello\n---\nnot front matter\n"


def test_compose_without_front_matter_uses_the_whole_text_as_body() -> None:
    composed = _compose("plain body\n\nwith lines\n")
    assert composed.text == (
        f"---\ntmms_id: {MESSAGE_ID}\ntmms_from: alice\ntmms_to: bob\n"
        'tmms_created_at: "2024-03-05T07:08:09.123Z"\ntmms_subject: Hi\n---\nplain body\n\nwith lines\n'
    )


def test_compose_omits_the_subject_when_none() -> None:
    composed = _compose("---\ntmms_subject: from the author\n---\nx", subject=None)
    data = frontmatter.load(_front_matter(composed.text))
    assert "tmms_subject" not in data
    assert message.read_headers(composed.text).subject == ""


def test_compose_keeps_an_empty_subject() -> None:
    composed = _compose("x", subject="")
    assert frontmatter.load(_front_matter(composed.text))["tmms_subject"] == ""


def test_compose_writes_thread_reply_and_recipients() -> None:
    composed = _compose("x", thread_id="t-1", in_reply_to="r-1", recipients=["bob", "carol"])
    headers = message.read_headers(composed.text)
    assert (headers.thread_id, headers.in_reply_to) == ("t-1", "r-1")
    assert headers.data["tmms_recipients"] == ["bob", "carol"]
    assert headers.recipients == ["bob"]


def test_compose_leaves_out_empty_thread_reply_and_single_recipient() -> None:
    composed = _compose("x", thread_id="", in_reply_to=None, recipients=["bob"])
    data = frontmatter.load(_front_matter(composed.text))
    assert sorted(data) == ["tmms_created_at", "tmms_from", "tmms_id", "tmms_subject", "tmms_to"]


def test_compose_quotes_hostile_values_so_they_load_back() -> None:
    subject = "a: b\n---\ntmms_to: mallory # x"
    composed = message.compose("x", "al: ice", "bob", subject, moment=MOMENT, recipients=["bob", "[c]", "d: e"])
    headers = message.read_headers(composed.text)
    assert (headers.sender, headers.recipients, headers.subject) == ("al: ice", ["bob"], subject)
    assert headers.data["tmms_recipients"] == ["bob", "[c]", "d: e"]
    assert frontmatter.split(composed.text).body == "x"


def test_compose_returns_id_file_name_and_recipient() -> None:
    composed = _compose("x")
    assert composed.message_id == MESSAGE_ID
    assert composed.recipient == "bob"
    assert composed.file_name == "20240305-070809_alice_to_bob_12345678.md"


def test_compose_makes_a_fresh_uuid4_id_by_default() -> None:
    first = message.compose("x", "a", "b")
    second = message.compose("x", "a", "b")
    assert first.message_id != second.message_id
    parsed = uuid.UUID(first.message_id)
    assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
    assert str(parsed) == first.message_id
    assert message.read_headers(first.text).message_id == first.message_id


@pytest.mark.parametrize(
    "name", ["c, d", "c,d", "[c]", "c]", "{c}", "c #d", "c: d", "#c"],
    ids=["comma_space", "comma", "brackets", "close_bracket", "braces", "comment", "colon", "hash"],
)
def test_compose_recipients_with_a_comma_load_back(name: str) -> None:
    composed = _compose("x", recipients=["bob", name])
    assert message.read_headers(composed.text).data["tmms_recipients"] == ["bob", name]


@pytest.mark.parametrize("source", ["---\na: [\n---\nx", "---\n- a\n---\nx", "---\na: 1\n", "---js\nx\n---\n"])
def test_compose_refuses_invalid_front_matter(source: str) -> None:
    with pytest.raises(MessageError):
        message.compose(source, "a", "b")


# --- ids, timestamps, file names ---------------------------------------------------------------


def test_iso_timestamp_is_utc_with_milliseconds() -> None:
    tokyo = datetime(2024, 1, 1, 8, 0, 0, 999999, tzinfo=timezone(timedelta(hours=9)))
    assert message.iso_timestamp(tokyo) == "2023-12-31T23:00:00.999Z"


def test_utc_now_has_whole_milliseconds() -> None:
    now = message.utc_now()
    assert now.tzinfo == UTC
    assert now.microsecond % 1000 == 0


class FileNameCase(NamedTuple):
    test_id: str
    moment: datetime
    sender: str
    recipient: str
    message_id: str
    expected: str


FILE_NAME_CASES = [
    FileNameCase("utc", MOMENT, "alice", "bob", MESSAGE_ID, "20240305-070809_alice_to_bob_12345678.md"),
    FileNameCase(
        "converted_to_utc",
        datetime(2024, 1, 1, 8, 30, 5, tzinfo=timezone(timedelta(hours=9))),
        "a", "b", "abcdef01-2345-4678-9abc-def012345678",
        "20231231-233005_a_to_b_abcdef01.md",
    ),
    FileNameCase("short_first_group", MOMENT, "a", "b", "ab-cd-ef-12-34", "20240305-070809_a_to_b_abcdef12.md"),
    FileNameCase(
        "sanitised_names", MOMENT, "../evil one", "x/y", MESSAGE_ID, "20240305-070809_-evil-one_to_x-y_12345678.md"
    ),
]


@pytest.mark.parametrize("case", FILE_NAME_CASES, ids=[c.test_id for c in FILE_NAME_CASES])
def test_file_name_format(case: FileNameCase) -> None:
    assert message.file_name(case.moment, case.sender, case.recipient, case.message_id) == case.expected


def test_file_name_of_a_fresh_message_matches_the_pattern() -> None:
    composed = message.compose("x", "alice", "bob")
    assert re.fullmatch(r"\d{8}-\d{6}_alice_to_bob_[0-9a-f]{8}\.md", composed.file_name)
    assert composed.file_name.endswith(composed.message_id.replace("-", "")[:8] + ".md")


class NamePartCase(NamedTuple):
    test_id: str
    address: str
    expected: str


NAME_PART_CASES = [
    NamePartCase("plain", "agent-alpha", "agent-alpha"),
    NamePartCase("slash", "a/b", "a-b"),
    NamePartCase("spaces", "a b  c", "a-b--c"),
    NamePartCase("leading_dot", ".hidden", "hidden"),
    NamePartCase("leading_dots_and_slash", "../x", "-x"),
    NamePartCase("only_dots", "...", "unknown"),
    NamePartCase("empty", "", "unknown"),
    NamePartCase("keeps_at_plus_dot", "me+x@host.dom", "me+x@host.dom"),
    NamePartCase("unicode_letters", "名前", "名前"),
    NamePartCase("backslash_and_colon", "a\\b:c", "a-b-c"),
    NamePartCase("newline", "a\nb", "a-b"),
]


@pytest.mark.parametrize("case", NAME_PART_CASES, ids=[c.test_id for c in NAME_PART_CASES])
def test_name_part_sanitises(case: NamePartCase) -> None:
    assert message.name_part(case.address) == case.expected


# --- read_headers ------------------------------------------------------------------------------


def test_read_headers_reads_every_tmms_field() -> None:
    text = (
        "---\ntmms_id: id-1\ntmms_from: alice\ntmms_to: bob\ntmms_created_at: 2024-01-01T00:00:00.000Z\n"
        "tmms_subject: 007\ntmms_thread_id: t\ntmms_in_reply_to: r\nother: yes\n---\nbody"
    )
    headers = message.read_headers(text)
    assert headers == message.Headers(
        message_id="id-1", sender="alice", recipients=["bob"], created_at="2024-01-01T00:00:00.000Z",
        subject="007", thread_id="t", in_reply_to="r",
        data={
            "tmms_id": "id-1", "tmms_from": "alice", "tmms_to": "bob", "tmms_created_at": "2024-01-01T00:00:00.000Z",
            "tmms_subject": "007", "tmms_thread_id": "t", "tmms_in_reply_to": "r", "other": "yes",
        },
    )
    assert headers.recipient == "bob"


class RecipientCase(NamedTuple):
    test_id: str
    to_line: str
    expected: list[str]


RECIPIENT_CASES = [
    RecipientCase("string", "tmms_to: bob", ["bob"]),
    RecipientCase("flow_list", "tmms_to: [bob, carol]", ["bob", "carol"]),
    RecipientCase("block_list", "tmms_to:\n  - bob\n  - carol", ["bob", "carol"]),
    RecipientCase("list_skips_empty_and_nested", "tmms_to: [bob, '', [x], {k: v}]", ["bob"]),
    RecipientCase("empty_string", "tmms_to: ''", []),
    RecipientCase("missing", "other: 1", []),
    RecipientCase("mapping", "tmms_to: {a: b}", []),
]


@pytest.mark.parametrize("case", RECIPIENT_CASES, ids=[c.test_id for c in RECIPIENT_CASES])
def test_read_headers_recipients(case: RecipientCase) -> None:
    headers = message.read_headers(f"---\n{case.to_line}\n---\n")
    assert headers.recipients == case.expected
    assert headers.recipient == (case.expected[0] if case.expected else "")


def test_read_headers_non_string_fields_become_empty() -> None:
    headers = message.read_headers("---\ntmms_from: [a]\ntmms_subject: {k: v}\n---\n")
    assert (headers.sender, headers.subject, headers.message_id) == ("", "", "")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no front matter here\n", "no front matter"),
        ("", "no front matter"),
        ("---\ntmms_to: bob\n", "not closed"),
        ("---\ntmms_to: [bob\n---\n", "malformed YAML"),
        ("---\n- bob\n---\n", "not a mapping"),
    ],
    ids=["plain_text", "empty", "unclosed", "malformed", "list"],
)
def test_read_headers_of_an_invalid_message_is_a_message_error(text: str, reason: str) -> None:
    with pytest.raises(MessageError, match=reason):
        message.read_headers(text)


# --- replace_sender ----------------------------------------------------------------------------


def test_replace_sender_keeps_every_other_byte() -> None:
    text = _compose().text
    replaced = message.replace_sender(text, "mallory")
    before, after = text.splitlines(keepends=True), replaced.splitlines(keepends=True)
    assert len(before) == len(after)
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert changed == [("tmms_from: alice\n", "tmms_from: mallory\n")]


def test_replace_sender_adds_a_missing_sender() -> None:
    replaced = message.replace_sender("---\ntmms_id: x\nz: 1 # c\n---\nbody\n", "me")
    assert replaced == "---\ntmms_id: x\nz: 1 # c\ntmms_from: me\n---\nbody\n"


def test_replace_sender_quotes_a_hostile_sender() -> None:
    replaced = message.replace_sender("---\ntmms_from: a\ntmms_to: b\n---\nbody", "x\ntmms_to: mallory")
    headers = message.read_headers(replaced)
    assert (headers.sender, headers.recipients) == ("x\ntmms_to: mallory", ["b"])


def test_replace_sender_without_front_matter_is_a_message_error() -> None:
    with pytest.raises(MessageError):
        message.replace_sender("just a body\n", "me")


def test_replace_sender_keeps_crlf_fences() -> None:
    text = "---\r\ntmms_from: x\r\nz: 1\r\n---\r\nbody\r\n"
    assert message.replace_sender(text, "me") == "---\r\ntmms_from: me\r\nz: 1\r\n---\r\nbody\r\n"


class ReplaceSenderCase(NamedTuple):
    test_id: str
    text: str
    expected: str


REPLACE_SENDER_CASES = [
    ReplaceSenderCase("crlf_added_line", "---\r\nz: 1\r\n---\r\nb\r\n", "---\r\nz: 1\r\ntmms_from: me\r\n---\r\nb\r\n"),
    ReplaceSenderCase("crlf_empty_front_matter", "---\r\n---\r\nb", "---\r\ntmms_from: me\r\n---\r\nb"),
    ReplaceSenderCase("bom", "\ufeff---\ntmms_from: x\n---\nb", "\ufeff---\ntmms_from: me\n---\nb"),
    ReplaceSenderCase("dots_close_fence", "---\ntmms_from: x\n...\nb", "---\ntmms_from: me\n...\nb"),
    ReplaceSenderCase("spaces_after_fences", "--- \ntmms_from: x\n---\t\nb", "--- \ntmms_from: me\n---\t\nb"),
    ReplaceSenderCase("close_fence_at_the_end", "---\ntmms_from: x\n---", "---\ntmms_from: me\n---"),
    ReplaceSenderCase(
        "block_sender_then_comment", "---\ntmms_from:\n  - x\n# c\nz: 1\n---\n", "---\ntmms_from: me\n# c\nz: 1\n---\n"
    ),
]


@pytest.mark.parametrize("case", REPLACE_SENDER_CASES, ids=[c.test_id for c in REPLACE_SENDER_CASES])
def test_replace_sender_keeps_fences_bom_and_line_endings(case: ReplaceSenderCase) -> None:
    assert message.replace_sender(case.text, "me") == case.expected


def test_compose_stamps_now_the_same_way_as_a_given_moment() -> None:
    composed = message.compose("x", "a", "b")
    created = message.read_headers(composed.text).created_at
    moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert composed.file_name == message.file_name(moment, "a", "b", composed.message_id)
    assert message.iso_timestamp(moment) == created

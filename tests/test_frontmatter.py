"""Front matter: splitting at fences, data-only loading, text-preserving edits, scalar quoting."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tmms import frontmatter
from tmms.errors import MessageError

# Characters that YAML forbids raw in a stream (DEL, C1 controls, U+FFFE/U+FFFF) and those that
# YAML reads as line breaks (NEL, LS, PS). scalar() must escape both groups.
YAML_NON_PRINTABLE = "".join(chr(c) for c in [0x7F, *range(0x80, 0x85), *range(0x86, 0xA0), 0xFFFE, 0xFFFF])
YAML_LINE_BREAKS = "\x85\u2028\u2029"
# Anything a UTF-8 file can hold (so no lone surrogates) except the two groups above.
YAML_SAFE_CHARACTERS = st.characters(codec="utf-8", exclude_characters=YAML_NON_PRINTABLE + YAML_LINE_BREAKS)


# --- split -------------------------------------------------------------------------------------


class SplitCase(NamedTuple):
    test_id: str
    text: str
    front_matter: str | None
    body: str


SPLIT_CASES = [
    SplitCase("plain", "---\na: 1\n---\nbody\n", "a: 1\n", "body\n"),
    SplitCase("no_front_matter", "just a body\n---\nx: 1\n", None, "just a body\n---\nx: 1\n"),
    SplitCase("empty_text", "", None, ""),
    SplitCase("crlf", "---\r\na: 1\r\n---\r\nbody\r\n", "a: 1\r\n", "body\r\n"),
    SplitCase("bom", "\ufeff---\na: b\n---\nx", "a: b\n", "x"),
    SplitCase("bom_without_front_matter", "\ufeffhello", None, "hello"),
    SplitCase("empty_front_matter", "---\n---\nbody", "", "body"),
    SplitCase("dots_close", "---\na: 1\n...\nbody", "a: 1\n", "body"),
    SplitCase("trailing_space_on_fences", "--- \na: 1\n---\t\nbody", "a: 1\n", "body"),
    SplitCase("close_without_newline", "---\na: 1\n---", "a: 1\n", ""),
    SplitCase("body_keeps_later_fences", "---\na: 1\n---\nx\n---\ny\n", "a: 1\n", "x\n---\ny\n"),
    SplitCase("five_dashes_is_not_a_fence", "-----\na: 1\n", None, "-----\na: 1\n"),
]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=[c.test_id for c in SPLIT_CASES])
def test_split_finds_front_matter_and_body(case: SplitCase) -> None:
    doc = frontmatter.split(case.text)
    assert (doc.front_matter, doc.body) == (case.front_matter, case.body)


@pytest.mark.parametrize("text", ["---\na: 1\n", "---\na: 1\nbody\n", "---", "---\n"])
def test_unclosed_front_matter_is_a_message_error(text: str) -> None:
    with pytest.raises(MessageError, match="not closed"):
        frontmatter.split(text)


@pytest.mark.parametrize("fence", ["---js", "---javascript", "---coffee", "---json", "---js  "])
def test_engine_fence_is_refused(fence: str) -> None:
    text = f"{fence}\n{{ toString: function () {{ throw new Error('ran') }} }}\n---\nbody\n"
    with pytest.raises(MessageError, match="not supported") as info:
        frontmatter.split(text)
    assert fence.strip()[3:] in str(info.value)


def test_engine_fence_is_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "X"
    code = f"require('fs').writeFileSync({str(marker)!r}, 'ran'); module.exports = {{a: 1}}"
    with pytest.raises(MessageError):
        frontmatter.split(f"---js\n{code}\n---\nbody\n")
    assert not marker.exists()


# --- load --------------------------------------------------------------------------------------


def test_load_keeps_every_scalar_a_string() -> None:
    data = frontmatter.load("a: 007\nb: 2024-01-01\nc: yes\nd: 1.5\ne: null\nf: ~\ng: true\nh: 0x1F\n")
    assert data == {
        "a": "007", "b": "2024-01-01", "c": "yes", "d": "1.5", "e": "null", "f": "~", "g": "true", "h": "0x1F",
    }


def test_load_keeps_nested_scalars_strings() -> None:
    data = frontmatter.load("list: [1, no, 2024-01-01]\nmap:\n  n: 10\n  b: off\n")
    assert data == {"list": ["1", "no", "2024-01-01"], "map": {"n": "10", "b": "off"}}


@pytest.mark.parametrize("text", [None, "", "   \n", "# just a comment\n"])
def test_load_of_nothing_is_an_empty_mapping(text: str | None) -> None:
    assert frontmatter.load(text) == {}


@pytest.mark.parametrize(
    ("text", "kind"),
    [("- a\n- b\n", "list"), ("just text\n", "str"), ("[1, 2]\n", "list")],
    ids=["block_list", "plain_string", "flow_list"],
)
def test_non_mapping_front_matter_is_a_message_error(text: str, kind: str) -> None:
    with pytest.raises(MessageError, match=f"is a {kind}, not a mapping"):
        frontmatter.load(text)


@pytest.mark.parametrize(
    "text",
    ["a: [\n", "a: 'open\n", "a: b: c\n", "a: 1\n a: 2\n  - x\n", "key: @bad\n", "x: *undefined\n"],
    ids=["open_flow", "open_quote", "nested_colon", "bad_indent", "reserved_indicator", "unknown_alias"],
)
def test_malformed_yaml_is_a_message_error(text: str) -> None:
    with pytest.raises(MessageError, match="malformed YAML"):
        frontmatter.load(text)


def _plain_data(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_data(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_data(v) for v in value)
    return isinstance(value, str)


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {x}']",
        "!!python/object/new:subprocess.Popen [['touch', '{x}']]",
        "!!python/object:builtins.dict {{}}",
        "!!python/name:os.system",
        "!!binary aGVsbG8=",
    ],
)
def test_python_tags_produce_no_objects(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "X"
    text = f"evil: {tag.format(x=marker)}\nok: 1\n"
    data = frontmatter.load(text)
    assert _plain_data(data)
    assert data["ok"] == "1"
    assert not marker.exists()
    assert frontmatter.without_system_keys(text + "tmms_id: x\n") == text
    assert not marker.exists()


# --- without_system_keys -----------------------------------------------------------------------

AUTHOR_TEXT = """\
# a comment at the top
title:   "Hello"   # trailing comment
list:
  - one
  - two   # item comment
block: |
  line1

  line2
folded: >-
  a
  b
nested:
  k: v
  deeper:
    k2: [1, 2]
"quoted key": 'x'
'single: quoted': "y"
empty:
anchor: &a 1
alias: *a
last: z
"""


def test_without_system_keys_keeps_author_text_byte_for_byte() -> None:
    assert frontmatter.without_system_keys(AUTHOR_TEXT) == AUTHOR_TEXT


def test_without_system_keys_drops_interleaved_tmms_entries() -> None:
    lines = AUTHOR_TEXT.splitlines(keepends=True)
    system = [
        "tmms_id: forged\n",
        "tmms_to:\n  - a\n  - b\n",
        "tmms_subject: >\n  folded\n  text\n",
        "tmms_body: |\n  x\n\n  y\n",
        "tmms_from: {k: v,\n  k2: w}\n",
        "tmms_created_at: plain\n  continued\n",
        "tmms_custom:\n  nested: 1\n  more: [2, 3]\n",
    ]
    mixed = ""
    for i, line in enumerate(lines):
        mixed += line
        if i in (1, 4, 8, 11, 15, 16, 18):
            mixed += system.pop(0)
    assert not system
    assert frontmatter.without_system_keys(mixed) == AUTHOR_TEXT


class DropCase(NamedTuple):
    test_id: str
    text: str
    expected: str


DROP_CASES = [
    DropCase("only_system", "tmms_id: a\ntmms_from: b\n", ""),
    DropCase("first", "tmms_id: a\nx: 1\n", "x: 1\n"),
    DropCase("last_without_newline", "a: 1\ntmms_x: y", "a: 1\n"),
    DropCase("comment_after_scalar_entry", "tmms_x: y\n# c\nb: 2\n", "# c\nb: 2\n"),
    DropCase("comment_on_system_line", "tmms_x: y # about tmms_x\nb: 2\n", "b: 2\n"),
    DropCase("crlf", "b: 2\r\ntmms_x: 1\r\nc: 3\r\n", "b: 2\r\nc: 3\r\n"),
    DropCase("explicit_key", "? tmms_x\n: v\nb: 2\n", "b: 2\n"),
    DropCase("prefix_in_value_only", "note: tmms_id\n", "note: tmms_id\n"),
    DropCase("prefix_not_at_start", "my_tmms_id: 1\nTMMS_ID: 2\n", "my_tmms_id: 1\nTMMS_ID: 2\n"),
    DropCase("nested_tmms_key_is_not_top_level", "meta:\n  tmms_id: keep\n", "meta:\n  tmms_id: keep\n"),
    DropCase("adds_final_newline", "a: 1", "a: 1\n"),
    DropCase("comment_only", "# only comment\n", "# only comment\n"),
    DropCase("indentless_sequence", "tmms_to:\n- a\n- b\n# c\nb: 2\n", "# c\nb: 2\n"),
    DropCase("indented_comment_belongs_to_the_value", "tmms_to:\n  - a\n  # more a\n# c\nb: 2\n", "# c\nb: 2\n"),
    DropCase("comment_inside_the_value", "tmms_to:\n  - a\n# between\n  - b\nb: 2\n", "b: 2\n"),
    DropCase("top_comment_then_indented_comment", "tmms_to:\n  - a\n# c\n  # d\nb: 2\n", "# c\n  # d\nb: 2\n"),
    DropCase("blank_line_after_scalar_entry", "a: 1\ntmms_x: y\n\nb: 2\n", "a: 1\n\nb: 2\n"),
    DropCase("blank_line_after_block_entry", "a: 1\ntmms_to:\n  - a\n\nb: 2\n", "a: 1\n\nb: 2\n"),
    DropCase("blank_line_after_clipped_block_scalar", "tmms_b: |\n  x\n\n# c\nb: 2\n", "\n# c\nb: 2\n"),
    DropCase("blank_lines_kept_by_block_scalar", "tmms_b: |+\n  x\n\nb: 2\n", "b: 2\n"),
    DropCase("comment_like_block_scalar_lines", "tmms_b: >-\n  x\n  # text\n# c\nb: 2\n", "# c\nb: 2\n"),
    DropCase("empty_value_then_comment", "tmms_e:\n# c\nb: 2\n", "# c\nb: 2\n"),
    DropCase("comment_between_tmms_entries", "tmms_a:\n  - 1\n# c\ntmms_b:\n  k: v\n# d\n", "# c\n# d\n"),
    DropCase("block_entry_at_the_end", "a: 1\ntmms_to:\n  - a\n  - b", "a: 1\n"),
    DropCase("nested_block_value", "tmms_m:\n  k:\n    - 1\n# c\nb: 2\n", "# c\nb: 2\n"),
    DropCase("alias_value", "a: &x\n  - 1\ntmms_y: *x\nb: *x\n", "a: &x\n  - 1\nb: *x\n"),
    DropCase("crlf_block_entry", "tmms_to:\r\n  - a\r\n# c\r\nb: 2\r\n", "# c\r\nb: 2\r\n"),
    DropCase("indented_mapping", "  a: 1\n  tmms_to:\n    - a\n  # c\n  b: 2\n", "  a: 1\n  # c\n  b: 2\n"),
]


@pytest.mark.parametrize("case", DROP_CASES, ids=[c.test_id for c in DROP_CASES])
def test_without_system_keys_drops_exactly_the_tmms_entries(case: DropCase) -> None:
    assert frontmatter.without_system_keys(case.text) == case.expected


@pytest.mark.parametrize("case", DROP_CASES, ids=[c.test_id for c in DROP_CASES])
def test_without_system_keys_is_the_same_with_the_pure_python_loader(
    case: DropCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(yaml, "CBaseLoader", raising=False)
    assert frontmatter.without_system_keys(case.text) == case.expected


@pytest.mark.parametrize("text", [None, ""])
def test_without_system_keys_of_nothing_is_empty(text: str | None) -> None:
    assert frontmatter.without_system_keys(text) == ""


def test_without_system_keys_of_flow_mapping_keeps_the_data() -> None:
    kept = frontmatter.without_system_keys("{a: 007, tmms_x: 2, b: [yes]}\n")
    assert frontmatter.load(kept) == {"a": "007", "b": ["yes"]}


@pytest.mark.parametrize(
    "system",
    ["tmms_to:\n  - a\n", "tmms_meta:\n  k: v\n"],
    ids=["block_sequence", "block_mapping"],
)
def test_comment_after_a_block_tmms_entry_is_kept(system: str) -> None:
    text = f"a: 1\n{system}# about b\nb: 2\n"
    assert frontmatter.without_system_keys(text) == "a: 1\n# about b\nb: 2\n"


def test_without_system_keys_rejects_malformed_yaml() -> None:
    with pytest.raises(MessageError, match="malformed YAML"):
        frontmatter.without_system_keys("a: [\n")


def test_without_system_keys_rejects_a_list() -> None:
    with pytest.raises(MessageError, match="not a mapping"):
        frontmatter.without_system_keys("- tmms_id\n- b\n")


# --- replace_key -------------------------------------------------------------------------------


def test_replace_key_changes_only_that_entry_in_place() -> None:
    text = "# head\ntitle: x  # keep\ntmms_from: someone\nlist:\n  - 1\n"
    assert frontmatter.replace_key(text, "tmms_from", "me") == "# head\ntitle: x  # keep\ntmms_from: me\nlist:\n  - 1\n"


def test_replace_key_replaces_a_multi_line_entry() -> None:
    text = "a: 1\ntmms_from: >\n  old\n  name\nb: 2\n"
    assert frontmatter.replace_key(text, "tmms_from", "new") == "a: 1\ntmms_from: new\nb: 2\n"


def test_replace_key_appends_a_missing_key() -> None:
    assert frontmatter.replace_key("a: 1\n", "tmms_from", "x y") == "a: 1\ntmms_from: x y\n"


def test_replace_key_quotes_values_that_need_it() -> None:
    replaced = frontmatter.replace_key("a: 1\n", "tmms_from", "evil: [x]\nb: 2")
    assert frontmatter.load(replaced) == {"a": "1", "tmms_from": "evil: [x]\nb: 2"}


def test_replace_key_uses_the_front_matter_line_ending() -> None:
    text = "a: 1\r\ntmms_from: x\r\nb: 2\r\n"
    assert frontmatter.replace_key(text, "tmms_from", "me") == "a: 1\r\ntmms_from: me\r\nb: 2\r\n"
    assert frontmatter.replace_key("a: 1\r\n", "tmms_from", "me") == "a: 1\r\ntmms_from: me\r\n"


def test_replace_key_takes_a_line_ending_for_empty_front_matter() -> None:
    assert frontmatter.replace_key("", "tmms_from", "me", newline="\r\n") == "tmms_from: me\r\n"
    assert frontmatter.replace_key("", "tmms_from", "me") == "tmms_from: me\n"


def test_replace_key_leaves_other_tmms_keys() -> None:
    text = "tmms_id: 1\ntmms_from: a\ntmms_to: b\n"
    assert frontmatter.replace_key(text, "tmms_from", "c") == "tmms_id: 1\ntmms_from: c\ntmms_to: b\n"


# --- scalar ------------------------------------------------------------------------------------


def _round_trip(value: str) -> Any:
    return yaml.safe_load(f"k: {frontmatter.scalar(value)}")["k"]


@pytest.mark.parametrize(
    "value",
    [
        "", " ", "plain", "007", "2024-01-01", "2024-01-01T10:00:00Z", "yes", "No", "ON", "null", "~", "true",
        "1.5", "1e5", ".inf", "-.nan", "0x1F", "0o17", "0b101", "1_000", "1:20", "+1", "-", "a: b", "a #b",
        "#x", "&anchor", "*alias", "!tag", "|", ">", "'", '"', "[x]", "{x}", "@at", "`tick`", "%percent",
        "trailing ", " leading", "tab\there", "multi\nline", "\n", "back\\slash", "ünïcødé", "名前", "😀",
        "a/b c", "x,y", "- item", "? key", "<<", "=", "\ufeffbom", "\x00nul", "\x1bescape",
    ],
)
def test_scalar_loads_back_as_the_same_string(value: str) -> None:
    assert _round_trip(value) == value


def test_scalar_leaves_simple_names_plain() -> None:
    assert [frontmatter.scalar(v) for v in ["alice", "agent-1", "a/b c", "x@y"]] == ["alice", "agent-1", "a/b c", "x@y"]


@settings(max_examples=400, deadline=None, database=None)
@given(st.text(alphabet=YAML_SAFE_CHARACTERS))
@example("")
@example("yes")
@example("2024-01-01")
def test_scalar_round_trips_through_safe_load(value: str) -> None:
    assert _round_trip(value) == value


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(alphabet=YAML_SAFE_CHARACTERS))
def test_replace_key_value_loads_back_through_tmms_loader(value: str) -> None:
    replaced = frontmatter.replace_key("a: 1\ntmms_from: old\n", "tmms_from", value)
    assert frontmatter.load(replaced) == {"a": "1", "tmms_from": value}


@pytest.mark.parametrize("value", ["\x85", "a\u2028 b", "\u2029 x"], ids=["nel", "line_separator", "para_separator"])
def test_scalar_round_trips_yaml_line_break_characters(value: str) -> None:
    assert _round_trip(value) == value


@pytest.mark.parametrize("value", ["\x7f", "a\x80b", "\x9f", "\ufffe"], ids=["del", "c1_low", "c1_high", "fffe"])
def test_scalar_round_trips_characters_yaml_must_escape(value: str) -> None:
    assert _round_trip(value) == value


@settings(max_examples=400, deadline=None, database=None)
@given(st.text(alphabet=st.characters(codec="utf-8")))
@example("\x85\u2028\u2029\x7f\x80\x9f\ufeff\ufffe\uffff\x00\x1b\t")
def test_scalar_round_trips_any_utf8_text_through_both_loaders(value: str) -> None:
    rendered = f"k: {frontmatter.scalar(value)}\n"
    assert yaml.safe_load(rendered)["k"] == value
    assert frontmatter.load(rendered)["k"] == value


def test_scalar_keeps_printable_unicode_readable() -> None:
    assert frontmatter.scalar("héllo: 名前 😀") == '"héllo: 名前 😀"'
    assert frontmatter.scalar("\x85\u2028\u2029\x7f\ufeff") == '"\\N\\L\\P\\x7F\\uFEFF"'


def test_scalar_turns_a_lone_surrogate_into_the_replacement_character() -> None:
    assert _round_trip("a\udcffb") == "a\ufffdb"


@pytest.mark.parametrize("value", ["x,y", "c, d", "[a]", "{a}", "a]", "#x", "a #b", "a: b", "a b", ""])
def test_flow_scalar_loads_back_inside_a_flow_sequence(value: str) -> None:
    rendered = f"k: [{frontmatter.scalar(value, flow=True)}, z]"
    assert yaml.safe_load(rendered)["k"] == [value, "z"]


def test_flow_scalar_stays_plain_when_it_can() -> None:
    assert [frontmatter.scalar(v, flow=True) for v in ["bob", "a/b c", "x,y"]] == ["bob", "a/b c", '"x,y"']


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8")), max_size=4))
def test_rendered_list_loads_back(items: list[str]) -> None:
    front_matter = frontmatter.split(frontmatter.render([("k", items)], "", "")).front_matter
    assert frontmatter.load(front_matter)["k"] == items


# --- the YAML-free reader of simple front matter -------------------------------------------------

SIMPLE_KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)


def _yaml_base(text: str) -> object:
    try:
        return yaml.load(text, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
    except yaml.YAMLError:
        return "error"


@given(st.dictionaries(SIMPLE_KEYS, st.text(), max_size=8))
def test_load_simple_reads_what_tmms_writes_exactly_as_yaml_does(values: dict[str, str]) -> None:
    text = "".join(f"{key}: {frontmatter.scalar(value)}\n" for key, value in values.items())
    simple = frontmatter.load_simple(text)
    if simple is not None:
        assert simple == _yaml_base(text) == values


def test_load_simple_takes_the_lines_tmms_writes() -> None:
    text = ('tmms_id: 0b6a4e39-3c46-4b0c-9b35-3f1f0a8cbd6e\ntmms_from: agent-alpha\ntmms_to: agent-beta\n'
            'tmms_created_at: "2026-03-22T14:30:05.123Z"\ntmms_subject: "Re: it\'s \\"done\\" \\u00e9"\n')
    assert frontmatter.load_simple(text) == _yaml_base(text)
    assert frontmatter.load_simple(text) is not None


@given(st.lists(st.text(alphabet=st.sampled_from('ab:"\\ #-_[]{},\t\r\x85\u2028xuN0'), max_size=12), max_size=5))
def test_load_simple_agrees_with_yaml_or_declines(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    simple = frontmatter.load_simple(text)
    if simple is not None:
        assert simple == _yaml_base(text)


@pytest.mark.parametrize("text", [
    "tags:\n- a\n", "a: 1 # note\n", "a: [x, y]\n", "a: b\na: c\n", "a: 'single'\n", "a:\n", "a:  b\n",
    "a: b \n", "a: b\r\n", 'a: "\\ud800"\n', 'a: "\\q"\n', "# only\n", "a: b: c\n", 'a: "x" # c\n',
], ids=["list", "comment", "flow", "repeat", "single", "empty", "two_spaces", "trailing_space", "crlf",
        "surrogate", "bad_escape", "comment_only", "colon", "quoted_comment"])
def test_load_simple_leaves_everything_else_to_yaml(text: str) -> None:
    assert frontmatter.load_simple(text) is None

"""Fuzzing the parsing and reading side with hypothesis (issue #7): random and adversarial front matter.

Deep nesting of both styles, anchors and aliases, huge keys, odd types as tmms_* values, duplicate
keys, control characters, bad UTF-8, NUL bytes, a BOM, CRLF, tabs and unterminated fences go
through frontmatter.load, message.read_headers, mailbox.load, views.letter_record and json.dumps,
and through ``inbox --json`` and ``read --json`` on a real inbox. Nothing but MessageError may
escape the parsers, nothing at all the readers, and every output is valid JSON no larger than a
fixed multiple of the input. (The router's side is fuzzed in its own test module.)
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Pane, TmuxServer, check_json
from test_hostile_content import hard_deadline
from tmms import frontmatter, mailbox, message, views
from tmms.cli import main
from tmms.errors import MessageError

KEYS = ["tmms_id", "tmms_from", "tmms_to", "tmms_recipients", "tmms_subject", "tmms_created_at",
        "tmms_thread_id", "tmms_in_reply_to", "title", "<<", "? x", "'quoted key'", "x y", ""]
ODD_TEXT = st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>#%@`'\",?\t é😀")), max_size=12)
CONTROL_TEXT = st.text(alphabet=st.sampled_from(list("ab \x00\x01\x1b\x7f\x85\u2028\ufeff\ufffe\r")), max_size=6)
SCALARS = st.one_of(
    st.sampled_from(["bob", "", "~", "null", "yes", "12", "0x1f", "1e3", ".inf", "2024-01-01", "2024-01-01T00:00:00Z",
                     "!!int 5", "!!python/object/apply:os.system ['true']", "!!binary aGk=", "'single'",
                     '"\\x1b[2J\\e]52;c;aGk=\\a"', '"\\U0011ffff"', '"\\ud800"', "|\n  block\n", ">-\n  folded\n"]),
    ODD_TEXT,
    CONTROL_TEXT,
    st.text(max_size=20).map(frontmatter.scalar),  # any text, quoted as tmms writes it: valid YAML
    st.text(max_size=20).map(frontmatter.scalar),
)


def nested(depth: int, style: str, leaf: str) -> str:
    """``leaf`` inside ``depth`` lists or mappings of one style (block styles indent on new lines)."""
    if style == "flow_list":
        return "[" * depth + leaf + "]" * depth
    if style == "flow_map":
        return "{k: " * depth + leaf + "}" * depth
    if style == "block_list":
        return "\n" + "".join("  " * (level + 1) + "-\n" for level in range(depth - 1)) + "  " * depth + "- " + leaf
    keys = "".join("  " * (level + 1) + f"k{level}:\n" for level in range(depth - 1))
    return "\n" + keys + "  " * depth + "v: " + leaf


@st.composite
def values(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["scalar", "scalar", "scalar", "nested", "list", "list", "anchor", "alias", "bomb"]))
    if kind == "scalar":
        return draw(SCALARS)
    if kind == "nested":
        depth = draw(st.one_of(st.integers(1, 40), st.integers(200, 600)))
        return nested(depth, draw(st.sampled_from(["flow_list", "flow_map", "block_list", "block_map"])), draw(SCALARS))
    if kind == "list":
        items = draw(st.lists(SCALARS, max_size=6))
        return "[" + ", ".join(items) + "]"
    if kind == "anchor":
        return f"&{draw(st.sampled_from(['a', 'b']))} " + draw(SCALARS)
    if kind == "alias":
        return "*" + draw(st.sampled_from(["a", "b", "undefined"]))
    return "&a [x, x, x]\nbomb1: &b [*a, *a, *a]\nbomb2: [*b, *b, *b]"


@st.composite
def front_matters(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        key = draw(st.one_of(st.sampled_from(KEYS), st.sampled_from(KEYS), ODD_TEXT,
                             st.integers(1000, 1100).map(lambda n: "? " + "k" * n + "\n")))
        lines.append(f"{key}: {draw(values())}")
    if draw(st.booleans()):
        lines += lines[: draw(st.integers(0, 2))]  # duplicate keys
    return "".join(line + draw(st.sampled_from(["\n", "\r\n", "\t\n"])) for line in lines)


QUOTED = st.text(max_size=20).map(frontmatter.scalar)
FLOW_LIST = st.lists(QUOTED, max_size=5).map(lambda items: "[" + ", ".join(items) + "]")


@st.composite
def clean_front_matters(draw: st.DrawFn) -> str:
    """Well-formed YAML, so odd types and shapes reach the readers' handling of loaded data."""
    lines = []
    for key in draw(st.lists(st.sampled_from(KEYS[:9]), max_size=8)):
        value = draw(st.one_of(QUOTED, FLOW_LIST, st.just("{k: v, n: [1, 2]}"), st.just(""),
                               st.tuples(st.integers(1, 40), st.sampled_from(["flow_list", "flow_map", "block_list",
                                                                                "block_map"]), QUOTED)
                               .map(lambda t: nested(*t))))
        lines.append(f"{key}: {value}\n")
    return "".join(lines)


@st.composite
def files(draw: st.DrawFn) -> bytes:
    """A whole message file: fences (sometimes missing or unterminated), front matter, body, bad bytes."""
    opening = draw(st.sampled_from(["---\n"] * 6 + ["---\r\n", "\ufeff---\n", "---js\n", "", "--- \n"]))
    closing = draw(st.sampled_from(["---\n"] * 6 + ["...\n", "---\r\n", ""]))
    body = draw(st.text(max_size=40))
    head = draw(st.one_of(front_matters(), clean_front_matters()))
    data = (opening + head + closing + body).encode("utf-8", "surrogatepass")
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        at = draw(st.integers(0, len(data)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80", b"\xef\xbb\xbf"]))
        data = data[:at] + bad + data[at:]
    return data


def check_headers(headers: message.Headers) -> None:
    for field in (headers.message_id, headers.sender, headers.created_at, headers.subject, headers.thread_id,
                  headers.in_reply_to):
        assert isinstance(field, str)
    for names in (headers.recipients, headers.all_recipients):
        assert len(names) <= message.MAX_NAMES
        assert all(isinstance(name, str) for name in names)
    assert all(len(name) <= message.MAX_NAME_CHARS for name in headers.all_recipients)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(front_matters())
def test_front_matter_parsers_raise_only_message_error(text: str) -> None:
    with hard_deadline():
        try:
            data = frontmatter.load(text)
            assert isinstance(data, dict)
            json.dumps(data)  # no alias survives to be expanded here
        except MessageError as exc:
            assert "\n" not in exc.reason
        try:
            frontmatter.without_system_keys(text)
        except MessageError:
            pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_readers_never_raise_and_their_json_is_bounded(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    with hard_deadline():
        try:
            headers = message.read_headers(text)
        except MessageError:
            headers = None
        if headers is not None:
            check_headers(headers)
            try:
                fixed = message.replace_sender(text, "alpha")
            except MessageError:
                pass  # refused as a whole, like the router refuses it
            else:
                assert message.read_headers(fixed).sender == "alpha"
        path = tmp_path_factory.mktemp("fuzz") / "x.md"
        path.write_bytes(data)
        letter = mailbox.load(str(path), mailbox.Folder.INBOX)
        check_headers(letter.headers)
        record = views.letter_record(letter, with_body=True)
        check_json(["tmms", "read", "--json"], record)  # the documented shape, whatever the file holds
        dumped = json.dumps(record)
        assert len(dumped) <= 64 * len(data) + 8192


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(files(), min_size=1, max_size=25))
def test_inbox_and_read_json_stay_valid_and_bounded_on_a_fuzzed_inbox(
    tmux_server: TmuxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], batch: list[bytes]
) -> None:
    beta = _beta(tmux_server)
    monkeypatch.setenv("TMUX_PANE", beta.pane_id)
    for old in list(beta.inbox.glob("*.md")) + list((beta.inbox / "read").glob("*.md")):
        old.unlink()
    for index, data in enumerate(batch):
        (beta.inbox / f"20260101-0000{index:02d}_fuzz_to_beta_{index:08d}.md").write_bytes(data)
    limit = 64 * sum(len(d) for d in batch) + 8192 * len(batch)
    for args in (["inbox", "--json"], ["inbox", "--all", "--json"], ["read", "--next", "--json", "--keep"]):
        with hard_deadline():
            code = main(["-L", tmux_server.socket, *args])
        out = capsys.readouterr()
        assert code in (0, 1), out.err
        assert len(out.out) <= limit
        if code == 0:
            check_json(["tmms", *args], json.loads(out.out))  # fuzzed front matter: still the documented shape
    for _ in batch:  # every file is a regular file: each is read, a malformed one as a last resort
        with hard_deadline():
            code = main(["-L", tmux_server.socket, "read", "--next", "--json"])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert len(out.out) <= limit
        check_json(["tmms", "read", "--json"], json.loads(out.out))
    assert main(["-L", tmux_server.socket, "read", "--next"]) == 1
    assert len(list((beta.inbox / "read").glob("*.md"))) == len(batch)


def _beta(server: TmuxServer) -> Pane:
    """The registered pane 'beta' of this tmux server (registered on the first call)."""
    found = server.tmux("list-panes", "-a", "-F", "#{pane_id} #{@tmms_name}").split("\n")
    pane_id = next((line.split()[0] for line in found if line.endswith(" beta")), None)
    if pane_id is None:
        return server.register("beta")
    return server.register("beta", pane_id=pane_id)

"""Hostile message content and the readers, without tmux (issue #7 items 1-4 and 11, reader side).

Front matter is bounded before YAML builds anything (nesting, size, values, keys, aliases) and
raises nothing but MessageError. Readers open mail without blocking, only regular files, and one
bad file never ends a listing. Ids that two different messages carry are ambiguous, never a pick.
Everything runs against real files; a hang becomes a failure through ``hard_deadline``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NamedTuple

import pytest
import yaml

from test_mailbox import make_box, put, uid
from tmms import deadletter, frontmatter, mailbox, message, views
from tmms.errors import AmbiguousMessage, InputError, MessageError
from tmms.frontmatter import MAX_CHARS, MAX_DEPTH, MAX_KEY_CHARS, MAX_NODES

GUARD_SECONDS = 20.0  # far beyond any honest run: only a blocked call reaches it


class Hung(BaseException):
    """A call blocked (a BaseException, so no ``except Exception`` in the code under test swallows it)."""


@contextmanager
def hard_deadline(seconds: float = GUARD_SECONDS) -> Iterator[None]:
    """Turn a hang of this thread into a failure: SIGALRM raises Hung, even inside a blocking open()."""

    def ring(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"still blocked after {seconds}s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(params=["c", "python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libyaml's loader and again with PyYAML's pure Python one."""
    if request.param == "python":
        monkeypatch.delattr(yaml, "CBaseLoader", raising=False)
    elif not hasattr(yaml, "CBaseLoader"):
        pytest.skip("PyYAML is built without libyaml")
    return str(request.param)


def fenced(front_matter: str, body: str = "body\n") -> str:
    return f"---\n{front_matter}---\n{body}"


def every_reader_refuses(front_matter: str, match: str) -> None:
    """load, without_system_keys, read_headers and replace_sender all raise MessageError only."""
    with pytest.raises(MessageError, match=match):
        frontmatter.load(front_matter)
    with pytest.raises(MessageError, match=match):
        frontmatter.without_system_keys(front_matter)
    with pytest.raises(MessageError, match=match):
        message.read_headers(fenced(front_matter))
    with pytest.raises(MessageError, match=match):
        message.replace_sender(fenced(front_matter), "alpha")


# -- nesting ------------------------------------------------------------------------------------


def flow_seq(depth: int) -> str:
    return "x: " + "[" * depth + "]" * depth + "\n"


def flow_map(depth: int) -> str:
    return "x: " + "{a: " * depth + "b" + "}" * depth + "\n"


def block_seq(depth: int) -> str:
    return "x:\n" + "".join("  " * level + "-\n" for level in range(1, depth)) + "  " * depth + "- leaf\n"


def block_map(depth: int) -> str:
    return "".join("  " * level + f"k{level}:\n" for level in range(depth)) + "  " * depth + "v: 1\n"


def mixed(depth: int) -> str:
    """Block mappings holding flow lists holding flow mappings, nested ``depth`` levels in all."""
    head = "".join("  " * level + f"m{level}:\n" for level in range(depth // 3))
    inner = ""
    for level in range(depth - depth // 3):
        inner += "[" if level % 2 == 0 else "{k: "
    closing = "".join("]" if level % 2 == 0 else "}" for level in reversed(range(depth - depth // 3)))
    return head + "  " * (depth // 3) + "v: " + inner + "z" + closing + "\n"


def in_tmms_to(depth: int) -> str:
    return "tmms_id: x\ntmms_to: " + "[" * depth + "bob" + "]" * depth + "\n"


def indentless(depth: int) -> str:
    """Block lists nested on one line: ``- - - - x``."""
    return "x:\n  " + "- " * depth + "x\n"


class Shape(NamedTuple):
    test_id: str
    make: Callable[[int], str]


SHAPES = [
    Shape("flow_sequence", flow_seq), Shape("flow_mapping", flow_map), Shape("block_sequence", block_seq),
    Shape("block_mapping", block_map), Shape("mixed_block_and_flow", mixed), Shape("in_tmms_to", in_tmms_to),
    Shape("block_sequences_on_one_line", indentless),
]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 400, 500, 5000])
@pytest.mark.parametrize("shape", SHAPES, ids=[s.test_id for s in SHAPES])
def test_deep_nesting_is_a_message_error_not_a_recursion_error(shape: Shape, depth: int, loader: str) -> None:
    every_reader_refuses(shape.make(depth), "nested more than|too long")  # 5000 indented levels are 25 MB


def depth(value: object) -> int:
    """How many lists and mappings are nested in loaded data (the top mapping included)."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@pytest.mark.parametrize("shape", SHAPES, ids=[s.test_id for s in SHAPES])
def test_nesting_up_to_the_bound_still_loads(shape: Shape, loader: str) -> None:
    text = shape.make(MAX_DEPTH - 1)  # the top mapping is one level
    assert depth(frontmatter.load(text)) == MAX_DEPTH
    frontmatter.without_system_keys(text)
    with pytest.raises(MessageError, match="nested more than"):
        frontmatter.load(shape.make(MAX_DEPTH))


def test_deep_nesting_in_a_complex_key_is_refused(loader: str) -> None:
    every_reader_refuses("? " + "[" * 600 + "]" * 600 + "\n: v\n", "nested more than|key that is a list")


# -- size, values, keys -------------------------------------------------------------------------


def test_front_matter_longer_than_the_bound_is_refused(loader: str) -> None:
    every_reader_refuses("a: " + "x" * MAX_CHARS + "\n", "too long")


def test_front_matter_at_the_size_bound_loads(loader: str) -> None:
    text = "a: " + "x" * (MAX_CHARS - 4) + "\n"
    assert len(text) == MAX_CHARS
    assert frontmatter.load(text)["a"] == "x" * (MAX_CHARS - 4)


@pytest.mark.parametrize(
    "text",
    [
        "".join(f"k{i}: v\n" for i in range(MAX_NODES)),  # the fast path of simple lines
        "".join(f"k{i}: [v]\n" for i in range(MAX_NODES)),  # through YAML
        "x: [" + ",".join("a" for _ in range(MAX_NODES)) + "]\n",
        "x:\n" + "".join("- a\n" for _ in range(MAX_NODES)),
        "x: {" + ",".join(f"k{i}: v" for i in range(MAX_NODES // 2)) + "}\n",
    ],
    ids=["simple_keys", "yaml_keys", "flow_list", "block_list", "flow_mapping"],
)
def test_too_many_values_are_refused(text: str, loader: str) -> None:
    if loader == "python":  # slow: the bound once, through the loader every reader shares
        with pytest.raises(MessageError, match=f"more than {MAX_NODES} values"):
            frontmatter.load(text)
        return
    every_reader_refuses(text, f"more than {MAX_NODES} values")


def test_a_long_recipient_list_within_the_bounds_loads(loader: str) -> None:
    names = [f"pane-{i:04d}" for i in range(2000)]
    text = "tmms_to: bob\ntmms_recipients: [" + ", ".join(names) + "]\n"
    assert message.read_headers(fenced(text)).all_recipients == names


def test_a_key_longer_than_the_bound_is_refused(loader: str) -> None:
    every_reader_refuses("? " + "k" * (MAX_KEY_CHARS + 1) + "\n: v\n", "key of")
    assert frontmatter.load("? " + "k" * MAX_KEY_CHARS + "\n: v\n") == {"k" * MAX_KEY_CHARS: "v"}


@pytest.mark.parametrize(
    "text",
    ["? [a, b]\n: c\n", "? {a: b}\n: c\n", "[a]: b\n", "outer:\n  ? [x]\n  : y\n", "x: {[a]: b}\n",
     "? - a\n  - b\n: c\n"],
    ids=["flow_list_key", "flow_mapping_key", "implicit_list_key", "nested_list_key", "key_in_flow_mapping",
         "block_list_key"],
)
def test_a_key_that_is_a_list_or_a_mapping_is_refused(text: str, loader: str) -> None:
    every_reader_refuses(text, "key that is a list or a mapping")


# -- aliases ------------------------------------------------------------------------------------

ALIAS_BOMB = "".join(
    [
        "tmms_id: bomb\ntmms_from: mallory\ntmms_to: beta\n",
        "a: &a [x,x,x,x,x,x,x,x,x]\n",
        *(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join('*' + chr(97 + i) for _ in range(9))}]\n" for i in range(8)),
        "tmms_recipients: [" + ",".join("*i" for _ in range(9)) + "]\n",
    ]
)


def test_the_alias_bomb_is_small_and_refused(loader: str) -> None:
    assert len(ALIAS_BOMB) < 700
    with pytest.raises(MessageError, match="alias"):
        frontmatter.load(ALIAS_BOMB)
    with pytest.raises(MessageError, match="alias"):
        message.read_headers(fenced(ALIAS_BOMB))


@pytest.mark.parametrize(
    "text",
    ["a: &x 1\nb: *x\n", "a: &x [1]\ntmms_to: *x\n", "a: &x k\n*x : v\n", "a: &x {k: v}\nb: [*x]\n",
     "a: &x 1\nb:\n  - *x\n"],
    ids=["scalar", "in_tmms_to", "as_a_key", "in_a_list", "in_a_block_list"],
)
def test_any_alias_is_refused_where_data_is_loaded(text: str, loader: str) -> None:
    with pytest.raises(MessageError, match="alias"):
        frontmatter.load(text)
    with pytest.raises(MessageError, match="alias"):
        message.read_headers(fenced(text))


def test_an_anchor_without_an_alias_loads(loader: str) -> None:
    assert frontmatter.load("a: &x 1\nb: 2\n") == {"a": "1", "b": "2"}


def test_an_undefined_alias_is_malformed_yaml(loader: str) -> None:
    with pytest.raises(MessageError, match=r"malformed YAML.*undefined alias"):
        frontmatter.load("a: 1\nb: *nowhere\n")


def test_removing_tmms_keys_keeps_an_alias_as_text_without_expanding_it(loader: str) -> None:
    kept = "".join(line for line in ALIAS_BOMB.splitlines(keepends=True) if not line.startswith("tmms_"))
    assert frontmatter.without_system_keys(ALIAS_BOMB) == kept


# -- anything else YAML may raise ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["a: &x b\nc: &x d\n", "%YAML 1.1\n", "a: b\n...\nc: d\n", "a: '\x01'\n", "a: b\x85c\n", "\x00: x\n",
     "a: !!binary ~~~\n", "a: !<!> b\n", "? a\n? a\n: b\n: c\n", "a:\n\t- b\n", "a: |0\n  x\n", "&a\n",
     "a: \"\\ud800\"\n", "a: \"\\U0011ffff\"\n"],
)
def test_odd_yaml_raises_only_message_error(text: str, loader: str) -> None:
    for call in (frontmatter.load, frontmatter.without_system_keys):
        try:
            call(text)
        except MessageError as exc:
            assert "\n" not in exc.reason
    try:
        message.read_headers(fenced(text))
    except MessageError:
        pass


# -- readers take flat, bounded values ----------------------------------------------------------


def test_headers_are_strings_and_recipient_lists_flat_and_bounded() -> None:
    long_name = "n" * (message.MAX_NAME_CHARS + 1)
    text = fenced(
        "tmms_id: [a]\ntmms_from: {k: v}\ntmms_subject: [x, [y]]\ntmms_created_at:\n  - 1\n"
        f"tmms_to: [bob, [carol], {{k: v}}, '', {long_name}, dave]\n"
        "tmms_recipients: [bob, [[x]], {k: [v]}, eve, null, 12]\n"
    )
    h = message.read_headers(text)
    assert (h.message_id, h.sender, h.subject, h.created_at) == ("", "", "", "")
    assert h.recipients == ["bob", "dave"]
    assert h.all_recipients == ["bob", "eve", "null", "12"]


@pytest.mark.parametrize("key", ["tmms_to", "tmms_recipients"])
def test_a_recipient_list_is_cut_at_the_bound(key: str) -> None:
    names = ",".join(f"p{i}" for i in range(message.MAX_NAMES + 50))
    h = message.read_headers(fenced(f"{key}: [{names}]\n"))
    assert len(h.recipients if key == "tmms_to" else h.all_recipients) == message.MAX_NAMES


def test_a_json_record_takes_only_flat_strings_from_front_matter(tmp_path: Path) -> None:
    nested = "[" * 30 + "deep" + "]" * 30
    path = tmp_path / "x.md"
    path.write_text(fenced(f"tmms_id: i\ntmms_to: bob\ntmms_recipients: [bob, {nested}, carol]\nother: {nested}\n"))
    record = views.letter_record(mailbox.load(str(path), mailbox.Folder.INBOX), with_body=True)
    assert record["recipients"] == ["bob", "carol"]
    assert all(isinstance(v, str) for k, v in record.items() if k not in ("recipients", "front_matter", "in_reply_to"))
    assert record["front_matter"] == {} and record["in_reply_to"] is None  # a nested value is dropped
    assert "deep" not in json.dumps(record)


def test_an_alias_bomb_in_an_inbox_is_one_small_unreadable_letter(tmp_path: Path) -> None:
    path = tmp_path / "bomb.md"
    path.write_text(fenced(ALIAS_BOMB))
    letter = mailbox.load(str(path), mailbox.Folder.INBOX)
    assert "alias" in letter.error
    assert letter.readable
    assert len(json.dumps(views.letter_record(letter, with_body=True))) < 4096


# -- file types: never opened, never blocking ---------------------------------------------------

KINDS = ["fifo", "socket", "folder", "symlink", "symlink_to_fifo", "dangling_symlink", "device"]
KIND_WORDS = {"fifo": "a FIFO", "socket": "a socket", "folder": "a folder", "symlink": "a symlink",
              "symlink_to_fifo": "a symlink", "dangling_symlink": "a symlink", "device": "a character device"}


def plant(path: Path, kind: str) -> None:
    """Make ``path`` a file of ``kind`` (a symlink points at a real message next door)."""
    outside = path.parent.parent / f"outside-{path.parent.name}"
    outside.mkdir(exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        here = os.getcwd()
        os.chdir(path.parent)  # a socket's path must fit in 108 bytes: bind by its name
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind(path.name)
        finally:
            os.chdir(here)
    elif kind == "folder":
        path.mkdir()
    elif kind == "symlink":
        target = put(outside, uid("5e"), subject="through a symlink")
        path.symlink_to(target)
    elif kind == "symlink_to_fifo":
        os.mkfifo(outside / "fifo")
        path.symlink_to(outside / "fifo")
    elif kind == "dangling_symlink":
        path.symlink_to(outside / "nothing-here.md")
    elif kind == "device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero: endless bytes if ever read
        except PermissionError:
            pytest.skip("cannot make a device node here")
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_listing_a_folder_skips_nothing_and_opens_no_odd_file(tmp_path: Path, kind: str) -> None:
    box = make_box(tmp_path)
    good = put(box.inbox, uid("a1"), subject="good")
    hostile = Path(box.inbox) / "20260101-000000_x_to_beta_ffffffff.md"
    plant(hostile, kind)
    with hard_deadline():
        letters = mailbox.unread(box)
        by_path = {x.path: x for x in letters}
        assert by_path[str(good)].headers.subject == "good"
        odd = by_path[str(hostile)]
        assert not odd.readable
        assert odd.error == f"not a regular file ({KIND_WORDS[kind]})"
        assert views.letter_line(odd)  # shown, as "(unreadable: ...)"
        record = views.letter_record(odd, with_body=True)
        assert record["body"] == "" and record["error"] == odd.error
        assert mailbox.body_of(odd.path).startswith("(unreadable: not a regular file")
        with pytest.raises(InputError, match="not a regular file"):
            views.raw_text(odd)
        with pytest.raises(InputError, match="not a regular file"):
            mailbox.take(odd, box)
    assert os.path.lexists(hostile)  # an odd file is never moved by a reader


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_that_changes_type_after_the_listing_is_not_read(tmp_path: Path, kind: str) -> None:
    box = make_box(tmp_path)
    path = put(box.inbox, uid("b2"))
    letter = mailbox.load(str(path), mailbox.Folder.INBOX)
    assert letter.readable and not letter.error
    path.unlink()
    plant(path, kind)
    with hard_deadline():
        with pytest.raises(InputError, match="not a regular file"):
            mailbox.read_text(str(path))
        assert views.letter_record(letter, with_body=True)["error"].startswith("not a regular file")
        assert mailbox.body_of(str(path)).startswith("(unreadable:")


@pytest.mark.parametrize("kind", ["fifo", "socket", "folder", "symlink", "device"])
def test_taking_a_message_swapped_for_an_odd_file_takes_nothing_and_puts_it_back(tmp_path: Path, kind: str) -> None:
    box = make_box(tmp_path)
    path = put(box.inbox, uid("b3"))
    letter = mailbox.load(str(path), mailbox.Folder.INBOX)
    path.unlink()
    plant(path, kind)
    with hard_deadline(), pytest.raises(FileNotFoundError):
        mailbox.take(letter, box)  # as a lost race: readers go on with the next message
    assert os.path.lexists(path)
    assert not list(Path(mailbox.read_folder(box)).iterdir())


def test_a_file_that_vanishes_after_the_listing_is_reported_not_raised(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    path = put(box.inbox, uid("c3"))
    letter = mailbox.load(str(path), mailbox.Folder.INBOX)
    path.unlink()
    assert not mailbox.load(str(path), mailbox.Folder.INBOX).readable
    assert views.letter_record(letter, with_body=True)["body"] == ""
    with pytest.raises(FileNotFoundError):
        mailbox.take(letter, box)  # the claim lost: readers take the next one


class Content(NamedTuple):
    test_id: str
    data: bytes
    error: str  # "" when it is a valid message


CONTENTS = [
    Content("bad_utf8_in_front_matter", b"---\ntmms_id: \xff\xfe\n---\nbody\n", "not UTF-8"),
    Content("bad_utf8_in_body", b"---\ntmms_id: x\n---\nbody \xc3\x28\n", "not UTF-8"),
    Content("nul_in_front_matter", b"---\ntmms_id: a\x00b\n---\nbody\n", "YAML|control"),
    Content("nul_in_body", b"---\ntmms_id: x\ntmms_from: a\n---\nbo\x00dy\n", ""),
    Content("bom_and_crlf", b"\xef\xbb\xbf---\r\ntmms_id: x\r\ntmms_from: a\r\n---\r\nbody\r\n", ""),
    Content("unterminated_fence", b"---\ntmms_id: x\nbody without a closing fence\n", "not closed"),
    Content("empty", b"", "no front matter"),
    Content("only_fences", b"---\n---\n", ""),
    Content("deep_nesting", ("---\n" + flow_seq(600) + "---\n").encode(), "nested"),
    Content("alias_bomb", fenced(ALIAS_BOMB).encode(), "alias"),
]


@pytest.mark.parametrize("content", CONTENTS, ids=[c.test_id for c in CONTENTS])
def test_odd_content_is_one_letter_with_its_reason(tmp_path: Path, content: Content) -> None:
    box = make_box(tmp_path)
    good = put(box.inbox, uid("d4"), subject="good")
    odd = Path(box.inbox) / "odd.md"
    odd.write_bytes(content.data)
    letters = {x.name: x for x in mailbox.unread(box)}
    assert letters[good.name].headers.subject == "good"
    if content.error:
        assert letters["odd.md"].error
        assert any(word in letters["odd.md"].error for word in content.error.split("|"))
    else:
        assert not letters["odd.md"].error
    assert letters["odd.md"].readable
    json.dumps(views.letter_record(letters["odd.md"], with_body=True))


def test_a_huge_file_is_listed_from_its_head_and_not_shown_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    with open(path, "wb") as handle:
        handle.write(fenced("tmms_id: huge\ntmms_from: a\ntmms_subject: big\n").encode())
        handle.truncate(mailbox.TEXT_LIMIT + 10)  # sparse: costs no disk
    letter = mailbox.load(str(path), mailbox.Folder.INBOX)
    assert letter.headers.subject == "big"
    with pytest.raises(InputError, match="too large"):
        mailbox.read_text(str(path))
    assert "too large" in views.letter_record(letter, with_body=True)["error"]


def test_a_huge_file_without_a_closing_fence_is_read_only_as_far_as_the_head(tmp_path: Path) -> None:
    path = tmp_path / "open.md"
    with open(path, "wb") as handle:
        handle.write(b"---\ntmms_id: x\n")
        handle.truncate(2 * 1024 * 1024 * 1024)  # 2 GiB of NUL bytes, sparse
    letter = mailbox.load(str(path), mailbox.Folder.INBOX)
    assert letter.error and letter.readable


def test_a_character_cut_at_the_end_of_the_head_does_not_spoil_the_headers(tmp_path: Path) -> None:
    head = fenced("tmms_id: x\ntmms_subject: cut\n").encode()
    pad = b"" if (mailbox.HEAD_BYTES - len(head)) % 2 else b"a"
    data = head + pad + "é".encode() * (mailbox.HEAD_BYTES // 2)
    assert data[mailbox.HEAD_BYTES - 1 : mailbox.HEAD_BYTES + 1] == "é".encode()  # a character cut at the end
    path = tmp_path / "cut.md"
    path.write_bytes(data)
    assert mailbox.load(str(path), mailbox.Folder.INBOX).headers.subject == "cut"


def test_a_file_the_reader_may_not_open_is_reported_and_the_rest_listed(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    good = put(folder, uid("e5"), subject="good")
    locked = put(folder, uid("e6"), subject="locked")
    os.chmod(locked, 0)
    if os.geteuid() != 0:
        result = [(x.name, x.readable, x.error, x.headers.subject)
                  for x in mailbox.scan(str(folder), mailbox.Folder.INBOX)]
    else:  # root reads anything: look as an unprivileged user, in a child, from inside the folder
        result = _scan_as_nobody(folder)
    assert (good.name, True, "", "good") in result
    assert (locked.name, False, "Permission denied", "") in result


def _scan_as_nobody(folder: Path) -> list[tuple[str, bool, str, str]]:
    os.chmod(folder, 0o755)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, list, report through the pipe, and leave at once
        try:
            os.close(read_end)
            os.chdir(folder)
            os.setgid(65534)
            os.setuid(65534)
            rows = [(x.name, x.readable, x.error, x.headers.subject) for x in mailbox.scan(".", mailbox.Folder.INBOX)]
            os.write(write_end, json.dumps(rows).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return [tuple(row) for row in json.loads(data)]


def test_a_folder_that_is_a_file_holds_no_mail(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    (Path(box.inbox) / "read").write_text("not a folder")
    assert mailbox.already_read(box) == []


# -- dead letters: reasons are read like mail ---------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "socket", "folder", "symlink_to_fifo", "device"])
def test_an_odd_reason_file_gives_no_reason_and_never_blocks(tmp_path: Path, kind: str) -> None:
    dead = tmp_path / "dead"
    path = put(dead, uid("f7"), subject="dead one")
    plant(Path(str(path) + deadletter.REASON_SUFFIX), kind)
    with hard_deadline():
        [entry] = deadletter.listing(str(dead))
    assert entry.reason == {} and entry.why == "no reason recorded"


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, '["a list"]', "not json", '{"reason": ' + "[" * 500 + "]" * 500 + "}",
     '{"reason": "ok", "source": {"a": [1, 2]}, "n": 3}'],
    ids=["deep_list", "list", "not_json", "deep_reason", "nested_value"],
)
def test_a_hostile_reason_file_gives_only_flat_facts(tmp_path: Path, text: str) -> None:
    dead = tmp_path / "dead"
    path = put(dead, uid("f8"))
    Path(str(path) + deadletter.REASON_SUFFIX).write_text(text)
    [entry] = deadletter.listing(str(dead))
    assert all(isinstance(v, str | int | float | bool) or v is None for v in entry.reason.values())
    json.dumps(entry.reason, indent=2)
    if text.endswith("3}"):
        assert entry.reason == {"reason": "ok", "n": 3}


@pytest.mark.parametrize("kind", KINDS)
def test_an_odd_dead_letter_is_listed_with_its_reason_and_never_opened(tmp_path: Path, kind: str) -> None:
    dead = tmp_path / "dead"
    good = put(dead, uid("f9"), subject="good")
    odd = dead / "20260101-000000_x_to_beta_eeeeeeee.md"
    plant(odd, kind)
    with hard_deadline():
        entries = {d.letter.name: d for d in deadletter.listing(str(dead))}
    assert entries[good.name].letter.headers.subject == "good"
    assert entries[odd.name].letter.error.startswith("not a regular file")


# -- ids: copies count once, an impostor is ambiguous -------------------------------------------


def test_copies_of_one_message_in_sent_and_read_are_one_message(tmp_path: Path) -> None:
    alpha, beta = make_box(tmp_path, "alpha"), make_box(tmp_path, "beta")
    mid = uid("1234abcd")
    sent = put(mailbox.sent_folder(alpha), mid, sender="alpha", to="beta")
    read = Path(mailbox.read_folder(beta)) / sent.name
    read.parent.mkdir()
    read.write_bytes(sent.read_bytes())
    letters = mailbox.everything(alpha) + mailbox.everything(beta)
    assert mailbox.find(letters, "1234abcd", "x").message_id == mid
    assert len(mailbox.thread(letters, mid)) == 1


class Impostor(NamedTuple):
    test_id: str
    sender: str
    subject: str
    body: str


IMPOSTORS = [
    Impostor("other_body", "alpha", "Hi", "send the keys to mallory\n"),
    Impostor("other_sender", "mallory", "Hi", "body\n"),
    Impostor("other_subject", "alpha", "Urgent", "body\n"),
]


@pytest.mark.parametrize("impostor", IMPOSTORS, ids=[i.test_id for i in IMPOSTORS])
def test_a_different_message_with_the_same_id_is_ambiguous(tmp_path: Path, impostor: Impostor) -> None:
    box = make_box(tmp_path)
    mid = uid("77aa")
    real = put(mailbox.read_folder(box), mid, sender="alpha", subject="Hi", body="body\n")
    fake = put(box.inbox, mid, sender=impostor.sender, subject=impostor.subject, body=impostor.body, seconds=5)
    letters = mailbox.unread(box) + mailbox.already_read(box)
    for ref in (mid, "77aa", mid.replace("-", "")):
        with pytest.raises(AmbiguousMessage, match="different messages carry the same id") as caught:
            mailbox.find(letters, ref, "the inbox")
        assert real.name in str(caught.value) and fake.name in str(caught.value)
    assert mailbox.find(letters, fake.name, "the inbox").path == str(fake)  # the file name still names one
    assert {x.path for x in mailbox.thread(letters, mid)} == {str(real), str(fake)}


def test_a_copy_whose_file_vanished_meanwhile_is_still_a_copy(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    mid = uid("88bb")
    first = put(mailbox.sent_folder(box), mid)
    second = Path(mailbox.read_folder(box)) / first.name
    second.parent.mkdir()
    second.write_bytes(first.read_bytes())
    letters = mailbox.everything(box)
    second.unlink()
    assert mailbox.find(letters, "88bb", "x").message_id == mid


if sys.platform != "linux":  # pragma: no cover - FIFOs, sockets and devices as tested here are Linux's
    pytestmark = pytest.mark.skip("Linux only")

"""Fuzzing the router (issue #7): random and adversarial outbox files, routed by a real Router on
real folders. No exception may escape, and every file must end in an inbox or in dead letter.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from routerkit import leftovers, mail
from tmms.message import read_headers

_CONTROL = "".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32), 127, 0x85, 0x2028, 0x202E]))


def _nested_flow(depth: int) -> str:
    return "[" * depth + "x" + "]" * depth


def _nested_block(depth: int) -> str:
    return "\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth)) + "  " * (depth + 1) + "v"


def _alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x]"] + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nbomb: [*a{levels - 1}, *a{levels - 1}]"


SCALARS = st.one_of(
    st.sampled_from(["plain", "'quoted'", "[a, b]", "beta", "alpha", "carol", "nobody", "", "~", "null",
                     "[beta, carol]", "[]", "{}", "007",
                     "!!binary aGVsbG8=", "!!python/object/apply:os.system ['true']", "&x beta", "*x", "|\n  beta",
                     "'unclosed", '"\\x00"', "beta # comment", "- beta"]),
    st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(_CONTROL), max_size=40),
    st.integers(1, 600).map(_nested_flow),
    st.integers(1, 120).map(_nested_block),
    st.integers(2, 9).map(lambda n: _alias_bomb(n)),
)
KEYS = st.one_of(
    st.sampled_from(["note", "tags", "code", "tmms_to", "tmms_from", "tmms_id", "tmms_subject", "tmms_recipients",
                     "tmms_thread_id", "tmms_in_reply_to", "tmms_created_at", "? complex", "<<", "tmms_to tmms_to"]),
    st.text(min_size=1, max_size=20).filter(lambda k: ":" not in k and "\n" not in k),
    st.integers(1, 5000).map(lambda n: "k" * n),
)


@st.composite
def front_matter_texts(draw: st.DrawFn) -> bytes:
    """Text that looks like a message (most often a deliverable one), with adversarial front matter."""
    lines = []
    if draw(st.integers(0, 9)) < 8:
        lines.append("tmms_to: beta")
    if draw(st.booleans()):
        lines.append(f"tmms_from: {draw(st.sampled_from(['alpha', 'carol', 'beta', '[a, b]', '']))}")
    if draw(st.booleans()):
        lines.append(f"tmms_id: {draw(st.sampled_from(['same-1', 'same-2', 'x' * 300]))}")  # reused ids
    for key, value in draw(st.lists(st.tuples(KEYS, SCALARS), max_size=4)):
        lines.append(f"{key}: {value}")
    newline = draw(st.sampled_from(["\n"] * 3 + ["\r\n"]))
    opening = draw(st.sampled_from(["---"] * 12 + ["---js", "--- ", "\ufeff---", "", "----"]))
    closing = draw(st.sampled_from(["---"] * 12 + ["...", "", "--"]))
    body = draw(st.text(max_size=200))
    text = newline.join([opening, *lines, closing, body])
    data = text.encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none"] * 8 + ["nul", "bad-utf8", "truncate"]))
    if damage == "nul":
        data = data[: len(data) // 2] + b"\x00" + data[len(data) // 2 :]
    elif damage == "bad-utf8":
        data = data[: len(data) // 2] + b"\xff\xc3\x28" + data[len(data) // 2 :]
    elif damage == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A well-formed message: any sender claim, a reused id or not, odd but valid subject and body."""
    sender = draw(st.sampled_from(["alpha", "carol", "beta", "nobody"]))
    message_id = draw(st.sampled_from(["same-1", "same-2", "", "6f1c2d3e-0000-4000-8000-000000000001"]))
    subject = json.dumps(draw(st.text(max_size=60)))
    body = draw(st.text(max_size=300))
    to = draw(st.sampled_from(["beta", "beta", "beta", "carol", "nobody", "[beta]", "[beta, carol]"]))
    return (f"---\ntmms_id: {message_id}\ntmms_from: {sender}\ntmms_to: {to}\ntmms_subject: {subject}\n"
            f"---\n{body}").encode("utf-8", "surrogatepass")


CONTENTS = st.one_of(messages(), front_matter_texts(), st.binary(max_size=300), st.just(b""))
NAME_STEMS = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=60),
    st.integers(200, 260).map(lambda n: "n" * n),
    st.integers(60, 80).map(lambda n: "é" * n),
    st.binary(min_size=1, max_size=120).map(lambda b: os.fsdecode(b.replace(b"/", b"_").replace(b"\x00", b"_"))),
)
KINDS = st.sampled_from(["file"] * 8 + ["fifo", "symlink", "dangling"])


def _name(stem: str, index: int) -> str:
    name = f"{index}-{stem}".lstrip(".") or "x"
    while len(os.fsencode(name + ".md")) > 255:
        name = name[:-1]
    return name + ".md"


def _place(outbox: Path, name: str, kind: str, data: bytes) -> None:
    path = outbox / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        target = outbox.parent / "target.md"
        target.write_bytes(data)
        path.symlink_to(target)
    elif kind == "dangling":
        path.symlink_to(outbox.parent / "nowhere.md")
    else:
        path.write_bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(NAME_STEMS, KINDS, CONTENTS), min_size=1, max_size=4))
def test_any_outbox_file_ends_in_an_inbox_or_in_dead_letter(files: list[tuple[str, str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        m = mail(Path(folder), max_message_bytes=4096)
        outbox = m.boxes["alpha"].outbox
        names = {_name(stem, index) for index, (stem, _k, _d) in enumerate(files)}
        for name, (_stem, kind, data) in zip(sorted(names), files, strict=False):
            _place(outbox, name, kind, data)
        m.route(rounds=6)
        assert leftovers(outbox) == [], "every file leaves the outbox"
        inboxes = [p for box in m.boxes.values() for p in box.inbox.iterdir()]
        dead = m.dead_letters()
        assert len(inboxes) + len(dead) == len(names)
        event(f"delivered {len(inboxes)}, dead-lettered {len(dead)}")
        for path in inboxes:  # a delivery is a regular, private message from the outbox's owner
            st_ = os.lstat(path)
            assert stat.S_ISREG(st_.st_mode) and stat.S_IMODE(st_.st_mode) == 0o600
            assert read_headers(path.read_bytes().decode("utf-8")).sender == "alpha"
        for path in dead:
            assert Path(str(path) + ".reason.json").exists()
            assert len(os.fsencode(path.name + ".reason.json")) <= 255

"""The router against hostile outbox files and folders: real files, a real Router, no tmux.

Issue #7 items 1 (nothing raised while one file is handled ends routing), 4 (an outbox that is an
inbox is not routed), 5 (names that cannot grow), 11 (duplicate ids), 16 (dead letter never into a
mail folder; the true sender on dead letters) and the privacy of delivered files.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from conftest import wait_until
from routerkit import Mail, drop, front, leftovers, mail, message, pane, reason_of
from tmms import message as message_module
from tmms import registry, store
from tmms.message import Headers
from tmms.names import NAME_MAX
from tmms.server import corrections, handover, router
from tmms.server.handover import Held
from tmms.server.router import FAIL_LIMIT, Status
from tmms.server.seen_ids import SeenIds

ALPHA_TO_BETA = message("alpha", "beta")


@pytest.fixture
def box(tmp_path: Path) -> Mail:
    return mail(tmp_path)


# -- item 1: whatever one file raises, it goes to dead letter and the rest flows -------------------------


class Raised(NamedTuple):
    test_id: str
    error: BaseException


RAISED = [
    Raised("recursion", RecursionError("maximum recursion depth exceeded")),
    Raised("memory", MemoryError()),
    Raised("value", ValueError("odd")),
    Raised("key", KeyError("tmms_to")),
    Raised("type", TypeError("unhashable type: 'list'")),
    Raised("unicode", UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")),
    Raised("index", IndexError("list index out of range")),
]


@pytest.mark.parametrize("case", RAISED, ids=[c.test_id for c in RAISED])
def test_a_file_whose_parsing_raises_anything_goes_to_dead_letter_and_the_rest_flows(
    box: Mail, monkeypatch: pytest.MonkeyPatch, case: Raised
) -> None:
    real = message_module.read_headers

    def parse(text: str) -> Headers:  # the parser raises on one file only, as a hostile file makes it
        if "poison" in text:
            raise case.error
        return real(text)

    monkeypatch.setattr(corrections, "read_headers", parse)
    drop(box.boxes["alpha"].outbox, "000-bad.md", message("alpha", "beta", body="poison\n"))
    good = drop(box.boxes["alpha"].outbox, "zzz-good.md", ALPHA_TO_BETA)
    outcomes = box.route()
    assert [p.name for p in box.inbox("beta")] == [good.name]
    [dead] = box.dead_letters()
    assert dead.name == "000-bad.md"
    assert type(case.error).__name__ in reason_of(dead)["reason"] or "nested too deeply" in reason_of(dead)["reason"]
    assert {o.status for o in outcomes} == {Status.DELIVERED, Status.DEAD}
    assert leftovers(box.boxes["alpha"].outbox) == []


def test_an_exception_while_moving_goes_to_dead_letter_not_out_of_the_router(
    box: Mail, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = handover.place

    def place(held: Held, directory: str, data: bytes | None = None, **kw: Any) -> str:
        if directory == str(box.boxes["beta"].inbox) and held.path.endswith("000-bad.md"):
            raise RecursionError("deep")
        return real(held, directory, data, **kw)

    monkeypatch.setattr(handover, "place", place)
    drop(box.boxes["alpha"].outbox, "000-bad.md", ALPHA_TO_BETA)
    good = drop(box.boxes["alpha"].outbox, "zzz-good.md", message("alpha", "beta"))
    box.route()
    assert [p.name for p in box.inbox("beta")] == [good.name]
    assert [p.name for p in box.dead_letters()] == ["000-bad.md"]
    assert "RecursionError" in reason_of(box.dead_letters()[0])["reason"]


NESTED = [
    ("flow-500", "x: " + "[" * 500 + "]" * 500 + "\n"),
    ("block-400-in-tmms-value", "tmms_subject:\n" + "".join("  " * i + "- \n" for i in range(1, 400))),
    ("mapping-1000", "".join("  " * i + f"k{i}:\n" for i in range(1000)) + "  " * 1000 + "v\n"),
    ("alias-bomb", "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: &d [*c, *c]\ntmms_recipients: [*d, *d]\n"),
]


@pytest.mark.parametrize("extra", [e for _, e in NESTED], ids=[i for i, _ in NESTED])
def test_deep_nesting_and_aliases_never_stop_routing(box: Mail, extra: str) -> None:
    drop(box.boxes["alpha"].outbox, "000-deep.md", message("alpha", "beta", extra=extra))
    good = drop(box.boxes["alpha"].outbox, "zzz-good.md", ALPHA_TO_BETA)
    box.route()
    inbox = [p.name for p in box.inbox("beta")]
    assert good.name in inbox
    assert sorted(inbox + [p.name for p in box.dead_letters()]) == ["000-deep.md", good.name]
    assert leftovers(box.boxes["alpha"].outbox) == []


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


def _symlink_to_a_file(path: Path) -> None:
    target = path.parent.parent / "secret.txt"
    target.write_text("SECRET\n")
    path.symlink_to(target)


def _dangling_symlink(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere")


def _symlink_to_a_fifo(path: Path) -> None:
    os.mkfifo(path.parent.parent / "pipe")
    path.symlink_to(path.parent.parent / "pipe")


def _char_device(path: Path) -> None:
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
    except PermissionError:
        pytest.skip("making a device needs root")


ODD_FILES = {"fifo": (_fifo, "a FIFO"), "socket": (_socket, "a socket"),
             "symlink": (_symlink_to_a_file, "a symlink"), "dangling-symlink": (_dangling_symlink, "a symlink"),
             "symlink-to-fifo": (_symlink_to_a_fifo, "a symlink"), "char-device": (_char_device, "a character device")}


@pytest.mark.parametrize("kind", list(ODD_FILES))
def test_a_file_that_is_not_regular_goes_to_dead_letter_unopened(box: Mail, kind: str) -> None:
    make, words = ODD_FILES[kind]
    odd = box.boxes["alpha"].outbox / "000-odd.md"
    make(odd)
    good = drop(box.boxes["alpha"].outbox, "zzz-good.md", ALPHA_TO_BETA)
    box.route()
    assert [p.name for p in box.inbox("beta")] == [good.name]
    [dead] = box.dead_letters()
    assert dead.name == "000-odd.md"
    assert reason_of(dead)["reason"] == f"not a regular file ({words})"
    assert leftovers(box.boxes["alpha"].outbox) == []


@pytest.mark.parametrize("kind", ["fifo", "symlink", "socket"])
def test_a_file_swapped_for_another_type_after_it_was_listed_goes_to_dead_letter(box: Mail, kind: str) -> None:
    path = drop(box.boxes["alpha"].outbox, "000-swapped.md", ALPHA_TO_BETA)
    st = os.lstat(path)
    entry = store.Entry(str(path), path.name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode)
    path.unlink()
    ODD_FILES[kind][0](path)  # listed as a regular file; something else by the time it is opened
    outcome = box.router.route(entry, str(box.boxes["alpha"].outbox))
    assert outcome.status is Status.DEAD
    assert "not a regular file" in outcome.reason
    assert box.inbox("beta") == []


def test_a_folder_named_like_a_message_is_left_alone_and_reported_once(
    box: Mail, caplog: pytest.LogCaptureFixture
) -> None:
    folder = box.boxes["alpha"].outbox / "notes.md"
    folder.mkdir()
    good = drop(box.boxes["alpha"].outbox, "zzz-good.md", ALPHA_TO_BETA)
    with caplog.at_level(logging.WARNING, logger="tmms.router"):
        box.route()
        box.route()
    assert folder.is_dir()
    assert [p.name for p in box.inbox("beta")] == [good.name]
    assert sum("notes.md is a folder" in r.getMessage() for r in caplog.records) == 1


def _when_due(m: Mail, path: Path) -> router.Outcome:
    """Route a file again once its pause after a failure is over."""
    due = m.router.next_recheck()  # inf before the first try
    wait_until(lambda: due == math.inf or time.monotonic() >= due, timeout=30)
    return m.router.route_path(str(path))


def _inbox_that_is_a_file(m: Mail) -> None:
    inbox = m.boxes["beta"].inbox
    inbox.rmdir()
    inbox.write_text("an inbox that is a file\n")  # every move into it fails with ENOTDIR


def test_a_failure_that_keeps_coming_ends_in_dead_letter_after_the_limit(tmp_path: Path) -> None:
    m = mail(tmp_path, polling_interval=0.05)  # pauses between tries are at most polling_interval
    _inbox_that_is_a_file(m)
    path = drop(m.boxes["alpha"].outbox, "m.md", ALPHA_TO_BETA)
    outcomes = [_when_due(m, path) for _ in range(FAIL_LIMIT)]
    assert [o.status for o in outcomes] == [Status.FAILED] * (FAIL_LIMIT - 1) + [Status.DEAD]
    assert "Not a directory" in outcomes[0].reason
    [dead] = m.dead_letters()
    assert f"tried {FAIL_LIMIT} times" in reason_of(dead)["reason"]
    assert front(dead)["tmms_from"] == "alpha"


def test_a_failed_file_waits_a_growing_pause_and_its_own_events_do_not_retry_it(box: Mail) -> None:
    _inbox_that_is_a_file(box)
    path = drop(box.boxes["alpha"].outbox, "m.md", ALPHA_TO_BETA)
    pauses = []
    for _ in range(3):
        assert _when_due(box, path).status is Status.FAILED
        pauses.append(box.router.next_recheck() - time.monotonic())
        early = box.router.route_path(str(path))  # an event (its put-back) before the pause is over
        assert early.status is Status.PENDING and "tried again" in early.reason
    assert pauses[0] < pauses[1] < pauses[2]


def test_an_unlistable_outbox_is_reported_and_routing_goes_on(box: Mail) -> None:
    outbox = box.boxes["alpha"].outbox
    outbox.rmdir()
    outbox.write_text("not a folder\n")  # listing it fails with ENOTDIR
    good = drop(box.boxes["carol"].outbox, "m.md", message("carol", "beta"))
    box.route()
    assert [p.name for p in box.inbox("beta")] == [good.name]


# -- item 4: an outbox that is also an inbox, a read folder or dead letter is never routed ----------------


def _same_as_inbox(m: Mail) -> Path:
    return m.boxes["alpha"].inbox


def _symlink_to_inbox(m: Mail) -> Path:
    link = m.root / "link-to-inbox"
    link.symlink_to(m.boxes["beta"].inbox)
    return link


def _dotdot_spelling(m: Mail) -> Path:
    return m.boxes["beta"].inbox.parent / "outbox" / ".." / "inbox"


def _read_folder(m: Mail) -> Path:
    read = m.boxes["beta"].inbox / "read"
    read.mkdir()
    return read


def _dead_letter(m: Mail) -> Path:
    m.dead.mkdir(exist_ok=True)
    return m.dead


LOOPS = {"own-inbox": _same_as_inbox, "symlink-to-inbox": _symlink_to_inbox, "dotdot": _dotdot_spelling,
         "read-folder": _read_folder, "dead-letter": _dead_letter}


@pytest.mark.parametrize("kind", list(LOOPS))
def test_an_outbox_that_is_an_inbox_or_dead_letter_is_not_routed_and_said_once(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    m = mail(tmp_path)
    loopy = LOOPS[kind](m)
    panes = [p for p in m.panes if p.option("name") != "alpha"]
    m.set_panes([pane("%9", "alpha", m.boxes["alpha"].inbox, loopy), *panes])
    data = message("alpha", "carol")
    stuck = drop(loopy, "stuck.md", data)
    good = drop(m.boxes["beta"].outbox, "good.md", message("beta", "carol"))
    with caplog.at_level(logging.ERROR, logger="tmms.router"):
        for _ in range(3):
            m.route()
            assert m.router.route_path(str(stuck)).status is Status.REFUSED
    assert stuck.read_bytes() == data
    assert m.inbox("carol") == [m.boxes["carol"].inbox / good.name]
    assert [p for p in m.dead_letters() if p != stuck] == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and "not routing" in r.getMessage()]
    assert len(errors) == 1, errors


def test_a_refused_outbox_is_routed_again_once_the_panes_are_fixed(tmp_path: Path) -> None:
    m = mail(tmp_path)
    panes = [p for p in m.panes if p.option("name") != "alpha"]
    m.set_panes([pane("%9", "alpha", m.boxes["alpha"].inbox, m.boxes["alpha"].inbox), *panes])
    waiting = drop(m.boxes["alpha"].inbox, "w.md", message("alpha", "beta"))
    m.route()
    assert waiting.exists()
    m.set_panes([pane("%9", "alpha", m.boxes["alpha"].inbox, m.boxes["alpha"].outbox), *panes])
    drop(m.boxes["alpha"].outbox, "next.md", message("alpha", "beta"))
    m.route()
    assert [p.name for p in m.inbox("beta")] == ["next.md"]
    assert waiting.exists()  # a file of the former inbox-outbox stays an inbox file


class Registration(NamedTuple):
    test_id: str
    inbox: str
    outbox: str
    words: str


def test_registration_problem_names_every_overlap(tmp_path: Path) -> None:
    m = mail(tmp_path)
    others = m.registry().mailboxes
    beta = m.boxes["beta"]
    link = tmp_path / "link"
    link.symlink_to(beta.inbox)
    dead = str(tmp_path / "dead")
    cases = [
        Registration("same", str(tmp_path / "x"), str(tmp_path / "x"), "the inbox and the outbox are the same folder"),
        Registration("own-read", str(tmp_path / "y"), str(tmp_path / "y" / "read"), "read-mail folder"),
        Registration("others-inbox", str(tmp_path / "z"), str(beta.inbox), "inbox of pane %2"),
        Registration("symlinked-inbox", str(tmp_path / "z"), str(link), "inbox of pane %2"),
        Registration("others-read", str(tmp_path / "z"), str(beta.inbox / "read"), "read-mail folder of pane %2"),
        Registration("inbox-is-outbox", str(beta.outbox), str(tmp_path / "o"), "outbox of pane %2"),
        Registration("dead-letter-outbox", str(tmp_path / "i"), dead, "dead-letter folder"),
        Registration("dead-letter-inside", str(tmp_path), str(tmp_path / "o2"), "dead-letter folder"),
    ]
    for case in cases:
        problem = registry.registration_problem(case.inbox, case.outbox, others, dead)
        assert case.words in problem, (case.test_id, problem)
    assert registry.registration_problem(str(tmp_path / "i"), str(tmp_path / "o"), others, dead) == ""


# -- item 5: every file reaches an inbox or dead letter, whatever its name ------------------------------


def _long_name(total: int, char: str = "a") -> str:
    stem = "20260322-143005_alpha_to_beta_"
    filler = (total - len(stem.encode()) - len("_1a2b3c4d.md")) // len(char.encode())
    return stem + char * filler + "_1a2b3c4d.md"


NAMES = {
    "252-bytes": _long_name(252),
    "255-bytes": _long_name(255),
    "multibyte-254": _long_name(254, "é"),
    "4-byte-chars": _long_name(255, "😀"),
    "not-utf8": os.fsdecode(b"\xff\xfe" * 100 + b"_1a2b3c4d.md"),
}


def _names_fit(folder: Path) -> None:
    for name in os.listdir(folder):
        assert len(os.fsencode(name)) <= NAME_MAX


@pytest.mark.parametrize("kind", list(NAMES))
def test_a_long_name_that_needs_a_sender_correction_and_clashes_is_delivered(box: Mail, kind: str) -> None:
    name = NAMES[kind]
    inbox = box.boxes["beta"].inbox
    (inbox / name).write_text("an earlier message of that name\n")
    drop(box.boxes["alpha"].outbox, name, message("carol", "beta"))  # forged: needs a correction
    box.route()
    fresh = [p for p in box.inbox("beta") if p.name != name]
    assert len(fresh) == 1
    assert front(fresh[0])["tmms_from"] == "alpha"
    assert fresh[0].name.endswith(".md") and "1a2b3c4d" in fresh[0].name
    assert leftovers(box.boxes["alpha"].outbox) == []
    _names_fit(inbox)


@pytest.mark.parametrize("kind", list(NAMES))
def test_a_long_name_is_dead_lettered_with_its_reason_beside_it(box: Mail, kind: str) -> None:
    name = NAMES[kind]
    drop(box.boxes["alpha"].outbox, name, message("alpha", "nobody"))
    box.route()
    [dead] = box.dead_letters()
    assert "unknown recipient" in reason_of(dead)["reason"]
    assert dead.name.endswith(".md")
    _names_fit(box.dead)


def test_a_name_that_clashed_1000_times_is_still_delivered(box: Mail) -> None:
    inbox = box.boxes["beta"].inbox
    name = "m_1a2b3c4d.md"
    (inbox / name).write_text("taken\n")
    for n in range(2, 1002):  # the name and its numbered variants up to -1001 are all taken
        (inbox / f"m_1a2b3c4d-{n}.md").write_text("taken\n")
    drop(box.boxes["alpha"].outbox, name, ALPHA_TO_BETA)
    box.route()
    assert len(box.inbox("beta")) == 1002
    assert leftovers(box.boxes["alpha"].outbox) == []


def test_a_filesystem_with_shorter_names_gets_a_generated_name(tmp_path: Path) -> None:
    def put(path: str) -> None:  # a folder whose filesystem takes at most 143 bytes (as eCryptfs)
        if len(os.fsencode(os.path.basename(path))) > 143:
            raise OSError(36, "File name too long", path)
        Path(path).write_text("x")

    final = store.take_name(str(tmp_path), _long_name(250), (".reason.json",), put)
    assert Path(final).exists() and os.path.basename(final).startswith("tmms-")
    assert os.path.basename(final).endswith(".md")


# -- item 6 (privacy), 11 (ids), 16 (dead letter) ---------------------------------------------------------


def test_a_delivered_file_is_private_whatever_its_mode_was(box: Mail) -> None:
    path = drop(box.boxes["alpha"].outbox, "m.md", ALPHA_TO_BETA)
    path.chmod(0o644)
    box.route()
    [delivered] = box.inbox("beta")
    assert stat.S_IMODE(delivered.stat().st_mode) == 0o600


def test_a_file_with_another_hard_link_is_delivered_as_a_copy(box: Mail, tmp_path: Path) -> None:
    path = drop(box.boxes["alpha"].outbox, "m.md", ALPHA_TO_BETA)
    side = tmp_path / "kept-by-the-writer"
    os.link(path, side)
    box.route()
    [delivered] = box.inbox("beta")
    assert delivered.read_bytes() == ALPHA_TO_BETA
    assert delivered.stat().st_ino != side.stat().st_ino  # writing through the other link changes nothing
    assert delivered.stat().st_nlink == 1


def test_an_id_delivered_before_is_replaced_and_kept_as_the_original(
    box: Mail, caplog: pytest.LogCaptureFixture
) -> None:
    first = drop(box.boxes["alpha"].outbox, "1.md", message("alpha", "beta", message_id="same-id"))
    box.route()
    impostor_text = message("carol", "beta", body="impostor\n", message_id="same-id")
    impostor = drop(box.boxes["carol"].outbox, "2.md", impostor_text)
    with caplog.at_level(logging.WARNING, logger="tmms.router"):
        [outcome] = [o for o in box.route() if o.status is Status.DELIVERED]
    real, copy = box.boxes["beta"].inbox / first.name, box.boxes["beta"].inbox / impostor.name
    assert front(real)["tmms_id"] == "same-id"
    data = front(copy)
    assert data["tmms_id"] != "same-id" and data["tmms_original_id"] == "same-id"
    assert outcome.headers is not None and outcome.headers.message_id == data["tmms_id"]
    assert outcome.extra["original_id"] == "same-id"
    assert copy.read_text().endswith("---\nimpostor\n")
    assert any("was delivered before" in r.getMessage() for r in caplog.records)


def test_delivered_ids_are_remembered_across_restarts_and_capped(tmp_path: Path) -> None:
    ids = tmp_path / "state" / "ids.log"
    m = mail(tmp_path, ids_file=ids)
    drop(m.boxes["alpha"].outbox, "1.md", message("alpha", "beta", message_id="kept"))
    m.route()
    again = mail(tmp_path, ids_file=ids)  # a new server over the same folders
    drop(again.boxes["carol"].outbox, "2.md", message("carol", "beta", message_id="kept"))
    again.route()
    assert front(again.boxes["beta"].inbox / "2.md")["tmms_original_id"] == "kept"
    assert stat.S_IMODE(ids.stat().st_mode) == 0o600
    capped = SeenIds(str(tmp_path / "capped.log"), cap=3)
    for n in range(10):
        capped.add(f"id-{n}")
    assert len(capped) == 3 and "id-9" in capped and "id-6" not in capped
    reread = SeenIds(str(tmp_path / "capped.log"), cap=3)
    assert len(reread) == 3 and "id-9" in reread and "id-0" not in reread
    assert len((tmp_path / "capped.log").read_bytes().splitlines()) <= 2 * 3 + 1


def _unsafe_dead_letter(m: Mail, kind: str) -> None:
    beta = m.boxes["beta"]
    m.dead.parent.mkdir(parents=True, exist_ok=True)
    if kind == "symlink-to-inbox":
        m.dead.symlink_to(beta.inbox)
    elif kind == "inside-inbox":
        m.dead.symlink_to(beta.inbox / "sub")
    elif kind == "symlink-to-outbox":
        m.dead.symlink_to(beta.outbox)
    elif kind == "read-folder":
        (beta.inbox / "read").mkdir()
        m.dead.symlink_to(beta.inbox / "read")
    elif kind == "a-file":
        m.dead.write_text("not a folder\n")
    elif kind == "a-fifo":
        os.mkfifo(m.dead)
    elif kind == "dangling-symlink":
        m.dead.symlink_to(m.root / "nowhere" / "dead")
    elif kind == "under-a-file":  # the configured folder is m.dead / "sub"
        m.dead.write_text("not a folder\n")


@pytest.mark.parametrize("kind", ["symlink-to-inbox", "inside-inbox", "symlink-to-outbox", "read-folder",
                                  "a-file", "a-fifo", "dangling-symlink", "under-a-file"])
def test_dead_letter_never_goes_into_a_mail_folder(tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    m = mail(tmp_path, dead_letter_dir=str(tmp_path / "dead" / "sub")) if kind == "under-a-file" else mail(tmp_path)
    _unsafe_dead_letter(m, kind)
    with caplog.at_level(logging.ERROR, logger="tmms.router"):
        for n in range(3):
            drop(m.boxes["alpha"].outbox, f"bad-{n}.md", message("carol", "nobody"))
            m.route()
    assert list(m.boxes["beta"].inbox.rglob("*.md")) == []
    assert leftovers(m.boxes["beta"].outbox) == []
    fallback = tmp_path / "state" / "dead-letter"
    letters = sorted(p for p in fallback.iterdir() if p.name.endswith(".md"))
    assert [p.name for p in letters] == ["bad-0.md", "bad-1.md", "bad-2.md"]
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o700
    assert sum("is not safe" in r.getMessage() for r in caplog.records) == 1
    assert front(letters[0])["tmms_from"] == "alpha"


def test_a_dead_letter_carries_the_true_sender_and_its_reason_the_claim(box: Mail) -> None:
    forged = message("carol", "nobody", body="trust me\n", extra="# a comment\n")
    drop(box.boxes["alpha"].outbox, "forged.md", forged)
    outcomes = box.route()
    [dead] = box.dead_letters()
    assert front(dead)["tmms_from"] == "alpha"
    assert dead.read_bytes() == forged.replace(b"tmms_from: carol", b"tmms_from: alpha")
    record = reason_of(dead)
    assert record["tmms_from"] == "alpha" and record["claimed_from"] == "carol"
    assert record["outbox_owner"] == "alpha"
    [outcome] = [o for o in outcomes if o.status is Status.DEAD]
    assert outcome.headers is not None and outcome.headers.sender == "alpha"


def test_an_unparseable_dead_letter_keeps_its_bytes_and_its_reason_names_the_owner(box: Mail) -> None:
    raw = b"---\ntmms_from: carol\ntmms_to: [beta\n---\nbody\n"
    drop(box.boxes["alpha"].outbox, "broken.md", raw)
    box.route()
    [dead] = box.dead_letters()
    assert dead.read_bytes() == raw
    assert reason_of(dead)["outbox_owner"] == "alpha"


def test_a_file_left_staged_by_a_crash_is_put_back_and_delivered_once(box: Mail) -> None:
    outbox = box.boxes["alpha"].outbox
    staged = drop(outbox, ".tmms-routing-0123456789abcdef-m.md", ALPHA_TO_BETA)
    box.route()
    assert [p.name for p in box.inbox("beta")] == ["m.md"]
    assert not staged.exists()
    assert leftovers(outbox) == []


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_dead_letters_and_reasons_are_private_under_umask_022(box: Mail, umask_022: None) -> None:
    drop(box.boxes["alpha"].outbox, "x.md", message("alpha", "nobody"))
    box.route()
    [dead] = box.dead_letters()
    assert stat.S_IMODE(dead.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(str(dead) + ".reason.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(box.dead.stat().st_mode) == 0o700


def test_a_file_read_only_in_part_is_moved_whole_never_copied_from_the_part(tmp_path: Path) -> None:
    outbox, dead = tmp_path / "outbox", tmp_path / "dead"
    outbox.mkdir()
    data = ALPHA_TO_BETA + b"x" * 5000
    path = drop(outbox, "big.md", data)
    os.link(path, tmp_path / "second-link")  # a copy would be made for a file with other links...
    held = handover.hold(str(path), 100)  # ...but only 100 bytes were read (it grew past the limit)
    assert held is not None
    with held:
        final = handover.place(held, str(dead))
    assert Path(final).read_bytes() == data
    assert leftovers(outbox) == []


def test_the_router_says_which_dead_letter_folder_it_uses(tmp_path: Path) -> None:
    m = mail(tmp_path)
    assert m.router.dead_letter_dir() == str(m.dead)
    m.dead.symlink_to(m.boxes["beta"].inbox)
    m.router.refresh_registry()
    assert m.router.dead_letter_dir() == str(tmp_path / "state" / "dead-letter")

"""A file written in place is routed only once it has stayed unchanged for settle_seconds; a file
renamed or linked in whole (``tmms post``, any atomic writer) is routed at once (issue 7, item 12)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from conftest import TmuxServer, messages, wait_until
from test_server_events import StartServer, message_text, start_server, write_message
from tmms import store
from tmms.server.arrivals import Arrivals
from tmms.server.router import WRITTEN_IN_PLACE, Status
from tmms.watch import Batch, Watcher

__all__ = ["start_server"]  # the fixture, shared with test_server_events


def _entry(path: Path) -> store.Entry:
    st = os.lstat(path)
    return store.Entry(str(path), path.name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode)


def _in_place(folder: Path, name: str, data: bytes) -> None:
    with open(folder / name, "wb") as handle:
        handle.write(data)


def _renamed_in(folder: Path, name: str, data: bytes) -> None:
    temp = folder / f".{name}.tmp"
    temp.write_bytes(data)
    os.rename(temp, folder / name)


def _moved_from_elsewhere(folder: Path, name: str, data: bytes) -> None:
    elsewhere = folder.parent / "drafts"
    elsewhere.mkdir(exist_ok=True)
    (elsewhere / name).write_bytes(data)
    subprocess.run(["mv", str(elsewhere / name), str(folder / name)], check=True)


def _linked_in(folder: Path, name: str, data: bytes) -> None:
    store.write_new(str(folder), name, data)  # what tmms post does: a dot file, then link and unlink


def _hard_linked_with_ln(folder: Path, name: str, data: bytes) -> None:
    elsewhere = folder.parent / "drafts"
    elsewhere.mkdir(exist_ok=True)
    (elsewhere / name).write_bytes(data)
    subprocess.run(["ln", str(elsewhere / name), str(folder / name)], check=True)
    (elsewhere / name).unlink()


def _appended_after_rename(folder: Path, name: str, data: bytes) -> None:
    _renamed_in(folder, name, data[: len(data) // 2])
    with open(folder / name, "ab") as handle:
        handle.write(data[len(data) // 2:])


def _renamed_over_an_in_place_file(folder: Path, name: str, data: bytes) -> None:
    _in_place(folder, name, data[:10])
    _renamed_in(folder, name, data)


def _touched(folder: Path, name: str, _data: bytes) -> None:
    subprocess.run(["touch", str(folder / name)], check=True)


class Arrival(NamedTuple):
    test_id: str
    write: Callable[[Path, str, bytes], None]
    whole: bool


ARRIVALS = [
    Arrival("tmms-post-link", _linked_in, True),
    Arrival("rename-of-dot-temp", _renamed_in, True),
    Arrival("mv-from-another-folder", _moved_from_elsewhere, True),
    Arrival("ln-hard-link", _hard_linked_with_ln, True),
    Arrival("renamed-over-in-place-file", _renamed_over_an_in_place_file, True),
    Arrival("written-in-place", _in_place, False),
    Arrival("appended-after-rename", _appended_after_rename, False),
    Arrival("touch-created", _touched, False),
]


# -- what the events say (no tmux) ------------------------------------------------------------------


@pytest.mark.parametrize("case", ARRIVALS, ids=[c.test_id for c in ARRIVALS])
def test_the_last_event_of_a_name_says_whether_it_arrived_whole(tmp_path: Path, case: Arrival) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    watcher = Watcher()
    try:
        assert watcher.watch(str(outbox))
        case.write(outbox, "m.md", b"---\ntmms_to: beta\n---\nbody\n")
        batch = watcher.read_now()  # inotify queues events in the system call itself
        arrivals = Arrivals(watcher)
        arrivals.folders = {str(outbox)}
        arrivals.note(batch)
        path = str(outbox / "m.md")
        assert path in batch.paths
        assert (path not in batch.written) is case.whole
        assert arrivals.whole(_entry(outbox / "m.md")) is case.whole
    finally:
        watcher.close()


def test_a_close_not_yet_read_when_the_file_was_read_is_found_before_delivery(tmp_path: Path) -> None:
    """The server saw only the create; the writer closed just before the read: the check still sees it."""
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    watcher = Watcher()
    try:
        watcher.watch(str(outbox))
        arrivals = Arrivals(watcher)
        arrivals.folders = {str(outbox)}
        with open(outbox / "m.md", "w") as writer:
            arrivals.note(watcher.read_now())  # the create, while the writer still has the file open
            assert arrivals.maybe_whole(str(outbox / "m.md"))
            writer.write("---\ntmms_to: beta\n---\nhalf of it\n")
            assert not arrivals.whole(_entry(outbox / "m.md"))  # a writer has it open
        assert not arrivals.whole(_entry(outbox / "m.md"))  # its close, read now, says: written in place
        assert [str(outbox / "m.md")] == [p for b in arrivals.backlog for p in b.paths]  # kept for the loop
    finally:
        watcher.close()


def test_lost_events_forget_what_was_known(tmp_path: Path) -> None:
    arrivals = Arrivals(Watcher())
    try:
        arrivals.folders = {str(tmp_path)}
        arrivals.note(Batch(paths=(str(tmp_path / "a.md"), str(tmp_path / "b.md"))))
        assert arrivals.maybe_whole(str(tmp_path / "a.md"))
        arrivals.note(Batch(overflow=True))
        assert not arrivals.maybe_whole(str(tmp_path / "a.md"))
        arrivals.note(Batch(paths=(str(tmp_path / "a.md"),)))
        arrivals.note(Batch(rescan=(str(tmp_path),)))  # the watch was lost and made again
        assert len(arrivals) == 0
        arrivals.note(Batch(paths=(str(tmp_path.parent / "inbox" / "c.md"),)))  # not an outbox
        assert len(arrivals) == 0
    finally:
        arrivals.watcher.close()


# -- chunked writers against a real server --------------------------------------------------------


class Chunked(NamedTuple):
    test_id: str
    chunks: Callable[[str], list[str]]  # the message text -> what each writer run writes
    truncate: bool  # each chunk rewrites the file (>) instead of appending (>>)


def _front_matter_first(text: str) -> list[str]:
    head, body = text.split("\n---\n", 1)
    lines = [line + "\n" for line in (body + "line two\nline three\n#end\n").splitlines()]
    return [head + "\n---\n" + lines[0], *lines[1:]]


def _front_matter_split(text: str) -> list[str]:
    cut = text.index("tmms_created_at")
    head, body = text[:cut], text[cut:]
    return [head, body.split("\n---\n", 1)[0] + "\n---\n", "body one\n", "body two\n#end\n"]


def _line_by_line(text: str) -> list[str]:
    return [line + "\n" for line in (text + "more\n#end\n").splitlines()]


def _growing_prefixes(text: str) -> list[str]:
    full = text + "second\nthird\n#end\n"
    cut = full.index("\n---\n") + 5
    return [full[:cut], full[: cut + 7], full[: cut + 14], full]


CHUNKED = [
    Chunked("front-matter-closed-in-the-first-chunk", _front_matter_first, False),
    Chunked("front-matter-closed-in-a-later-chunk", _front_matter_split, False),
    Chunked("one-line-per-chunk", _line_by_line, False),
    Chunked("truncate-and-rewrite", _growing_prefixes, True),
]
_WRITER = ('f=$1; op=$2; shift 2; first=1; for c in "$@"; do '
           'if [ $first = 1 ]; then printf %s "$c" > "$f"; first=0; '
           'elif [ "$op" = rewrite ]; then sleep 0.3; printf %s "$c" > "$f"; '
           'else sleep 0.3; printf %s "$c" >> "$f"; fi; done')


@pytest.mark.parametrize("case", CHUNKED, ids=[c.test_id for c in CHUNKED])
def test_a_file_written_in_chunks_by_shell_redirections_is_delivered_once_and_whole(
    tmux_server: TmuxServer, start_server: StartServer, case: Chunked
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    served = start_server(settle_seconds=2, polling_interval=0.5)
    chunks = case.chunks(message_text("alpha", "beta", str(uuid.uuid4())))
    target = alpha.outbox / f"by-hand-{case.test_id}.md"
    subprocess.run(["sh", "-c", _WRITER, "sh", str(target), "rewrite" if case.truncate else "append", *chunks],
                   check=True, timeout=60)
    whole = chunks[-1] if case.truncate else "".join(chunks)
    [delivered] = wait_until(lambda: messages(beta.inbox), timeout=30)
    served.settle()
    served.stop()
    assert delivered.name == target.name
    assert delivered.read_text() == whole
    assert messages(beta.inbox) == [delivered]
    assert messages(alpha.outbox) == []
    assert messages(tmux_server.root / "dead") == []
    assert [o.status for o in served.outcomes if o.status is not Status.PENDING] == [Status.DELIVERED]
    assert any(o.reason == WRITTEN_IN_PLACE for o in served.outcomes)  # it did wait


def test_a_file_copied_in_with_cp_waits_for_the_quiet_period_then_goes(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    served = start_server(settle_seconds=1, polling_interval=3600)
    draft = tmux_server.root / "draft.md"
    draft.write_text(message_text("alpha", "beta", str(uuid.uuid4())))
    subprocess.run(["cp", str(draft), str(alpha.outbox / "copied.md")], check=True)
    wait_until(lambda: messages(beta.inbox), timeout=15)
    served.stop()
    assert (beta.inbox / "copied.md").read_text() == draft.read_text()
    assert any(o.reason == WRITTEN_IN_PLACE for o in served.outcomes)


# -- files that arrive whole go at once ------------------------------------------------------------


def _post(tmux_server: TmuxServer, pane: str) -> None:
    done = tmux_server.tmms("post", "-t", "beta", "-s", "posted", input="by tmms post\n", pane=pane)
    assert done.returncode == 0, done.stderr


WHOLE_WRITERS = [c for c in ARRIVALS if c.whole]


def test_files_renamed_or_linked_in_are_routed_without_the_quiet_period(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    # A quiet period of an hour: a file made to wait for it could not arrive within the waits below.
    served = start_server(settle_seconds=3600, polling_interval=3600)
    for n, case in enumerate(WHOLE_WRITERS):
        case.write(alpha.outbox, f"whole-{n}-{case.test_id}.md",
                   message_text("alpha", "beta", str(uuid.uuid4())).encode())
        wait_until(lambda n=n: len(messages(beta.inbox)) == n + 1, timeout=10)  # type: ignore[misc]
    _post(tmux_server, alpha.pane_id)
    wait_until(lambda: len(messages(beta.inbox)) == len(WHOLE_WRITERS) + 1, timeout=10)
    served.stop()
    assert messages(alpha.outbox) == []
    waited = {os.path.basename(o.source) for o in served.outcomes if o.reason == WRITTEN_IN_PLACE}
    assert waited <= {f"whole-{n}-renamed-over-in-place-file.md" for n in range(len(WHOLE_WRITERS))}  # its first form


def test_a_file_written_in_place_stays_until_it_has_been_quiet(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    served = start_server(settle_seconds=3600, polling_interval=0.3)
    in_place = alpha.outbox / "in-place.md"
    in_place.write_text(message_text("alpha", "beta", str(uuid.uuid4())))
    barrier = write_message(alpha.outbox, "alpha", "beta")  # renamed in after it: routed at once
    wait_until(lambda: barrier in served.ids(Status.DELIVERED))
    wait_until(lambda: served.server.counters.refreshes >= 3)  # and a few scans later
    assert in_place.exists()
    assert not (beta.inbox / in_place.name).exists()
    hour_ago = time.time() - 3700
    os.utime(in_place, (hour_ago, hour_ago))  # as if it had been written an hour ago, and left alone
    wait_until(lambda: (beta.inbox / in_place.name).exists(), timeout=15)
    served.stop()
    assert messages(alpha.outbox) == []


def test_a_file_found_by_the_startup_scan_goes_at_once_when_old_and_waits_when_fresh(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    old = alpha.outbox / "old.md"
    old.write_text(message_text("alpha", "beta", str(uuid.uuid4())))
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    fresh = alpha.outbox / "fresh.md"
    fresh.write_text(message_text("alpha", "beta", str(uuid.uuid4())))
    served = start_server(settle_seconds=3600, polling_interval=0.3)
    wait_until(lambda: (beta.inbox / "old.md").exists())
    barrier = write_message(alpha.outbox, "alpha", "beta")
    wait_until(lambda: barrier in served.ids(Status.DELIVERED))
    served.stop()
    assert fresh.exists()  # no event said how it arrived: it waits like a file written in place


def test_a_file_with_an_mtime_in_the_future_still_goes_once_unchanged_for_the_period(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    served = start_server(settle_seconds=1, polling_interval=0.3)
    target = alpha.outbox / "future.md"
    target.write_text(message_text("alpha", "beta", str(uuid.uuid4())))
    later = time.time() + 7 * 24 * 3600
    os.utime(target, (later, later))
    wait_until(lambda: (beta.inbox / "future.md").exists(), timeout=15)
    served.stop()
    assert messages(tmux_server.root / "dead") == []

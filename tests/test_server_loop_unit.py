"""The server loop without tmux: a scripted file-event source and a fake pane source drive a real Server.

The second test layer (as watchfiles tests its loop with a scripted notifier): the folders, the
router, the moves, the journal and the lock are real; only the panes (a list the test edits) and
the file events (batches the test pushes) are not. The end-to-end tests with tmux stay.
"""

from __future__ import annotations

import collections
import math
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import wait_until
from routerkit import drop, message, pane
from tmms import store
from tmms.config import Config
from tmms.registry import Mailbox, Registry
from tmms.server.loop import Counters, Server
from tmms.server.router import Outcome, Status
from tmms.tmux import PaneRecord, Tmux
from tmms.watch import Batch


class ScriptedWatcher:
    """The Watcher interface with no inotify: ``wait`` hands out the batches a test pushes."""

    available = True
    degraded: str | None = None

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._script: collections.deque[Batch] = collections.deque()
        self._woken = False
        self.folders: set[str] = set()
        self.waits = 0  # how often the loop has asked for events
        self.closed = False

    def push(self, batch: Batch) -> None:
        """The next batch ``wait`` (or ``read_now``) returns."""
        with self._cond:
            self._script.append(batch)
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def watch(self, directory: str) -> bool:
        if not os.path.isdir(directory):
            return False
        self.folders.add(directory)
        return True

    def unwatch(self, directory: str) -> None:
        self.folders.discard(directory)

    def watched(self) -> set[str]:
        return set(self.folders)

    def refused(self) -> set[str]:
        return set()

    def wait(self, timeout: float | None) -> Batch:
        with self._cond:
            self.waits += 1
            self._cond.wait_for(lambda: self._script or self._woken, timeout)
            if self._script:
                return self._script.popleft()
            woken, self._woken = self._woken, False
            return Batch(woken=woken)

    def read_now(self) -> Batch:
        with self._cond:
            return self._script.popleft() if self._script else Batch()

    def close(self) -> None:
        self.closed = True


class Recorder:
    """A follow-up that records what the loop told it."""

    def __init__(self) -> None:
        self.ids: list[str] = []  # the message id of each delivery, in order
        self.paths: list[str] = []  # the inbox files file events named
        self.served: list[Registry] = []
        self.flushes = 0
        self.started = False
        self.closed = False

    def start(self) -> None:
        self.started = True

    def serve(self, registry: Registry) -> None:
        self.served.append(registry)

    def delivered(self, outcome: Outcome, box: Mailbox) -> None:
        assert outcome.headers is not None and outcome.recipient == box
        self.ids.append(outcome.headers.message_id)

    def arrived(self, path: str, inbox: str) -> None:
        self.paths.append(path)

    def scan(self, inboxes: set[str], *, complete: bool = False) -> None:
        pass

    def next_recheck(self) -> float:
        return math.inf

    def recheck(self, now: float) -> None:
        pass

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        self.closed = True


@dataclass
class Loop:
    """A Server in a thread over fake panes and scripted events, with what it reported."""

    root: Path
    panes: list[PaneRecord]
    watcher: ScriptedWatcher
    server: Server
    outcomes: list[Outcome]
    thread: threading.Thread
    result: list[Counters | BaseException] = field(default_factory=list)

    def box(self, name: str, folder: str) -> Path:
        return self.root / "mail" / name / folder

    def add_pane(self, name: str) -> None:
        """Register one more pane (read at the next re-read of the panes)."""
        inbox, outbox = self.box(name, "inbox"), self.box(name, "outbox")
        inbox.mkdir(parents=True, exist_ok=True)
        outbox.mkdir(parents=True, exist_ok=True)
        self.panes.append(pane(f"%{len(self.panes) + 10}", name, inbox, outbox))

    def close_pane(self, name: str) -> None:
        self.panes[:] = [p for p in self.panes if p.options.get("@tmms_name") != name]

    def post(self, sender: str, to: str) -> tuple[str, Path]:
        """A message in ``sender``'s outbox (no event: the test pushes one if it wants); its id and path."""
        data = message(sender, to)
        message_id = data.decode().split("tmms_id: ", 1)[1].split("\n", 1)[0]
        return message_id, drop(self.box(sender, "outbox"), f"{message_id[:8]}.md", data)

    def inbox_ids(self, name: str) -> list[str]:
        return sorted(p.name[:8] for p in self.box(name, "inbox").iterdir() if p.name.endswith(".md"))

    def delivered(self) -> list[str]:
        return [o.headers.message_id for o in list(self.outcomes) if o.status is Status.DELIVERED and o.headers]

    def stop(self) -> Counters:
        self.server.request_stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()
        (result,) = self.result
        assert isinstance(result, Counters), result
        return result


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path, for a unix socket (their paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="tmms-loop-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def loop(home: Path, tmp_path: Path, short_dir: Path) -> Iterator[Loop]:
    """A running server: panes alpha and beta, no periodic scan to speak of, files settle at once."""
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(short_dir / "tmux"))  # a socket where tmux's would be: the lock is keyed by it
    panes: list[PaneRecord] = []
    watcher = ScriptedWatcher()
    config = Config(polling_interval=3600.0, settle_seconds=0.0, recipient_grace_seconds=0.0,
                    dead_letter_dir=str(tmp_path / "dead"))
    outcomes: list[Outcome] = []
    server = Server(Tmux(socket_path=str(short_dir / "tmux")), config, on_outcome=outcomes.append,
                    watcher=watcher, panes=lambda: list(panes))
    result: list[Counters | BaseException] = []

    def run() -> None:
        try:
            result.append(server.run())
        except BaseException as exc:  # reported by Loop.stop
            result.append(exc)

    thread = threading.Thread(target=run, name="tmms-loop-test", daemon=True)
    served = Loop(tmp_path, panes, watcher, server, outcomes, thread, result)
    for name in ("alpha", "beta"):
        served.add_pane(name)
    yield served
    if thread.is_alive():
        server.request_stop()
        thread.join(timeout=30)
    sock.close()


def start(served: Loop, *followups: Recorder) -> None:
    """Run the server (with extra follow-ups) until its loop waits for events."""
    served.server.followups.extend(followups)
    served.thread.start()
    wait_until(lambda: served.watcher.waits >= 1 or served.result)
    assert not served.result, served.result


def test_a_batch_of_file_events_routes_the_files_it_names(loop: Loop) -> None:
    start(loop)
    sent = [loop.post("alpha", "beta") for _ in range(3)]
    loop.watcher.push(Batch(paths=tuple(str(path) for _id, path in sent)))
    wait_until(lambda: len(loop.inbox_ids("beta")) == 3)
    assert sorted(loop.delivered()) == sorted(message_id for message_id, _path in sent)
    assert loop.stop().delivered == 3


def test_an_overflow_makes_the_loop_scan_every_outbox(loop: Loop) -> None:
    start(loop)
    message_id, _path = loop.post("beta", "alpha")  # no event names it: only a scan can find it
    loop.watcher.push(Batch(overflow=True))
    wait_until(lambda: loop.inbox_ids("alpha"))
    assert loop.delivered() == [message_id]
    loop.stop()


def test_a_new_pane_is_watched_and_a_closed_panes_outbox_is_drained(loop: Loop) -> None:
    start(loop)
    assert loop.watcher.watched() == {str(loop.box(n, f)) for n in ("alpha", "beta") for f in ("inbox", "outbox")}
    loop.add_pane("carol")
    wait_until(lambda: str(loop.box("carol", "outbox")) in loop.watcher.watched(), timeout=30)
    assert str(loop.box("carol", "inbox")) in loop.watcher.watched()
    message_id, _path = loop.post("alpha", "beta")  # no event: the pane closing drains it
    loop.close_pane("alpha")
    wait_until(lambda: loop.delivered() == [message_id], timeout=30)
    (outcome,) = [o for o in loop.outcomes if o.status is Status.DELIVERED]
    assert outcome.headers is not None and outcome.headers.sender == "alpha"
    wait_until(lambda: str(loop.box("alpha", "inbox")) not in loop.watcher.watched(), timeout=30)
    loop.stop()


def test_a_stop_request_ends_the_loop_and_closes_what_it_opened(loop: Loop) -> None:
    recorder = Recorder()
    start(loop, recorder)
    counters = loop.stop()
    assert counters.delivered == 0
    assert loop.watcher.closed
    assert recorder.started and recorder.closed


def test_every_follow_up_is_told_of_each_delivery_once(loop: Loop) -> None:
    first, second = Recorder(), Recorder()
    start(loop, first, second)
    sent = [loop.post("alpha", "beta") for _ in range(4)]
    batch = Batch(paths=tuple(str(path) for _id, path in sent))
    loop.watcher.push(batch)
    loop.watcher.push(batch)  # the same events again: the files are gone, nothing is delivered twice
    more, _path = loop.post("beta", "alpha")
    loop.watcher.push(Batch(overflow=True))
    wait_until(lambda: len(loop.delivered()) == 5)
    loop.watcher.push(Batch(overflow=True))  # a scan that finds nothing new
    waits = loop.watcher.waits
    wait_until(lambda: loop.watcher.waits > waits + 1)
    loop.stop()
    expected = sorted([message_id for message_id, _path in sent] + [more])
    assert sorted(first.ids) == sorted(second.ids) == expected
    assert first.flushes > 0 and first.served and first.closed


def _stale_temp(folder: Path) -> Path:
    """A writer's temporary file abandoned two days ago."""
    path = folder / f".x.md{store.TEMP_MARK}1-00000000"
    path.write_bytes(b"half a message")
    old = time.time() - 48 * 3600
    os.utime(path, (old, old))
    return path


def test_stale_temporary_files_are_swept_from_each_folder_when_it_is_first_served(loop: Loop) -> None:
    at_start = _stale_temp(loop.box("beta", "inbox"))
    start(loop)
    assert not at_start.exists()
    loop.box("carol", "inbox").mkdir(parents=True)
    later = _stale_temp(loop.box("carol", "inbox"))
    fresh = loop.box("alpha", "outbox") / f".y.md{store.TEMP_MARK}1-00000000"  # being written now
    fresh.write_bytes(b"")
    loop.add_pane("carol")
    wait_until(lambda: not later.exists(), timeout=30)
    loop.stop()
    assert fresh.exists()

"""The one child-process runner, without tmux: bounded, timed out by process group, asleep while children run."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import alive, wait_until
from tmms.server.runner import Detail, Event, Job, Runner


class Events:
    """What a runner reported, in order, safe to read from the test's thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[Event, str, Detail]] = []

    def __call__(self, event: Event, job: Job, detail: Detail) -> None:
        with self.lock:
            self.seen.append((event, job.key, detail))

    def of(self, key: str) -> list[tuple[Event, Detail]]:
        with self.lock:
            return [(event, detail) for event, k, detail in self.seen if k == key]

    def ended(self, key: str) -> bool:
        return any(event in (Event.FINISHED, Event.TIMEOUT, Event.ERROR) for event, _ in self.of(key))


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def runner(events: Events) -> Iterator[Runner]:
    started = Runner(concurrency=3, timeout=30.0, listener=events)
    started.start()
    yield started
    started.stop()


def job(key: str, command: str) -> Job:
    return Job(key, command, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


def test_each_job_runs_once_and_never_more_than_concurrency_at_once(runner: Runner, events: Events,
                                                                    tmp_path: Path) -> None:
    marks, peaks = tmp_path / "running", tmp_path / "peaks"
    marks.mkdir()
    command = f'm={marks}/$$; : > "$m"; set -- {marks}/*; echo $# >> {peaks}; sleep 0.02; rm -f "$m"'
    for n in range(40):
        runner.submit(job(str(n), command))
    wait_until(lambda: all(events.ended(str(n)) for n in range(40)), timeout=60)
    for n in range(40):
        assert [event for event, _ in events.of(str(n))] == [Event.STARTED, Event.FINISHED]
    assert max(int(n) for n in peaks.read_text().split()) <= 3
    assert runner.peak_running <= 3 and runner.pending() == 0


def test_the_exit_code_and_the_pid_are_reported(runner: Runner, events: Events) -> None:
    runner.submit(job("fails", "exit 3"))
    wait_until(lambda: events.ended("fails"))
    (started, start), (finished, end) = events.of("fails")
    assert (started, finished) == ("started", "finished")  # the events compare equal to their names
    assert start.pid > 0 and end.returncode == 3


def test_a_command_that_cannot_start_is_an_error_event(runner: Runner, events: Events) -> None:
    runner.submit(job("nul", "echo \x00"))
    wait_until(lambda: events.ended("nul"))
    ((event, detail),) = events.of("nul")
    assert event is Event.ERROR and detail.error


def test_a_job_over_its_time_has_its_whole_process_group_ended(events: Events, tmp_path: Path) -> None:
    runner = Runner(concurrency=2, timeout=0.2, listener=events)
    runner.start()
    pidfile = tmp_path / "grandchild"
    try:
        runner.submit(job("slow", f"sleep 60 & echo $! > {pidfile}; wait"))
        runner.submit(job("stubborn", "trap '' TERM; sleep 60 & wait; sleep 60"))  # outlives SIGTERM
        wait_until(lambda: events.ended("slow") and events.ended("stubborn"), timeout=30)
    finally:
        runner.stop()
    assert [event for event, _ in events.of("slow")] == [Event.STARTED, Event.TIMEOUT]
    assert [event for event, _ in events.of("stubborn")] == [Event.STARTED, Event.TIMEOUT]
    assert events.of("stubborn")[-1][1].returncode == -9  # it took SIGKILL
    grandchild = int(pidfile.read_text())
    wait_until(lambda: not alive(grandchild))


def test_stop_drops_queued_jobs_and_ends_running_ones(events: Events) -> None:
    runner = Runner(concurrency=1, timeout=60.0, listener=events)
    runner.start()
    runner.submit(job("running", "sleep 60"))
    runner.submit(job("queued", "true"))
    wait_until(lambda: events.of("running"))
    runner.stop(grace=5)
    assert [event for event, _ in events.of("running")] == [Event.STARTED, Event.TIMEOUT]
    assert events.of("queued") == []


def _switches(tid: int) -> int:
    """How often a thread has gone to sleep of its own accord (Linux)."""
    for line in Path(f"/proc/self/task/{tid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches")


@pytest.mark.skipif(not hasattr(os, "pidfd_open") or not Path("/proc/self/task").is_dir(),
                    reason="needs pidfds and /proc")
def test_the_runner_sleeps_while_its_children_run(runner: Runner, events: Events, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    runner.submit(job("waits", f"read line < {gate}"))
    wait_until(lambda: events.of("waits"))
    (thread,) = [t for t in threading.enumerate() if t.name == "tmms-notifier"]  # this runner's
    assert thread.native_id is not None
    before = _switches(thread.native_id)
    with open(gate, "w") as fifo:  # the child blocks until this opens; the test sleeps a while first
        threading.Event().wait(0.5)  # 50 wake-ups for a runner that looked every 10 ms
        fifo.write("go\n")
    wait_until(lambda: events.ended("waits"))
    assert _switches(thread.native_id) - before < 10

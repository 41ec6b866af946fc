"""The one child-process runner: bounded, each job with a timeout that ends its process group.

A worker thread sleeps until something happens: a job is queued, a child exits (its pidfd turns
readable) or a deadline passes (the selector's timeout). Where pidfds are not available it looks
at its children every POLL seconds instead. A job over its time gets SIGTERM to its process group,
then SIGKILL (after KILL_AFTER seconds, or STOP_KILL_AFTER once the runner is stopping).
"""

from __future__ import annotations

import collections
import logging
import math
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from ..watch import drain

log = logging.getLogger("tmms.notify")
SHELL = "/bin/sh"
POLL = 0.01  # without pidfds: how often running children are looked at
KILL_AFTER = 1.0  # from SIGTERM to SIGKILL for a job over its time
STOP_KILL_AFTER = 0.3  # ... when the runner is stopping


class Event(StrEnum):
    """What happened to a job (equal to its name as a string)."""

    STARTED = "started"
    FINISHED = "finished"  # it exited by itself; Detail.returncode says how
    TIMEOUT = "timeout"  # it exited after its time ran out and it was signalled
    ERROR = "error"  # it could not be started; Detail.error says why


@dataclass(frozen=True)
class Detail:
    """The facts that go with an event."""

    pid: int = 0  # STARTED
    wait: float = 0.0  # STARTED: seconds it was queued
    returncode: int | None = None  # FINISHED, TIMEOUT
    error: str = ""  # ERROR


@dataclass
class Job:
    """One shell command to run, with its environment."""

    key: str
    command: str
    env: dict[str, str]
    label: str = ""
    queued_at: float = field(default_factory=time.monotonic)


Listener = Callable[[Event, Job, Detail], None]


@dataclass
class _Running:
    job: Job
    proc: subprocess.Popen[bytes]
    deadline: float
    pidfd: int = -1  # -1: none; the child is looked at every POLL seconds
    killed_at: float | None = None  # when SIGTERM was sent
    signalled_at: float = 0.0  # when its group was last sent a signal

    def due(self, stop_at: float | None) -> float:
        """When this job next needs a signal (monotonic): TERM at its deadline, then KILL."""
        if self.killed_at is None:
            return self.deadline if stop_at is None else min(self.deadline, stop_at)
        return self.signalled_at + (STOP_KILL_AFTER if stop_at is not None else KILL_AFTER)


class Runner:
    """A worker thread that runs queued jobs, at most ``concurrency`` at once, each for ``timeout`` s."""

    def __init__(self, concurrency: int, timeout: float, listener: Listener | None = None) -> None:
        self.concurrency = concurrency
        self.timeout = timeout
        self.listener = listener
        self._queue: collections.deque[Job] = collections.deque()
        self._running: list[_Running] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._wake_w = -1  # the write end of the wake-up pipe while the thread runs
        self._thread: threading.Thread | None = None
        self.peak_running = 0

    def start(self) -> None:
        """Start the worker thread."""
        read_end, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._loop, args=(read_end,), name="tmms-notifier", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job; it starts as soon as a slot is free."""
        with self._lock:
            self._queue.append(job)
        self._wake()

    def pending(self) -> int:
        """Jobs queued or running."""
        with self._lock:
            return len(self._queue) + len(self._running)

    def stop(self, grace: float = 0.6) -> None:
        """Drop queued jobs, end running process groups (TERM, then KILL), wait ``grace`` s."""
        with self._lock:
            self._stopping = True
            self._queue.clear()
        self._wake()
        if self._thread is not None:  # a server that failed to start never started it
            self._thread.join(timeout=grace)

    def _wake(self) -> None:
        with self._lock:  # the thread closes the pipe under the lock: never a write to a reused fd
            if self._wake_w < 0:
                return
            try:
                os.write(self._wake_w, b"\0")
            except BlockingIOError:  # full: a wake-up is pending anyway
                pass

    def _emit(self, event: Event, job: Job, detail: Detail) -> None:
        if self.listener is not None:
            try:
                self.listener(event, job, detail)
            except Exception:  # a listener must never stop the jobs
                log.exception("notify listener failed")

    def _loop(self, wake_r: int) -> None:
        selector = selectors.DefaultSelector()
        selector.register(wake_r, selectors.EVENT_READ)
        try:
            self._serve(selector, wake_r)
        finally:
            for run in self._running:
                _close(run.pidfd)
            selector.close()
            os.close(wake_r)
            with self._lock:
                os.close(self._wake_w)
                self._wake_w = -1

    def _serve(self, selector: selectors.BaseSelector, wake_r: int) -> None:
        stop_at: float | None = None
        while True:
            with self._lock:
                if self._stopping and stop_at is None:
                    stop_at = time.monotonic()
                starting: list[Job] = []
                while not self._stopping and self._queue and len(self._running) + len(starting) < self.concurrency:
                    starting.append(self._queue.popleft())
            for job in starting:
                self._start(job, selector)
            self._reap(stop_at, selector)
            if stop_at is not None and not self._running:
                return
            for _key, _mask in selector.select(self._timeout(stop_at)):
                drain(wake_r)  # a pidfd needs no reading: _reap looks at every child

    def _timeout(self, stop_at: float | None) -> float | None:
        """How long to sleep: until the next signal is due (None: until a wake-up or an exit)."""
        with self._lock:
            if not self._stopping and self._queue and len(self._running) < self.concurrency:
                return 0.0  # a slot came free while jobs wait
        due = min((run.due(stop_at) for run in self._running), default=math.inf)
        if any(run.pidfd < 0 for run in self._running):
            due = min(due, time.monotonic() + POLL)
        return None if due == math.inf else max(0.0, due - time.monotonic())

    def _start(self, job: Job, selector: selectors.BaseSelector) -> None:
        try:
            proc = subprocess.Popen([SHELL, "-c", job.command], env=job.env, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:  # ValueError: a NUL in the command
            self._emit(Event.ERROR, job, Detail(error=str(exc)))
            return
        run = _Running(job, proc, time.monotonic() + self.timeout, _pidfd(proc.pid))
        if run.pidfd >= 0:
            selector.register(run.pidfd, selectors.EVENT_READ)
        with self._lock:
            self._running.append(run)
        self.peak_running = max(self.peak_running, len(self._running))
        self._emit(Event.STARTED, job, Detail(pid=proc.pid, wait=time.monotonic() - job.queued_at))

    def _reap(self, stop_at: float | None, selector: selectors.BaseSelector) -> None:
        """Report the jobs that exited; signal those over their time."""
        now = time.monotonic()
        still = []
        for run in self._running:
            code = run.proc.poll()
            if code is not None:
                if run.pidfd >= 0:
                    selector.unregister(run.pidfd)
                    _close(run.pidfd)
                event = Event.TIMEOUT if run.killed_at is not None else Event.FINISHED
                self._emit(event, run.job, Detail(returncode=code))
                continue
            if now >= run.due(stop_at):
                if run.killed_at is None:
                    _signal_group(run.proc.pid, signal.SIGTERM)
                    run.killed_at = now
                else:
                    _signal_group(run.proc.pid, signal.SIGKILL)
                run.signalled_at = now
            still.append(run)
        with self._lock:
            self._running = still


def _pidfd(pid: int) -> int:
    """A descriptor that turns readable when ``pid`` exits; -1 where the kernel has none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return -1


def _close(fd: int) -> None:
    if fd >= 0:
        os.close(fd)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass

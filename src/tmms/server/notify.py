"""Runs notify commands: concurrently, bounded, each with a timeout that kills its process group."""

from __future__ import annotations

import collections
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from . import template

log = logging.getLogger("tmms.notify")
SHELL = "/bin/sh"


@dataclass
class Job:
    """One notify command to run for one delivered file."""

    key: str
    command: str
    env: dict[str, str]
    label: str = ""
    queued_at: float = field(default_factory=time.monotonic)


@dataclass
class _Running:
    job: Job
    proc: subprocess.Popen[bytes]
    deadline: float
    killed_at: float | None = None


Listener = Callable[[str, Job, Mapping[str, object]], None]


def build_job(
    key: str,
    command_template: str,
    values: Mapping[str, str],
    base_env: Mapping[str, str],
    extra_env: Mapping[str, str],
    label: str = "",
) -> Job:
    """A job whose command text holds no message data, only quoted variable references."""
    env = dict(base_env)
    env.update(extra_env)
    env.update(template.environment(command_template, values))
    return Job(key=key, command=template.expand(command_template), env=env, label=label)


class Notifier:
    """A worker thread that starts queued jobs, at most ``concurrency`` at once."""

    def __init__(self, concurrency: int, timeout: float, listener: Listener | None = None) -> None:
        self.concurrency = concurrency
        self.timeout = timeout
        self.listener = listener
        self._queue: collections.deque[Job] = collections.deque()
        self._running: list[_Running] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="tmms-notifier", daemon=True)
        self.started = 0
        self.peak_running = 0

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job; it starts as soon as a slot is free."""
        with self._cond:
            self._queue.append(job)
            self._cond.notify()

    def pending(self) -> int:
        """Jobs queued or running."""
        with self._cond:
            return len(self._queue) + len(self._running)

    def stop(self, grace: float = 0.6) -> None:
        """Drop queued jobs, end running process groups (TERM, then KILL), wait ``grace`` s."""
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._cond.notify()
        if self._thread.ident is not None:  # a server that failed to start never started it
            self._thread.join(timeout=grace)

    def _emit(self, event: str, job: Job, **info: object) -> None:
        if self.listener is not None:
            try:
                self.listener(event, job, info)
            except Exception:  # a listener must never stop notifications
                log.exception("notify listener failed")

    def _loop(self) -> None:
        stop_deadline: float | None = None
        while True:
            with self._cond:
                if self._stopping and stop_deadline is None:
                    stop_deadline = time.monotonic()
                while not self._stopping and not self._running and not self._queue:
                    self._cond.wait()
                starting: list[Job] = []
                while not self._stopping and self._queue and len(self._running) + len(starting) < self.concurrency:
                    starting.append(self._queue.popleft())
            for job in starting:
                self._start(job)
            self._reap(stop_deadline)
            if stop_deadline is not None and not self._running:
                return
            with self._cond:
                if self._running and not (self._queue and len(self._running) < self.concurrency):
                    self._cond.wait(timeout=0.01)

    def _start(self, job: Job) -> None:
        try:
            proc = subprocess.Popen(
                [SHELL, "-c", job.command],
                env=job.env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:  # ValueError: a NUL in the command
            self._emit("error", job, error=str(exc))
            return
        self.started += 1
        self._running.append(_Running(job, proc, time.monotonic() + self.timeout))
        self.peak_running = max(self.peak_running, len(self._running))
        self._emit("started", job, pid=proc.pid, wait=time.monotonic() - job.queued_at)

    def _reap(self, stop_deadline: float | None) -> None:
        now = time.monotonic()
        still = []
        for run in self._running:
            code = run.proc.poll()
            if code is not None:
                event = "timeout" if run.killed_at is not None else "finished"
                self._emit(event, run.job, returncode=code)
                continue
            over = now >= run.deadline or (stop_deadline is not None and now >= stop_deadline)
            if over and run.killed_at is None:
                _signal_group(run.proc.pid, signal.SIGTERM)
                run.killed_at = now
            elif run.killed_at is not None and now - run.killed_at >= (0.3 if stop_deadline else 1.0):
                _signal_group(run.proc.pid, signal.SIGKILL)
            still.append(run)
        self._running = still


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass

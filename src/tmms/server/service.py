"""The tmms server of a tmux server, seen from outside: is one running, and starting one detached."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import (
    AlreadyRunning,
    ServerDidNotStop,
    ServerNotRunning,
    ServerStartFailed,
    StorageError,
    TmuxServerNotRunning,
)
from ..paths import runtime_dir, state_dir
from ..pids import alive
from ..tmux import Tmux
from .lock import check_runtime_dir, running_pid, serves, socket_key
from .runinfo import RunInfo, read

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Running:
    """The tmms server of a tmux server: its pid, and what it published (None while it starts)."""

    pid: int
    info: RunInfo | None


def running(tmux: Tmux, folder: str | None = None) -> Running | None:
    """The tmms server serving this tmux server, or None when none runs (or no tmux server does).

    UnsafeRuntimeDir when the runtime folder is not private to this user: nothing in it is trusted.
    """
    try:
        key = socket_key(tmux.socket_path)
    except TmuxServerNotRunning:
        return None
    folder = check_runtime_dir(folder or runtime_dir(), create=False)
    if folder is None:
        return None
    pid = running_pid(os.path.join(folder, key.name + ".lock"))
    if pid is None:
        return None
    info = read(os.path.join(folder, key.name + ".json"))
    if info is not None and info.pid != pid:
        info = None  # left by an earlier holder
    if info is not None and not serves(info, key):
        return None  # it serves a tmux server that is gone (its socket's inode was reused) and stops soon
    return Running(pid, info)


def preflight(tmux: Tmux) -> None:
    """Before a server starts (and logs anything): the tmux server answers, the runtime folder is
    safe, and no tmms server serves it yet. Each problem is the error it is, as one line."""
    tmux.list_panes()
    check_runtime_dir()
    found = running(tmux)
    if found is not None:
        raise AlreadyRunning(found.pid, os.path.join(runtime_dir(), socket_key(tmux.socket_path).name + ".lock"))


def server_pid(tmux: Tmux) -> int | None:
    """The pid of the tmms server serving this tmux server, or None when none runs."""
    found = running(tmux)
    return found.pid if found else None


def log_path(tmux: Tmux) -> str:
    """Where a detached server writes its log: named after the same key as its lock."""
    return os.path.join(state_dir(tmux.env), socket_key(tmux.socket_path).name + ".log")


def start_detached(tmux: Tmux, config: str | None = None, env: Mapping[str, str] | None = None) -> int:
    """Start ``tmms server`` for this tmux server in its own session; return its pid once it serves.

    Returns the pid of the server that already runs, if one does.
    """
    running = server_pid(tmux)
    if running:
        return running
    from ..keys import tmms_command

    log = log_path(tmux)
    argv = [*tmms_command(), "-S", tmux.socket_path, "server", "--log-file", log]
    if config:
        argv += ["-c", config]
    child_env = dict(tmux.env if env is None else env)
    child_env.pop("TMUX_PANE", None)
    fd = open_log(log)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=subprocess.STDOUT,
                                env=child_env, start_new_session=True, close_fds=True)
    finally:
        os.close(fd)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        pid = server_pid(tmux)
        if pid:
            return pid
        if proc.poll() is not None:
            raise ServerStartFailed(f"it exited with code {proc.returncode}: {_last_line(log)} (log: {log})")
        time.sleep(0.02)
    raise ServerStartFailed(f"it did not take its lock within {START_TIMEOUT:g}s (pid {proc.pid}, log: {log})")


def open_log(path: str) -> int:
    """Open a server log for appending: its folder private, the file 0600, never through a symlink."""
    from .. import store
    from ..journal import open_private

    store.ensure_dir(os.path.dirname(path))
    store.tighten(os.path.dirname(path))
    try:
        return open_private(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    except OSError as exc:
        raise StorageError.from_os(path, exc) from None


def _last_line(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - 2000))
            lines = handle.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


class Stopped(NamedTuple):
    """A server that ``stop`` ended: its pid, and whether SIGKILL had to end it."""

    pid: int
    killed: bool


def stop(tmux: Tmux, timeout: float = STOP_TIMEOUT, kill: bool = False) -> Stopped:
    """SIGTERM the tmms server serving this tmux server (the pid in its lock) and wait until it is gone.

    ``kill``: SIGKILL it if it outlives ``timeout``. ServerNotRunning when none runs,
    ServerDidNotStop when it outlives ``timeout`` (and is not to be killed, or cannot be).
    """
    import signal

    found = running(tmux)
    if found is None:
        tmux.list_panes()  # no tmux server at all: that error (exit 4), as every command gives it
        raise ServerNotRunning(f"no tmms server runs for the tmux server on {tmux.socket_path}")
    pid = found.pid
    if not _signal(pid, signal.SIGTERM) or _gone(tmux, pid, timeout):
        return Stopped(pid, False)
    if not kill:
        raise ServerDidNotStop(pid, timeout)
    if not _signal(pid, signal.SIGKILL) or _gone(tmux, pid, STOP_TIMEOUT):
        return Stopped(pid, True)
    raise ServerDidNotStop(pid, timeout)


def _signal(pid: int, sig: int) -> bool:
    """Send ``sig``; False when the process is gone already. PermissionError: not ours to stop."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        raise ServerDidNotStop(pid, 0) from None
    return True


def _gone(tmux: Tmux, pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` until ``pid`` has ended or no longer holds the lock."""
    deadline = time.monotonic() + timeout
    while alive(pid) and server_pid(tmux) == pid:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True

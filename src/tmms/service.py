"""The tmms server of a tmux server, seen from outside: is one running, and starting one detached."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping

from .errors import ServerStartFailed
from .lock import lock_path, running_pid
from .paths import runtime_dir, state_dir
from .tmux import Tmux

START_TIMEOUT = 10.0


def server_pid(tmux: Tmux) -> int | None:
    """The pid of the tmms server serving this tmux server, or None when none runs."""
    return running_pid(lock_path(runtime_dir(tmux.env), tmux.socket_path))


def log_path(tmux: Tmux) -> str:
    """Where a detached server writes its log."""
    name = os.path.basename(lock_path(runtime_dir(tmux.env), tmux.socket_path)).removesuffix(".lock")
    return os.path.join(state_dir(tmux.env), f"{name}.log")


def start_detached(tmux: Tmux, config: str | None = None, env: Mapping[str, str] | None = None) -> int:
    """Start ``tmms server`` for this tmux server in its own session; return its pid once it serves.

    Returns the pid of the server that already runs, if one does.
    """
    running = server_pid(tmux)
    if running:
        return running
    argv = [sys.executable, "-m", "tmms", "-S", tmux.socket_path, "server"]
    if config:
        argv += ["-c", config]
    log = log_path(tmux)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    child_env = dict(tmux.env if env is None else env)
    child_env.pop("TMUX_PANE", None)
    with open(log, "ab") as handle:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
                                env=child_env, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        pid = server_pid(tmux)
        if pid:
            return pid
        if proc.poll() is not None:
            raise ServerStartFailed(f"it exited with code {proc.returncode}: {_last_line(log)} (log: {log})")
        time.sleep(0.02)
    raise ServerStartFailed(f"it did not take its lock within {START_TIMEOUT:g}s (pid {proc.pid}, log: {log})")


def _last_line(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - 2000))
            lines = handle.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"

"""``tmms demo`` on a fresh machine: no config, its own tmux server, nothing left running."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tmms.cli.demo_agent import answer

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_demo_runs_the_conversation_and_leaves_nothing_running(home: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tmms", "demo"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    socket = re.search(r"tmux server -L (\S+),", out)
    assert socket, out
    assert "worker-1  9 words." in out
    assert "worker-2  - ada - grace - linus" in out
    assert out.count("idle and ready") == 2
    assert re.search(r"lead\s+dave\s+Anyone there\?\s+dead letter: unknown recipient 'dave'", out), out
    # every reply to lead was delivered, with a measured time, and notified unless ask took it first
    rows = re.findall(r"^\s+worker-\d\s+lead\s+Re: .+?\s+([\d.]+) ms\s+(?:([\d.]+) ms|read first)$", out, re.M)
    assert len(rows) == 4, out
    root = re.search(r"mail in (\S+)", out)
    assert root and not Path(root.group(1)).exists()
    still = subprocess.run(["tmux", "-L", socket.group(1), "list-sessions"], capture_output=True)
    assert still.returncode != 0, "the demo's tmux server is still running"
    assert not (Path(f"/tmp/tmux-{os.getuid()}") / socket.group(1)).exists(), "the demo left its socket file"
    assert not (home / ".config" / "tmms").exists(), "the demo must not write the user's config"


def test_demo_agent_answers() -> None:
    assert answer("Count words", "a b  c\nd", "w") == "4 words.\n"
    assert answer("Sort lines", "b\n\na\n", "w") == "- a\n- b\n"
    assert answer("Sum numbers", "1, 2.5 x 3", "w") == "The sum is 6.5.\n"
    assert answer("Status?", "", "w") == "w: idle and ready.\n"
    assert answer("hello", "abc", "w") == "w got your message (3 characters).\n"


# -- nothing left behind (issue #11) ----------------------------------------------------------------


def _left_behind(pid: int, socket_name: str, tmpdir: Path) -> list[str]:
    """What a demo run by ``pid`` on ``socket_name`` left: its tmux socket, a lock or run info of its
    server (the lock holds the pid of the demo, whose thread ran the server), temporary folders."""
    found = [str(p) for p in tmpdir.iterdir()]
    socket = Path(f"/tmp/tmux-{os.getuid()}") / socket_name
    if socket.exists():
        found.append(str(socket))
    runtime = Path(f"/tmp/tmms-{os.getuid()}")
    for entry in runtime.iterdir() if runtime.is_dir() else []:
        try:
            text = entry.read_text(errors="replace")
        except OSError:
            continue
        if (entry.suffix == ".lock" and text.strip() == str(pid)) or f"/{socket_name}\"" in text:
            found.append(str(entry))
    return found


def test_demo_leaves_no_socket_lock_or_temporary_folder(home: Path) -> None:
    tmpdir = Path(os.environ["TMPDIR"])
    proc = subprocess.Popen([sys.executable, "-m", "tmms", "demo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    socket = re.search(r"tmux server -L (\S+),", out)
    assert socket, out
    assert _left_behind(proc.pid, socket.group(1), tmpdir) == []


def test_demo_stopped_by_sigterm_cleans_up(home: Path) -> None:
    import signal

    tmpdir = Path(os.environ["TMPDIR"])
    proc = subprocess.Popen([sys.executable, "-m", "tmms", "demo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": ""})  # the demo flushes its header
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    socket = re.search(r"tmux server -L (\S+),", first)
    assert socket, first
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    assert proc.stderr.read() == "tmms: interrupted\n"
    assert _left_behind(proc.pid, socket.group(1), tmpdir) == []


def test_demo_attach_without_a_terminal_fails_at_once(home: Path) -> None:
    tmpdir = Path(os.environ["TMPDIR"])
    sockets = set(os.listdir(f"/tmp/tmux-{os.getuid()}")) if os.path.isdir(f"/tmp/tmux-{os.getuid()}") else set()
    proc = subprocess.run([sys.executable, "-m", "tmms", "demo", "--attach"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("tmms: error: --attach needs a terminal (stdin and stdout are not one); "
                           "run 'tmms demo' without it\n")
    assert list(tmpdir.iterdir()) == []
    now = set(os.listdir(f"/tmp/tmux-{os.getuid()}")) if os.path.isdir(f"/tmp/tmux-{os.getuid()}") else set()
    assert not any(name.startswith("tmms-demo-") for name in now - sockets)

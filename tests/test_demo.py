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

"""Starting without what tmms needs is one line and a documented exit code (issue 7, item 17).

``tmms server`` with no tmux server used to print a double traceback and exit 1. Its siblings are
checked the same way: every command with no tmux server, with no tmux binary on PATH, with no
config, with a config that cannot be read (a folder, a FIFO, a device, bad YAML, an endless alias,
deep nesting, a huge number, too large), and a signal while the server starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import TmuxServer, run_main, wait_until
from tmms.config import Config
from tmms.errors import TmuxServerNotRunning
from tmms.server import service
from tmms.server.loop import Server
from tmms.tmux import Tmux

DOCUMENTED = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 130}


def run(args: list[str], env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tmms", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def run_command(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``-L SOCKET COMMAND ...`` in this process; ``server`` (a loop, signal handlers) in a process of its own."""
    return run(args, env, timeout=20) if args[2] == "server" else run_main(args, env)


def one_error(proc: subprocess.CompletedProcess[str], code: int | None = None) -> str:
    """The single ``tmms: error:`` line of a failed command (no traceback, nothing else on stderr)."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in DOCUMENTED and proc.returncode != 0, (proc.returncode, proc.stderr)
    if code is not None:
        assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tmms: error: "), proc.stderr
    return lines[0]


COMMANDS: list[list[str]] = [
    ["server"], ["peers"], ["whoami"], ["register", "alpha"], ["register", "alpha", "--no-server"],
    ["unregister"], ["status", "abcd"], ["dead", "retry"], ["inbox"], ["read", "--next"],
    ["post", "-t", "beta", "-s", "x"], ["reply", "abcd"], ["thread", "abcd"], ["wait", "--timeout", "1"],
    ["ask", "-t", "beta", "--timeout", "1"], ["bind", "--install"], ["alert", "/nonexistent/x.md"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_every_command_without_a_tmux_server_is_one_line_and_exit_4(home: Path, args: list[str]) -> None:
    env = {**os.environ, "TMUX_PANE": "%1"}
    proc = run_command(["-L", f"tmms-test-none-{uuid.uuid4().hex[:8]}", *args], env)
    line = one_error(proc, 4)
    assert "no tmux server is running on " in line


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_every_command_without_tmux_on_path_is_one_line_and_exit_4(tmux_server: TmuxServer,
                                                                   args: list[str]) -> None:
    pane = tmux_server.new_pane()
    env = {**tmux_server.env(pane), "PATH": "/nonexistent"}  # the tmux server runs; its binary is not found
    proc = run_command(["-L", tmux_server.socket, *args], env)
    line = one_error(proc, 4)
    assert "tmux is not installed or not on PATH" in line
    assert service.running(Tmux(socket_name=tmux_server.socket)) is None


def test_the_server_without_a_config_runs_on_defaults(tmux_server: TmuxServer) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tmms", "-L", tmux_server.socket, "server"],
                            stderr=subprocess.PIPE, env=tmux_server.env())
    tmux_server.procs.append(proc)
    wait_until(lambda: service.server_pid(Tmux(socket_name=tmux_server.socket)) == proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert b"Traceback" not in (proc.stderr.read() if proc.stderr else b"")


def _bad_configs(root: Path) -> dict[str, Path]:
    """Config files that cannot be used, each of another kind."""
    made = {"a folder": root / "folder.yml", "a FIFO": root / "fifo.yml", "a device": root / "device.yml",
            "malformed YAML": root / "bad.yml", "not UTF-8": root / "latin.yml", "a list": root / "list.yml",
            "an alias bomb": root / "bomb.yml", "deep nesting": root / "deep.yml", "a huge number": root / "huge.yml",
            "too large": root / "large.yml", "missing": root / "missing.yml", "a dangling symlink": root / "dangle.yml"}
    made["a folder"].mkdir()
    os.mkfifo(made["a FIFO"])
    made["a device"].symlink_to("/dev/zero")
    made["malformed YAML"].write_text("polling_interval: [1, 2\n")
    made["not UTF-8"].write_bytes(b"dead_letter_dir: /tmp/caf\xe9\n")
    made["a list"].write_text("- 1\n- 2\n")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9))
    made["an alias bomb"].write_text(bomb + "polling_interval: *j\n")
    made["deep nesting"].write_text("polling_interval: " + "[" * 100_000 + "]" * 100_000 + "\n")
    made["a huge number"].write_text("polling_interval: " + "9" * 5000 + "\n")
    made["too large"].write_text("# " + "x" * (2 * 1024 * 1024) + "\n")
    made["a dangling symlink"].symlink_to(root / "nowhere")
    return made


@pytest.mark.parametrize("kind", ["a folder", "a FIFO", "a device", "malformed YAML", "not UTF-8", "a list",
                                  "an alias bomb", "deep nesting", "a huge number", "too large", "missing",
                                  "a dangling symlink"])
def test_an_unusable_config_is_one_line_and_exit_3(tmux_server: TmuxServer, home: Path, kind: str) -> None:
    (home / "configs").mkdir()
    path = _bad_configs(home / "configs")[kind]
    for args in (["server", "-c", str(path)], ["dead", "-c", str(path)], ["status", "abcd", "-c", str(path)]):
        proc = run_command(["-L", tmux_server.socket, *args], tmux_server.env())
        line = one_error(proc, 3)
        assert str(path) in line and len(line) < 400, line
    if os.path.isfile(path):  # found by discovery instead of -c (discovery takes regular files only)
        (home / ".tmms.yml").symlink_to(path)
        one_error(run(["-L", tmux_server.socket, "server"], tmux_server.env(), timeout=20), 3)
        one_error(run_command(["-L", tmux_server.socket, "dead"], tmux_server.env()), 3)
    assert service.running(Tmux(socket_name=tmux_server.socket)) is None


def slow_tmux(folder: Path) -> tuple[str, Path]:
    """A PATH whose ``tmux`` is the real one, started 0.3 s late and counted: the server's start takes
    long enough for a signal to land inside it, at a point the test can tell."""
    calls = folder / "tmux-calls"
    folder.mkdir()
    wrapper = folder / "tmux"
    wrapper.write_text(f"#!/bin/sh\necho call >> '{calls}'\nsleep 0.3\nexec '{shutil.which('tmux')}' \"$@\"\n")
    wrapper.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}", calls


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_the_server_starts_is_never_a_traceback(tmux_server: TmuxServer, tmp_path: Path,
                                                               sig: int) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    for n in range(200):  # a backlog: the first scan takes a while
        (alpha.outbox / f"m{n:04}.md").write_text(f"---\ntmms_from: alpha\ntmms_to: beta\n---\nbody {n}\n")
    config = tmux_server.config(polling_interval=30)
    path, calls = slow_tmux(tmp_path / "slow")
    outcomes: dict[int, int] = {}
    # the first tmux call is the check before the server starts; the second is the server's own
    for call, extra in ((1, 0.0), (1, 0.15), (2, 0.0), (2, 0.15), (2, 0.5), (3, 0.0)):
        calls.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, "-m", "tmms", "-L", tmux_server.socket, "server", "-c",
                                 str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env={**tmux_server.env(), "PATH": path})
        wait_until(lambda: calls.exists() and len(calls.read_text().split()) >= call)  # noqa: B023
        time.sleep(extra)  # not a timing assertion: signals land at different points of the start
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        text = err.decode(errors="replace")
        assert "Traceback" not in text, text
        others = [line for line in text.splitlines() if " tmms INFO " not in line and " tmms WARNING " not in line]
        assert (proc.returncode, others) in ((130, ["tmms: interrupted"]), (0, [])), (proc.returncode, text)
        outcomes[proc.returncode] = outcomes.get(proc.returncode, 0) + 1
        assert service.running(Tmux(socket_name=tmux_server.socket)) is None
    assert outcomes.get(130) and outcomes.get(0), outcomes  # both sides of the handlers were hit


def test_a_socket_no_tmux_server_answers_on_is_one_line_and_leaves_no_lock(home: Path, tmp_path: Path) -> None:
    """A socket file left behind (tmux 3.3 leaves it when killed): bound, nobody listening."""
    path = tmp_path / "left-behind"
    left = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    left.bind(str(path))
    try:
        line = one_error(run(["-S", str(path), "server"], dict(os.environ)), 4)
        assert line == f"tmms: error: no tmux server is running on {path}"
        # past the check (the tmux server went away in between): the server itself stops cleanly
        server = Server(Tmux(socket_path=str(path)), Config(dead_letter_dir=str(tmp_path / "dead")))
        with pytest.raises(TmuxServerNotRunning):
            server.run()
        assert service.running(Tmux(socket_path=str(path))) is None
    finally:
        left.close()

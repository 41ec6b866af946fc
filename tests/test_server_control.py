"""``tmms server start | stop | status | restart | logs``, and the server log rotated by size (issue #11)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TmuxServer, alive, as_json, failed, ok, wait_until
from tmms.server.logfile import LogFile, rotate
from tmms.server.runinfo import parse


def _socket(server: TmuxServer) -> str:
    return server.tmux("display-message", "-p", "#{socket_path}").strip()


def _log_of(home: Path) -> Path:
    (log,) = (home / ".local" / "state" / "tmms").glob("server-*.log")
    return log


def test_start_status_stop_round_trip(tmux_server: TmuxServer, home: Path) -> None:
    tmux_server.register("alpha")
    config = tmux_server.config()
    out = ok(tmux_server.tmms("server", "start", "-c", str(config)))
    assert out.startswith("started the tmms server (pid ")
    pid = int(out.split("(pid ", 1)[1].split(")", 1)[0])
    assert alive(pid)
    log = _log_of(home)
    assert f"log: {log}" in out
    status = as_json(tmux_server.tmms("server", "status", "--json"))
    assert status["running"] is True and status["pid"] == pid
    assert status["config"] == str(config) and status["log"] == str(log)
    assert status["socket"] == _socket(tmux_server)
    assert status["uptime_seconds"] >= 0
    assert status["dead_letter_dir"] == str(tmux_server.root / "dead")
    status = wait_until(lambda: (s := as_json(tmux_server.tmms("server", "status", "--json")))["mailboxes"] == 1 and s)
    assert status["counters"] == {"delivered": 0, "dead": 0, "notified": 0}
    text = ok(tmux_server.tmms("server", "status"))
    assert f"tmms server: running, pid {pid}" in text
    assert "mailboxes:   1 served" in text and f"log:         {log}" in text
    assert "serving 1 mailbox(es)" in ok(tmux_server.tmms("server", "logs"))
    stopped = ok(tmux_server.tmms("server", "stop"))
    assert stopped == f"stopped the tmms server (pid {pid}) of {_socket(tmux_server)}\n"
    wait_until(lambda: not alive(pid) or _zombie(pid))
    assert "stopped: 0 delivered" in _log_of(home).read_text()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[-1].split()[0] == b"Z"
    except OSError:
        return False


def test_counters_follow_the_mail(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    ok(tmux_server.tmms("server", "start", "-c", str(tmux_server.config())))
    ok(tmux_server.tmms("post", "-t", "beta", "-s", "Hi", pane=alpha.pane_id, input="x\n"))
    ok(tmux_server.tmms("post", "-t", "nobody", "-s", "Lost", pane=alpha.pane_id, input="x\n"))
    wait_until(lambda: as_json(tmux_server.tmms("server", "status", "--json"))["counters"]
               == {"delivered": 1, "dead": 1, "notified": 0}, timeout=20)
    assert "counters:    1 delivered, 1 dead-lettered, 0 notified" in ok(tmux_server.tmms("server", "status"))


def test_start_while_one_runs_exits_8_naming_its_pid(tmux_server: TmuxServer) -> None:
    proc = tmux_server.start_server()
    line = failed(tmux_server.tmms("server", "start"), 8)
    assert f"pid {proc.pid} holds" in line


def test_start_without_a_tmux_server_exits_4(home: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tmms", "-L", "tmms-test-none-here", "server", "start"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.startswith("tmms: error: no tmux server is running on ") and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("command", [["status"], ["stop"], ["restart"], ["status", "--json"]])
def test_control_without_a_tmux_server_exits_4(home: Path, command: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "tmms", "-L", "tmms-test-none-here", "server", *command],
                          capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (4, ""), proc.stderr
    assert proc.stderr.startswith("tmms: error: no tmux server is running on ") and proc.stderr.count("\n") == 1


def test_start_with_a_config_the_server_would_refuse_exits_3(tmux_server: TmuxServer) -> None:
    path = tmux_server.root / "bad.yml"
    path.write_text("notify_concurrency: 0\n")
    line = failed(tmux_server.tmms("server", "start", "-c", str(path)), 3)
    assert line == f"tmms: error: {path}: notify_concurrency must be >= 1, not 0"
    assert json.loads(tmux_server.tmms("server", "status", "--json").stdout)["running"] is False


def test_stop_and_status_when_none_runs_exit_1(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.tmms("server", "stop"), 1)
    assert line == f"tmms: error: no tmms server runs for the tmux server on {_socket(tmux_server)}"
    proc = tmux_server.tmms("server", "status")
    assert proc.returncode == 1 and proc.stderr == ""
    assert proc.stdout == f"no tmms server runs for {_socket(tmux_server)} (start one: tmms server start)\n"
    record = json.loads(tmux_server.tmms("server", "status", "--json").stdout)
    assert record["running"] is False and record["socket"] == _socket(tmux_server)


def test_stop_ends_a_foreground_server(tmux_server: TmuxServer) -> None:
    proc = tmux_server.start_server()
    status = as_json(tmux_server.tmms("server", "status", "--json"))
    assert status["pid"] == proc.pid and status["log"] is None
    assert "log:         its stderr (it runs in the foreground" in ok(tmux_server.tmms("server", "status"))
    ok(tmux_server.tmms("server", "stop"))
    assert proc.wait(timeout=10) == 0


def test_stop_of_a_server_that_ignores_sigterm_exits_12(tmux_server: TmuxServer, tmp_path: Path) -> None:
    """A lock holder that ignores SIGTERM (a stand-in: the lock is what stop trusts) is reported, not killed."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "from tmms.server.lock import ServerLock\n"
        f"lock = ServerLock({_socket(tmux_server)!r}); lock.acquire(); print('held', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    tmux_server.procs.append(holder)  # type: ignore[arg-type]
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    line = failed(tmux_server.tmms("server", "stop", "--timeout", "0.3"), 12)
    assert line == (f"tmms: error: the tmms server (pid {holder.pid}) still runs 0.3s after SIGTERM; "
                    f"'tmms server stop --kill' (or 'kill -KILL {holder.pid}') ends it")
    assert holder.poll() is None
    out = ok(tmux_server.tmms("server", "stop", "--timeout", "0.3", "--kill"))
    assert out == f"stopped the tmms server (pid {holder.pid}) of {_socket(tmux_server)} with SIGKILL after 0.3s\n"
    assert holder.wait(timeout=10) == -9


def test_restart_gives_a_new_pid_with_the_same_config(tmux_server: TmuxServer) -> None:
    config = str(tmux_server.config())
    ok(tmux_server.tmms("server", "start", "-c", config))
    old = as_json(tmux_server.tmms("server", "status", "--json"))["pid"]
    out = ok(tmux_server.tmms("server", "restart"))
    status = as_json(tmux_server.tmms("server", "status", "--json"))
    assert status["pid"] != old and f"(pid {status['pid']})" in out
    assert status["config"] == config  # kept: restart without -c uses the running server's
    other = str(tmux_server.config())
    ok(tmux_server.tmms("server", "restart", "-c", other))
    assert as_json(tmux_server.tmms("server", "status", "--json"))["config"] == other
    ok(tmux_server.tmms("server", "stop"))


def test_restart_with_a_bad_config_leaves_the_running_server(tmux_server: TmuxServer) -> None:
    ok(tmux_server.tmms("server", "start", "-c", str(tmux_server.config())))
    pid = as_json(tmux_server.tmms("server", "status", "--json"))["pid"]
    path = tmux_server.root / "bad.yml"
    path.write_text("polling_interval: -1\n")
    assert "polling_interval must be > 0" in failed(tmux_server.tmms("server", "restart", "-c", str(path)), 3)
    assert as_json(tmux_server.tmms("server", "status", "--json"))["pid"] == pid


def test_restart_when_none_runs_starts_one_and_says_so(tmux_server: TmuxServer) -> None:
    proc = tmux_server.tmms("server", "restart", "-c", str(tmux_server.config()))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "tmms: no tmms server was running; started one\n"
    assert as_json(tmux_server.tmms("server", "status", "--json"))["running"] is True


def test_logs_without_a_log_exits_1(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.tmms("server", "logs"), 1)
    assert line.startswith("tmms: error: no server log at ") and "server-" in line


def test_logs_bad_lines_exits_2(tmux_server: TmuxServer) -> None:
    assert "--lines must be 0 or more" in failed(tmux_server.tmms("server", "logs", "-n", "-1"), 2)


def test_logs_n_and_rotated_files(tmux_server: TmuxServer, home: Path) -> None:
    from tmms.server.service import log_path
    from tmms.tmux import Tmux

    path = Path(log_path(Tmux(socket_path=_socket(tmux_server))))
    path.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{path}.1").write_text("old 1\nold 2\n")
    path.write_text("new 1\nnew \x1b[31mred\n")
    assert ok(tmux_server.tmms("server", "logs")) == "old 1\nold 2\nnew 1\nnew ^[[31mred\n"
    assert ok(tmux_server.tmms("server", "logs", "-n", "2")) == "new 1\nnew ^[[31mred\n"


def test_logs_follow_prints_new_lines(tmux_server: TmuxServer, home: Path) -> None:
    from tmms.server.service import log_path
    from tmms.tmux import Tmux

    path = Path(log_path(Tmux(socket_path=_socket(tmux_server))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("before\n")
    proc = subprocess.Popen([sys.executable, "-m", "tmms", "-L", tmux_server.socket, "server", "logs", "-f"],
                            stdout=subprocess.PIPE, text=True, env=tmux_server.env())
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "before\n"
        path.rename(f"{path}.1")  # rotated, as the server rotates it
        path.write_text("after rotation\n")
        assert proc.stdout.readline() == "after rotation\n"
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_server_help_lists_the_subcommands(tmux_server: TmuxServer) -> None:
    out = ok(tmux_server.tmms("server", "--help"))
    for name in ("init", "start", "stop", "status", "restart", "logs"):
        assert name in out
    for name in ("start", "stop", "status", "restart", "logs"):
        assert "examples:" in ok(tmux_server.tmms("server", name, "--help"))


# -- the log file ---------------------------------------------------------------------------------


def test_log_file_rotates_by_size_and_keeps_n(tmp_path: Path) -> None:
    path = tmp_path / "state" / "server.log"
    handler = LogFile(str(path), max_bytes=200, keep=2)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("tmms.test.logfile")
    log.propagate, log.handlers = False, [handler]
    try:
        for index in range(40):
            log.warning("line %02d %s", index, "x" * 20)
    finally:
        handler.close()
    assert sorted(p.name for p in path.parent.iterdir()) == ["server.log", "server.log.1", "server.log.2"]
    assert (path.stat().st_mode & 0o777) == 0o600
    lines = "".join(Path(f"{path}{s}").read_text() for s in (".2", ".1", "")).splitlines()
    assert lines[-1].startswith("line 39") and all(len(p.read_bytes()) <= 230 for p in path.parent.iterdir())
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == list(range(numbers[0], 40))


def test_rotate_with_keep_0_removes(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text("x")
    rotate(str(path), 0)
    assert not path.exists()


def test_log_file_refuses_a_symlink(tmp_path: Path) -> None:
    from tmms.errors import StorageError

    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / "server.log").symlink_to(target)
    with pytest.raises(StorageError):
        LogFile(str(tmp_path / "server.log"))


def test_run_info_keeps_old_files_readable() -> None:
    base = {"pid": 1, "dev": 2, "ino": 3, "socket": "/s", "dead_letter_dir": "/d", "journal": "/j",
            "watch": "inotify", "started": "2026-01-01T00:00:00+00:00", "config": None}
    info = parse(base)
    assert info is not None and info.log is None and info.stats is None
    info = parse({**base, "log": "/l", "stats": {"delivered": 2, "bad": "x"}})
    assert info is not None and info.log == "/l" and info.stats == {"delivered": 2}


def test_register_starts_a_server_that_logs_to_its_rotated_log(tmux_server: TmuxServer, home: Path) -> None:
    pane = tmux_server.new_pane()
    ok(tmux_server.tmms("register", "alpha", pane=pane))
    status = as_json(tmux_server.tmms("server", "status", "--json"))
    assert status["log"] == str(_log_of(home))
    assert os.path.isfile(status["log"])

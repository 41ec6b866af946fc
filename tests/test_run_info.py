"""While a server runs, ``dead``, ``status`` and ``peers`` use what that server uses (issue 7, items
20 and 22): its dead-letter folder and journal (published next to its lock), and its watch mode.

Real tmux, real servers started with ``-c my.yml`` and their own state folder, real commands
started with another environment; a server killed with SIGKILL leaves a run info that is ignored.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import TmuxServer, as_json, messages, ok, wait_until
from tmms.server import service
from tmms.server.lock import ServerLock
from tmms.tmux import Tmux


def start(server: TmuxServer, config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``tmms server -c config`` with its own environment, until it serves."""
    log = open(server.root / f"own-server-{len(server.procs)}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "tmms", "-L", server.socket, "server", "-c", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    server.procs.append(proc)
    wait_until(lambda: service.server_pid(Tmux(socket_name=server.socket)) == proc.pid)
    return proc


def test_dead_and_status_use_the_running_servers_folders(tmux_server: TmuxServer, home: Path,
                                                        tmp_path: Path) -> None:
    served_dead = tmp_path / "served-dead"
    config = tmux_server.config(dead_letter_dir=str(served_dead), recipient_grace_seconds=0)
    discovered_dead = tmp_path / "discovered-dead"
    (home / ".tmms.yml").write_text(f"dead_letter_dir: {discovered_dead}\n")  # what the commands would find
    alpha = tmux_server.register("alpha")
    state = tmp_path / "server-state"
    server = start(tmux_server, config, {**tmux_server.env(), "XDG_STATE_HOME": str(state)})

    posted = Path(ok(tmux_server.tmms("post", "-t", "nobody", "-s", "lost", pane=alpha.pane_id, input="x\n")).strip())
    wait_until(lambda: len(messages(served_dead)) == 1, timeout=20)
    message_id = posted.stem.rsplit("_", 1)[-1]
    listed = as_json(tmux_server.tmms("dead", "--json"))
    assert [d["path"] for d in listed] == [str(messages(served_dead)[0])]
    assert message_id in ok(tmux_server.tmms("dead"))
    assert as_json(tmux_server.tmms("dead", "show", message_id, "--json"))["path"] == str(messages(served_dead)[0])
    status = as_json(tmux_server.tmms("status", message_id, "--json"))
    assert status["state"] == "dead-lettered"
    assert str(messages(served_dead)[0]) in [p["path"] for p in status["places"]]  # found in the server's
    assert "dead-lettered" in [e["event"] for e in status["events"]]  # from the server's journal
    assert (state / "tmms/journal.jsonl").exists()
    assert not (home / ".local/state/tmms/journal.jsonl").read_text().count("dead-lettered")

    nobody = tmux_server.register("nobody")
    retried = as_json(tmux_server.tmms("dead", "retry", message_id, "--json"))
    assert len(retried["retried"]) == 1 and retried["left"] == []
    wait_until(lambda: len(messages(nobody.inbox)) == 1)
    assert messages(served_dead) == []
    wait_until(lambda: "retried" in (state / "tmms/journal.jsonl").read_text())  # in the server's journal

    tmux_server.stop(server)  # its run info goes with it: discovery again
    assert service.running(Tmux(socket_name=tmux_server.socket)) is None
    assert as_json(tmux_server.tmms("dead", "--json")) == []
    assert "discovered-dead" in tmux_server.tmms("dead", "purge", "--older-than", "0").stdout


def test_an_explicit_config_still_wins_over_the_running_server(tmux_server: TmuxServer, tmp_path: Path) -> None:
    alpha = tmux_server.register("alpha")
    served_dead = tmp_path / "served-dead"
    tmux_server.start_server(dead_letter_dir=str(served_dead), recipient_grace_seconds=0)
    ok(tmux_server.tmms("post", "-t", "nobody", pane=alpha.pane_id, input="x\n"))
    wait_until(lambda: len(messages(served_dead)) == 1, timeout=20)
    other = tmux_server.config(dead_letter_dir=str(tmp_path / "elsewhere"))
    assert as_json(tmux_server.tmms("dead", "--json", "-c", str(other))) == []
    assert len(as_json(tmux_server.tmms("dead", "--json"))) == 1


def test_a_killed_servers_run_info_is_ignored(tmux_server: TmuxServer, home: Path, tmp_path: Path) -> None:
    alpha = tmux_server.register("alpha")
    served_dead = tmp_path / "served-dead"
    server = tmux_server.start_server(dead_letter_dir=str(served_dead), recipient_grace_seconds=0)
    ok(tmux_server.tmms("post", "-t", "nobody", pane=alpha.pane_id, input="x\n"))
    wait_until(lambda: len(messages(served_dead)) == 1, timeout=20)
    tmux_server.stop(server, signal.SIGKILL)  # the run info stays on disk
    assert service.running(Tmux(socket_name=tmux_server.socket)) is None
    assert as_json(tmux_server.tmms("dead", "--json")) == []  # discovery: the default folder, empty
    me = as_json(tmux_server.tmms("whoami", "--json", pane=alpha.pane_id))
    assert me["server_pid"] is None and me["server"] is None


def test_peers_reports_what_the_server_uses(tmux_server: TmuxServer, tmp_path: Path) -> None:
    config = tmux_server.config(dead_letter_dir=str(tmp_path / "dl"))
    server = tmux_server.start_server(config=config)
    me = as_json(tmux_server.tmms("whoami", "--json", pane=tmux_server.register("alpha").pane_id))
    assert me["server_pid"] == server.pid  # peers --json is an array of panes: the server's facts are here
    info = me["server"]
    assert (info["pid"], info["config"], info["dead_letter_dir"]) == (server.pid, str(config), str(tmp_path / "dl"))
    assert info["watch"] == "file events"
    assert info["journal"] == str(Path(os.environ["HOME"]) / ".local/state/tmms/journal.jsonl")
    lines = ok(tmux_server.tmms("peers")).splitlines()
    assert lines[0].startswith(f"tmms server: running, pid {server.pid} (") and "warning" not in "".join(lines)


def test_peers_says_when_delivery_falls_back_to_the_scan(tmux_server: TmuxServer) -> None:
    """The watch mode a server publishes (the server updates it when inotify watches run out)."""
    socket_path = tmux_server.tmux("display-message", "-p", "#{socket_path}").strip()
    alpha = tmux_server.register("alpha")
    held = ServerLock(socket_path)
    held.acquire()
    try:
        held.publish(config=None, dead_letter_dir="/d", journal="/j", watch="file events")
        assert "warning" not in ok(tmux_server.tmms("peers"))
        held.update(watch="polling only: inotify watches exhausted (raise fs.inotify.max_user_watches)")
        lines = ok(tmux_server.tmms("peers")).splitlines()
        assert lines[0].startswith(f"tmms server: running, pid {os.getpid()} (")
        assert lines[1] == ("  warning: new mail is found by polling only: inotify watches exhausted "
                            "(raise fs.inotify.max_user_watches)")
        me = as_json(tmux_server.tmms("whoami", "--json", pane=alpha.pane_id))
        assert me["server"]["watch"].startswith("polling only")
    finally:
        held.release()
    assert "warning" not in ok(tmux_server.tmms("peers"))

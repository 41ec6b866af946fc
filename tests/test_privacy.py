"""Mail is private whatever the umask (issue 7, item 13): folders tmms makes are 0700, files 0600.

A real tmux server, real ``tmms`` processes (register starts the server in the background, so it
inherits the umask too), then every file and folder tmms made is looked at: mail, read and sent
copies, dead letters and their reasons, the journal, the server log, the notify ledger, the config
``register`` wrote, the lock and the run info. Folders tmms made before (0755 from older versions)
are tightened; folders a user made elsewhere (the TMMS way) keep the mode the user gave them.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import TmuxServer, messages, ok, wait_until
from tmms.server import service
from tmms.server.lock import socket_key
from tmms.tmux import Tmux


@pytest.fixture
def umask_of(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test (and every process it starts) under the umask given as its parameter."""
    mask: int = request.param
    old = os.umask(mask)
    try:
        yield mask
    finally:
        os.umask(old)


def register(server: TmuxServer, name: str, *extra: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(ok(server.tmms("register", name, "--json", *extra, pane=server.new_pane())))
    return report


def modes_under(root: Path) -> dict[str, str]:
    """Every folder and file below ``root`` (itself included) with its mode, ``d0700`` or ``f0600``."""
    found: dict[str, str] = {}
    for path in [root, *root.rglob("*")]:
        st = os.lstat(path)
        kind = "d" if stat.S_ISDIR(st.st_mode) else "f" if stat.S_ISREG(st.st_mode) else "?"
        found[str(path.relative_to(root.parent))] = f"{kind}{stat.S_IMODE(st.st_mode):04o}"
    return found


def not_private(modes: dict[str, str]) -> dict[str, str]:
    return {path: mode for path, mode in modes.items() if mode not in ("d0700", "f0600")}


def hand_written(outbox: Path, to: str, mode: int) -> Path:
    """A message a script wrote into an outbox itself (renamed in), with the mode its umask gave."""
    temp = outbox / ".hand.tmp"
    temp.write_text(f"---\ntmms_id: {os.urandom(8).hex()}\ntmms_from: alpha\ntmms_to: {to}\n---\nby hand\n")
    temp.chmod(mode)
    final = outbox / f"20260101-000000_alpha_to_{to}_{os.urandom(4).hex()}.md"
    temp.rename(final)
    return final


@pytest.mark.parametrize("umask_of", [0o022, 0o002, 0o000], indirect=True)
def test_everything_tmms_makes_is_private_whatever_the_umask(tmux_server: TmuxServer, home: Path,
                                                             umask_of: int) -> None:
    alpha = register(tmux_server, "alpha")  # writes the config and starts the server (and its log)
    beta = register(tmux_server, "beta")
    assert alpha["server_started"] and alpha["config_written"]
    ok(tmux_server.tmms("post", "-t", "beta", "-s", "one", pane=alpha["pane_id"], input="secret\n"))
    ok(tmux_server.tmms("post", "-t", "beta", "-s", "two", pane=alpha["pane_id"], input="secret\n"))
    wait_until(lambda: len(messages(Path(beta["inbox"]))) == 2)
    ok(tmux_server.tmms("read", "--next", pane=beta["pane_id"]))  # into inbox/read
    hand_written(Path(alpha["outbox"]), "beta", 0o666 & ~umask_of)  # a script's file, with its umask's mode
    hand_written(Path(alpha["outbox"]), "nobody", 0o666 & ~umask_of)  # dead letter (and its reason)
    dead = home / ".local/share/tmms/dead_letter"
    wait_until(lambda: len(messages(dead)) == 1 and len(list(dead.glob("*.reason.json"))) == 1, timeout=20)
    wait_until(lambda: len(messages(Path(beta["inbox"]))) == 2)
    state = home / ".local/state/tmms"
    wait_until(lambda: list(state.glob("*.log")) and (state / "journal.jsonl").exists())

    made = {**modes_under(home / ".local/share/tmms"), **modes_under(state), **modes_under(home / ".config/tmms")}
    assert {"tmms/mail/alpha/outbox/sent", "tmms/mail/beta/inbox/read", "tmms/dead_letter",
            "tmms/journal.jsonl"} <= set(made)
    assert [p for p in made if p.endswith(".log")], made  # the server log
    assert not_private(made) == {}
    for parent in (home / ".local", home / ".local/share", home / ".local/state", home / ".config"):
        assert stat.S_IMODE(parent.stat().st_mode) == 0o700  # made by tmms, as missing parents
    running = service.running(Tmux(socket_name=tmux_server.socket))
    assert running is not None and running.pid == alpha["server_pid"]
    key = socket_key(tmux_server.tmux("display-message", "-p", "#{socket_path}").strip())
    folder = Path(f"/tmp/tmms-{os.getuid()}")
    ours = [folder / f"{key.name}.lock", folder / f"{key.name}.json"]
    assert [f"{stat.S_IMODE(p.stat().st_mode):04o}" for p in ours] == ["0600", "0600"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_hand_written_file_of_0644_is_private_once_delivered_or_dead_lettered(tmux_server: TmuxServer,
                                                                                home: Path) -> None:
    alpha = register(tmux_server, "alpha")
    beta = register(tmux_server, "beta")
    hand_written(Path(alpha["outbox"]), "beta", 0o644)
    hand_written(Path(alpha["outbox"]), "nobody", 0o644)
    dead = home / ".local/share/tmms/dead_letter"
    wait_until(lambda: len(messages(Path(beta["inbox"]))) == 1 and len(messages(dead)) == 1, timeout=20)
    modes = [stat.S_IMODE(p.stat().st_mode) for p in messages(Path(beta["inbox"])) + messages(dead)]
    assert modes == [0o600, 0o600]


def test_folders_tmms_made_before_are_tightened_and_a_users_folders_are_not(tmux_server: TmuxServer,
                                                                             home: Path) -> None:
    data = home / ".local/share/tmms"
    state = home / ".local/state/tmms"
    old = [data, data / "mail", data / "mail/alpha", data / "mail/alpha/inbox", data / "mail/alpha/outbox",
           data / "mail/alpha/inbox/read", data / "mail/gone", data / "mail/gone/inbox", data / "mail/gone/outbox",
           data / "dead_letter", state]
    users = [home / "tmms/gamma/inbox", home / "tmms/gamma/outbox", home / "tmms/dead"]
    for folder in old + users:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)  # what tmms 0.3 made under umask 022
    journal = state / "journal.jsonl"
    journal.write_text("")
    journal.chmod(0o644)

    register(tmux_server, "alpha", "--no-server")
    assert {str(f): f.stat().st_mode & 0o777 for f in old[:6]} == {str(f): 0o700 for f in old[:6]}
    register(tmux_server, "gamma", "--inbox", str(users[0]), "--outbox", str(users[1]), "--no-server")
    proc = tmux_server.start_server(dead_letter_dir=str(data / "dead_letter"))
    assert proc.poll() is None
    assert {str(f): stat.S_IMODE(f.stat().st_mode) for f in old} == {str(f): 0o700 for f in old}
    assert {str(f): stat.S_IMODE(f.stat().st_mode) for f in users} == {str(f): 0o755 for f in users}


def test_a_journal_and_a_server_log_of_0644_become_0600_when_next_written(tmux_server: TmuxServer,
                                                                          home: Path) -> None:
    state = home / ".local/state/tmms"
    state.mkdir(parents=True)
    journal = state / "journal.jsonl"
    journal.write_text("")
    journal.chmod(0o644)
    alpha = register(tmux_server, "alpha", "--no-server")
    register(tmux_server, "beta", "--no-server")
    log = Path(service.log_path(Tmux(socket_name=tmux_server.socket, env={**os.environ})))
    log.write_text("an old log\n")
    log.chmod(0o644)
    ok(tmux_server.tmms("post", "-t", "beta", "-s", "hi", pane=alpha["pane_id"], input="x\n"))
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    started = register(tmux_server, "delta")  # starts the server, appending to its log
    assert started["server_started"]
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert log.read_text().startswith("an old log\n")


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_planted_journal_or_log_is_never_written_through(tmux_server: TmuxServer, home: Path,
                                                          tmp_path: Path, kind: str) -> None:
    state = home / ".local/state/tmms"
    state.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    log = Path(service.log_path(Tmux(socket_name=tmux_server.socket, env={**os.environ})))
    for path in (state / "journal.jsonl", log):
        if kind == "symlink":
            path.symlink_to(victim)
        else:
            os.mkfifo(path)
    alpha = register(tmux_server, "alpha", "--no-server")
    register(tmux_server, "beta", "--no-server")
    ok(tmux_server.tmms("post", "-t", "beta", "-s", "hi", pane=alpha["pane_id"], input="x\n", timeout=20))
    proc = tmux_server.tmms("register", "delta", pane=tmux_server.new_pane(), timeout=20)  # would start a server
    assert proc.returncode == 7, (proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("tmms: error: cannot write ")
    assert victim.read_text() == "precious\n"

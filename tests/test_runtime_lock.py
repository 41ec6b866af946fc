"""One tmms server per tmux server (issue 7, items 8, 9 and 14).

The lock is keyed by the tmux socket's device and inode in ``/tmp/tmms-$UID``, whatever the
environment or the spelling of the socket path; the runtime folder is refused unless it is ours,
0700 and not a symlink; ``$TMUX`` is split from the right. Lock logic runs against real unix
sockets in private folders; the end-to-end tests start real tmux and tmms servers. A private
``/tmp`` (a mount namespace) lets the planted-folder tests use the real, fixed folder name.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, TmuxServer, messages, wait_until
from test_full_disk import _fill, small_disk  # noqa: F401 (a fixture)
from tmms.errors import AlreadyRunning, StorageError, TmuxServerNotRunning
from tmms.paths import runtime_dir
from tmms.server import lock, runinfo, service
from tmms.server.lock import ServerLock, UnsafeRuntimeDir, check_runtime_dir
from tmms.tmux import Tmux, socket_of

OTHER_UID = 65534  # "nobody": another user, for folders planted by someone else


# -- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def sock(tmp_path: Path) -> Iterator[Path]:
    """A real listening unix socket: what the lock is keyed on (no tmux needed)."""
    path = tmp_path / "tmux-sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    try:
        yield path
    finally:
        server.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A private runtime folder of this test's own (the real one is shared by parallel tests)."""
    path = tmp_path / "run"
    path.mkdir(mode=0o700)
    path.chmod(0o700)
    return path


def umask(mask: int) -> int:
    old = os.umask(mask)
    return old


def held_by(path: Path) -> int | None:
    return lock.running_pid(str(path))


def lock_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("server-*.lock"))


# -- the runtime folder (item 14) --------------------------------------------------------------


def test_the_runtime_folder_is_fixed_whatever_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    first = runtime_dir()
    for var, value in (("XDG_RUNTIME_DIR", str(tmp_path)), ("TMPDIR", str(tmp_path)), ("HOME", str(tmp_path))):
        monkeypatch.setenv(var, value)
        assert runtime_dir() == first == f"/tmp/tmms-{os.getuid()}"


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o000, 0o077])
def test_a_missing_runtime_folder_is_made_0700_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    old = umask(mask)
    try:
        made = check_runtime_dir(str(tmp_path / "run"))
    finally:
        os.umask(old)
    st = os.lstat(tmp_path / "run")
    assert made == str(tmp_path / "run")
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid()


def test_a_missing_runtime_folder_is_not_made_by_readers(tmp_path: Path) -> None:
    assert check_runtime_dir(str(tmp_path / "run"), create=False) is None
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o705, 0o701, 0o711, 0o777, 0o1777, 0o500])
def test_a_runtime_folder_whose_mode_is_not_0700_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "run"
    path.mkdir()
    path.chmod(mode)
    with pytest.raises(UnsafeRuntimeDir, match=f"its mode is {mode & 0o7777:04o}, not 0700"):
        check_runtime_dir(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == mode  # refused, not changed


def test_a_runtime_folder_of_another_user_is_refused_even_when_0700(tmp_path: Path) -> None:
    path = tmp_path / "run"
    path.mkdir(mode=0o700)
    os.chown(path, OTHER_UID, OTHER_UID)  # tests run as root: root can plant as anyone
    with pytest.raises(UnsafeRuntimeDir, match=f"belongs to uid {OTHER_UID}"):
        check_runtime_dir(str(path))
    with pytest.raises(UnsafeRuntimeDir):
        check_runtime_dir(str(path), create=False)  # readers refuse it too


@pytest.mark.parametrize("target", ["own-private-dir", "missing"])
def test_a_runtime_folder_that_is_a_symlink_is_refused(tmp_path: Path, target: str) -> None:
    real = tmp_path / target
    if target != "missing":
        real.mkdir(mode=0o700)
        real.chmod(0o700)
    (tmp_path / "run").symlink_to(real)
    with pytest.raises(UnsafeRuntimeDir, match="it is a symlink"):
        check_runtime_dir(str(tmp_path / "run"))
    assert target != "missing" or not real.exists()


def test_a_runtime_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run").write_text("")
    with pytest.raises(UnsafeRuntimeDir, match="not a folder"):
        check_runtime_dir(str(tmp_path / "run"))


# -- the lock: key, holder, planted files (items 8 and 14) ---------------------------------------


def test_a_second_lock_is_refused_naming_the_holder(sock: Path, folder: Path) -> None:
    first = ServerLock(str(sock), str(folder))
    first.acquire()
    try:
        with pytest.raises(AlreadyRunning, match=f"pid {os.getpid()} holds"):
            ServerLock(str(sock), str(folder)).acquire()
        assert held_by(Path(first.path or "")) == os.getpid()
    finally:
        first.release()


def test_readers_probing_the_lock_never_make_a_starting_server_think_another_runs(sock: Path, folder: Path) -> None:
    """``peers``/``register`` probe the lock with a shared flock: a server starting just then retries."""
    key = lock.socket_key(str(sock))
    path = str(folder / f"{key.name}.lock")
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            lock.running_pid(path)

    readers = [threading.Thread(target=probe) for _ in range(2)]
    for reader in readers:
        reader.start()
    refused = 0
    try:
        for _ in range(200):
            held = ServerLock(str(sock), str(folder))
            try:
                held.acquire()
            except AlreadyRunning:
                refused += 1
            finally:
                held.release()
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert refused == 0


def test_every_spelling_of_the_socket_finds_the_same_lock(sock: Path, folder: Path, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(sock)
    (tmp_path / "sub").mkdir()
    (tmp_path / "linkdir").symlink_to(tmp_path)
    spellings = [tmp_path / "link", tmp_path / "sub" / ".." / sock.name, tmp_path / "." / sock.name,
                 tmp_path / "linkdir" / sock.name, Path(os.path.relpath(sock))]
    first = ServerLock(str(sock), str(folder))
    first.acquire()
    try:
        refused = 0
        for spelling in spellings:
            try:
                ServerLock(str(spelling), str(folder)).acquire()
            except AlreadyRunning:
                refused += 1
        assert refused == len(spellings)
        assert len(lock_files(folder)) == 1
    finally:
        first.release()


def test_two_sockets_have_two_locks(sock: Path, folder: Path, tmp_path: Path) -> None:
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(str(tmp_path / "other-sock"))
    first, second = ServerLock(str(sock), str(folder)), ServerLock(str(tmp_path / "other-sock"), str(folder))
    try:
        first.acquire()
        second.acquire()
        assert first.path != second.path and len(lock_files(folder)) == 2
    finally:
        first.release()
        second.release()
        other.close()


def test_no_socket_means_no_tmux_server(tmp_path: Path, folder: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    for path in (tmp_path / "missing", tmp_path / "plain-file", tmp_path):
        with pytest.raises(TmuxServerNotRunning):
            ServerLock(str(path), str(folder)).acquire()
    assert lock_files(folder) == []


def test_a_fake_holder_a_pid_without_the_lock_does_not_stop_the_server(sock: Path, folder: Path) -> None:
    key = lock.socket_key(str(sock))
    fake = folder / f"{key.name}.lock"
    fake.write_text(f"{os.getppid()}\n")  # a live pid, but nobody holds the flock
    runinfo.write(str(folder / f"{key.name}.json"), {"pid": os.getppid(), "socket": str(sock), "dev": key.dev,
                                                     "ino": key.ino, "config": None, "dead_letter_dir": "/x",
                                                     "journal": "/y", "watch": "file events", "started": "z"})
    assert held_by(fake) is None
    assert service.running(Tmux(socket_path=str(sock)), str(folder)) is None
    taken = ServerLock(str(sock), str(folder))
    taken.acquire()
    try:
        assert fake.read_text() == f"{os.getpid()}\n"
        assert held_by(fake) == os.getpid()
    finally:
        taken.release()


def test_a_planted_symlink_at_the_lock_name_is_refused_and_its_target_untouched(
        sock: Path, folder: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    key = lock.socket_key(str(sock))
    (folder / f"{key.name}.lock").symlink_to(victim)
    with pytest.raises(UnsafeRuntimeDir, match="is a symlink"):
        ServerLock(str(sock), str(folder)).acquire()
    assert victim.read_text() == "precious\n"
    (folder / f"{key.name}.lock").unlink()
    (folder / f"{key.name}.lock").symlink_to(tmp_path / "not-there")  # a dangling one is not created either
    with pytest.raises(UnsafeRuntimeDir):
        ServerLock(str(sock), str(folder)).acquire()
    assert not (tmp_path / "not-there").exists()


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_lock_name_that_is_not_a_file_is_refused_without_blocking(sock: Path, folder: Path, kind: str) -> None:
    path = folder / f"{lock.socket_key(str(sock)).name}.lock"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    with pytest.raises(UnsafeRuntimeDir if kind == "fifo" else StorageError):
        ServerLock(str(sock), str(folder)).acquire()
    assert lock.running_pid(str(path)) is None


def test_a_planted_symlink_at_the_run_info_name_is_replaced_not_followed(
        sock: Path, folder: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    key = lock.socket_key(str(sock))
    (folder / f"{key.name}.json").symlink_to(victim)
    held = ServerLock(str(sock), str(folder))
    held.acquire()
    try:
        held.publish(config=None, dead_letter_dir="/d", journal="/j", watch="file events")
        assert victim.read_text() == "precious\n"
        info = folder / f"{key.name}.json"
        assert not info.is_symlink() and stat.S_IMODE(info.stat().st_mode) == 0o600
    finally:
        held.release()


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_lock_and_run_info_are_0600_and_removed_at_release(sock: Path, folder: Path, mask: int) -> None:
    old = umask(mask)
    held = ServerLock(str(sock), str(folder))
    try:
        held.acquire()
        held.publish(config="/c.yml", dead_letter_dir="/d", journal="/j", watch="file events")
    finally:
        os.umask(old)
    files = sorted(folder.iterdir())
    assert [f.suffix for f in files] == [".json", ".lock"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    found = service.running(Tmux(socket_path=str(sock)), str(folder))
    assert found is not None and found.pid == os.getpid() and found.info is not None
    assert (found.info.config, found.info.dead_letter_dir, found.info.journal) == ("/c.yml", "/d", "/j")
    held.update(watch="polling only: inotify watches exhausted")
    found = service.running(Tmux(socket_path=str(sock)), str(folder))
    assert found is not None and found.info is not None and found.info.watch.startswith("polling only")
    held.release()
    assert list(folder.iterdir()) == []
    assert service.running(Tmux(socket_path=str(sock)), str(folder)) is None


def test_a_full_runtime_disk_keeps_the_server_and_drops_only_the_run_info(
        sock: Path, small_disk: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    folder = small_disk / "run"
    folder.mkdir(mode=0o700)
    held = ServerLock(str(sock), str(folder))
    held.acquire()
    try:
        held.publish(config=None, dead_letter_dir="/d", journal="/j", watch="file events")
        _fill(small_disk)
        held.update(watch="polling only: inotify watches exhausted")  # no room for the new file
        assert "cannot publish" in caplog.text
        found = service.running(Tmux(socket_path=str(sock)), str(folder))
        assert found is not None and found.pid == os.getpid() and found.info is None  # no stale info either
        assert [p.name for p in folder.iterdir()] == [f"{held.key.name}.lock" if held.key else ""]
    finally:
        held.release()


def test_a_starting_server_removes_the_locks_killed_servers_left_and_keeps_live_ones(
        sock: Path, folder: Path, tmp_path: Path) -> None:
    live_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live_sock.bind(str(tmp_path / "live-sock"))
    live = ServerLock(str(tmp_path / "live-sock"), str(folder))
    live.acquire()
    live.publish(config=None, dead_letter_dir="/d", journal="/j", watch="file events")
    for n in range(5):  # what servers killed with SIGKILL leave: a lock nobody holds, its run info
        (folder / f"server-1-{n}.lock").write_text("12345\n")
        (folder / f"server-1-{n}.json").write_text("{}")
    held = ServerLock(str(sock), str(folder))
    try:
        held.acquire()
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [f"{live.key.name}.lock", f"{live.key.name}.json", f"{held.key.name}.lock"] if live.key and held.key
            else [])
        assert service.running(Tmux(socket_path=str(tmp_path / "live-sock")), str(folder)) is not None
    finally:
        held.release()
        live.release()
        live_sock.close()


def test_sweeping_never_takes_a_lock_from_under_a_server_that_starts_meanwhile(
        sock: Path, folder: Path, tmp_path: Path) -> None:
    """Two servers of two tmux servers start and stop over and over; each start sweeps the other's
    lock file whenever it is free. Count starts refused, and holds whose file was swept away."""
    other_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other_sock.bind(str(tmp_path / "other-sock"))
    counts = {"refused": 0, "lost": 0, "held": 0}

    def churn(path: str) -> None:
        for _ in range(150):
            held = ServerLock(path, str(folder))
            try:
                held.acquire()
            except AlreadyRunning:
                counts["refused"] += 1
                continue
            lock_file = held.path or ""
            if held_by(Path(lock_file)) != os.getpid() or not os.path.exists(lock_file):
                counts["lost"] += 1
            counts["held"] += 1
            held.release()

    workers = [threading.Thread(target=churn, args=(p,)) for p in (str(sock), str(tmp_path / "other-sock"))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    other_sock.close()
    assert counts == {"refused": 0, "lost": 0, "held": 300}


def test_a_holder_whose_socket_path_now_names_another_server_is_not_reported(
        sock: Path, folder: Path, tmp_path: Path) -> None:
    """A socket's inode can be reused by a later tmux server: the holder serves a server that is gone."""
    held = ServerLock(str(sock), str(folder))
    held.acquire()
    try:
        held.publish(config=None, dead_letter_dir="/d", journal="/j", watch="file events")
        moved = tmp_path / "moved-sock"
        sock.rename(moved)  # the same inode at another path: what a reused inode looks like to the holder
        assert service.running(Tmux(socket_path=str(moved)), str(folder)) is None
    finally:
        held.release()


def test_the_lock_follows_a_tmux_server_replaced_at_the_same_path(sock: Path, folder: Path) -> None:
    held = ServerLock(str(sock), str(folder))
    held.acquire()
    replacement = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        held.publish(config=None, dead_letter_dir="/d", journal="/j", watch="file events")
        old_key = held.key
        sock.unlink()
        replacement.bind(str(sock))  # a new tmux server on the same path: a new inode
        held.follow()
        assert held.key != old_key and held.key == lock.socket_key(str(sock))
        assert len(lock_files(folder)) == 1 and len(list(folder.glob("*.json"))) == 1
        found = service.running(Tmux(socket_path=str(sock)), str(folder))
        assert found is not None and found.pid == os.getpid() and found.info is not None
        assert (found.info.dev, found.info.ino) == tuple(held.key or ())
    finally:
        held.release()
        replacement.close()


def test_following_stops_when_another_server_serves_the_replacement(sock: Path, folder: Path) -> None:
    held = ServerLock(str(sock), str(folder))
    held.acquire()
    replacement = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other: ServerLock | None = None
    try:
        sock.unlink()
        replacement.bind(str(sock))
        other = ServerLock(str(sock), str(folder))
        other.acquire()
        with pytest.raises(AlreadyRunning):
            held.follow()
    finally:
        held.release()
        if other is not None:
            other.release()
        replacement.close()


# -- $TMUX (item 9) ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/tmp/tmux-0/default", "/tmp/a,b/sock", "/tmp/a,b,c/s,o,c,k", "/x/,/,"])
def test_the_socket_path_of_tmux_is_split_from_the_right(path: str) -> None:
    value = f"{path},4242,0"
    assert socket_of(value) == path
    tmux = Tmux(env={"TMUX": value, "PATH": os.environ.get("PATH", "")})
    assert tmux.socket_path == path
    assert tmux.socket_args() == ["-S", path]  # tmux itself would cut $TMUX at its first comma


@pytest.fixture
def comma_tmux(home: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real tmux server whose socket path contains commas: (socket path, its first pane)."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    folder = tmp_path / "a,b"
    folder.mkdir()
    path = str(folder / "s,ock")
    subprocess.run(["tmux", "-S", path, "-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "120",
                    "-y", "40"], check=True)
    try:
        pane = subprocess.run(["tmux", "-S", path, "display-message", "-p", "-t", "main", "#{pane_id}"],
                              capture_output=True, text=True, check=True).stdout.strip()
        yield path, pane
    finally:
        found = service.running(Tmux(socket_path=path))
        if found:
            os.kill(found.pid, signal.SIGKILL)
        subprocess.run(["tmux", "-S", path, "kill-server"], capture_output=True)
        Path(path).unlink(missing_ok=True)


def test_a_socket_path_with_commas_works_from_tmux_to_notify(comma_tmux: tuple[str, str]) -> None:
    path, first = comma_tmux

    def run(*args: str, pane: str) -> subprocess.CompletedProcess[str]:
        pid = subprocess.run(["tmux", "-S", path, "display-message", "-p", "#{pid}"], capture_output=True,
                             text=True, check=True).stdout.strip()
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        env.update(TMUX=f"{path},{pid},0", TMUX_PANE=pane)  # what a pane of this server sees
        return subprocess.run([sys.executable, "-m", "tmms", *args], capture_output=True, text=True, env=env,
                              timeout=30)

    second = subprocess.run(["tmux", "-S", path, "new-window", "-d", "-P", "-F", "#{pane_id}"],
                            capture_output=True, text=True, check=True).stdout.strip()
    alpha = run("register", "alpha", "--json", pane=first)
    assert alpha.returncode == 0, alpha.stderr
    beta = run("register", "beta", "--json", pane=second)  # default notify: tmms alert, which uses $TMUX
    assert beta.returncode == 0, beta.stderr
    server = json.loads(alpha.stdout)["server_pid"]
    assert json.loads(beta.stdout)["server_pid"] == server
    assert service.server_pid(Tmux(socket_path=path)) == server  # started with -S, the whole path
    assert json.loads(run("whoami", "--json", pane=first).stdout)["server_pid"] == server
    sent = run("post", "-t", "beta", "-s", "hi", pane=first, )
    assert sent.returncode == 0, sent.stderr
    inbox = Path(json.loads(beta.stdout)["inbox"])
    wait_until(lambda: len(messages(inbox)) == 1)
    unread = ["tmux", "-S", path, "show-options", "-p", "-v", "-t", second, "@tmms_unread"]
    wait_until(lambda: subprocess.run(unread, capture_output=True, text=True).stdout.strip() == "1")


# -- one server, however it is started (item 8, end to end) --------------------------------------


def _second_server(tmux_server: TmuxServer, *, socket: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tmms", *socket, "server", "-c", str(tmux_server.config())],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def test_a_second_server_is_refused_whatever_its_environment_or_socket_spelling(
        tmux_server: TmuxServer, tmp_path: Path) -> None:
    ids = tmp_path / "notified.txt"
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta", notify=f"echo ${{{{tmms_id}}}} >> {ids}")
    first = tmux_server.start_server()
    socket_path = tmux_server.tmux("display-message", "-p", "#{socket_path}").strip()
    server_pid = tmux_server.tmux("display-message", "-p", "#{pid}").strip()
    (tmp_path / "link").symlink_to(socket_path)
    socket_dir, socket_name = os.path.split(socket_path)
    for name in ("xdg-run", "tmpdir", "home2", "state"):
        (tmp_path / name).mkdir(mode=0o700)
    base = tmux_server.env()
    attempts = {
        "XDG_RUNTIME_DIR": (["-L", tmux_server.socket], {**base, "XDG_RUNTIME_DIR": str(tmp_path / "xdg-run")}),
        "TMPDIR": (["-L", tmux_server.socket], {**base, "TMPDIR": str(tmp_path / "tmpdir")}),
        "HOME and XDG_STATE_HOME": (["-L", tmux_server.socket], {**base, "HOME": str(tmp_path / "home2"),
                                                                  "XDG_STATE_HOME": str(tmp_path / "state")}),
        "a symlink to the socket": (["-S", str(tmp_path / "link")], base),
        "a spelling with ..": (["-S", os.path.join(socket_dir, "..", os.path.basename(socket_dir), socket_name)], base),
        "$TMUX": ([], {**base, "TMUX": f"{socket_path},{server_pid},0"}),
    }
    outcomes = {}
    for label, (socket_args, env) in attempts.items():
        proc = _second_server(tmux_server, socket=socket_args, env=env)
        try:
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        outcomes[label] = (proc.returncode, f"pid {first.pid} holds" in err.decode())
    assert outcomes == {label: (8, True) for label in attempts}
    assert first.poll() is None
    for n in range(4):
        assert tmux_server.tmms("post", "-t", "beta", "-s", f"m{n}", pane=alpha.pane_id).returncode == 0
        # a second server would notify each message too, as soon as the first one does
        wait_until(lambda: ids.exists() and len(ids.read_text().split()) >= n + 1)  # noqa: B023
    notified = ids.read_text().split()
    assert len(notified) == 4 and len(set(notified)) == 4


def test_register_elsewhere_finds_the_running_server_instead_of_starting_one(
        tmux_server: TmuxServer, tmp_path: Path) -> None:
    first = tmux_server.start_server()
    pane = tmux_server.new_pane()
    (tmp_path / "xdg").mkdir(mode=0o700)
    env = {**tmux_server.env(pane), "XDG_RUNTIME_DIR": str(tmp_path / "xdg"), "TMPDIR": str(tmp_path / "xdg")}
    proc = subprocess.run([sys.executable, "-m", "tmms", "-L", tmux_server.socket, "register", "alpha", "--json"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["server_pid"], report["server_started"]) == (first.pid, False)


def test_a_killed_server_leaves_nothing_that_stops_the_next_one(tmux_server: TmuxServer) -> None:
    tmux_server.register("alpha")
    for _ in range(3):
        proc = tmux_server.start_server()
        pid = wait_until(lambda: service.server_pid(Tmux(socket_name=tmux_server.socket)))
        assert pid == proc.pid
        tmux_server.stop(proc, signal.SIGKILL)  # no clean-up: the lock file and run info stay
        assert service.server_pid(Tmux(socket_name=tmux_server.socket)) is None


# -- the planted folder, end to end in a private /tmp (item 14) ----------------------------------


PLANT_SCRIPT = textwrap.dedent("""\
    import json, os, subprocess, sys
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/tmp"], check=True)
    os.makedirs("/tmp/home", exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": "/tmp/home", "PYTHONPATH": sys.argv[2]}
    sock = "/tmp/tmux-sock"
    subprocess.run(["tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d"], check=True, env=env)
    folder = f"/tmp/tmms-{os.getuid()}"
    case = sys.argv[1]
    if case == "symlink":
        os.mkdir("/tmp/elsewhere", 0o700); os.symlink("/tmp/elsewhere", folder)
    elif case == "other-user":
        os.mkdir(folder, 0o700); os.chown(folder, 65534, 65534)
    elif case == "mode-0755":
        os.mkdir(folder); os.chmod(folder, 0o755)
    elif case == "mode-1777":
        os.mkdir(folder); os.chmod(folder, 0o1777)
    elif case in ("lock-symlink", "fake-holder"):
        os.mkdir(folder, 0o700); os.chmod(folder, 0o700)
        st = os.stat(sock)
        name = f"{folder}/server-{st.st_dev}-{st.st_ino}.lock"
        if case == "lock-symlink":
            with open("/tmp/victim", "w") as f:
                f.write("precious")
            os.symlink("/tmp/victim", name)
        else:
            with open(name, "w") as f:
                f.write("1\\n")
    results = {}
    try:
        for command in (["server"], ["peers", "--json"], ["dead"]):
            try:
                proc = subprocess.run([sys.executable, "-m", "tmms", "-S", sock, *command], capture_output=True,
                                      text=True, env=env, timeout=float(sys.argv[3]) if command == ["server"] else 20)
                results[command[0]] = [proc.returncode, proc.stdout, proc.stderr]
            except subprocess.TimeoutExpired as exc:
                results[command[0]] = ["running", "", (exc.stderr or b"").decode()]
        results["victim"] = open("/tmp/victim").read() if os.path.exists("/tmp/victim") else None
    finally:
        subprocess.run(["tmux", "-S", sock, "kill-server"], env=env)
    print(json.dumps(results))
""")


def _private_tmp_available() -> bool:
    if shutil.which("unshare") is None or shutil.which("tmux") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs", "/mnt"],
                           capture_output=True)
    return probe.returncode == 0


needs_private_tmp = pytest.mark.skipif(not _private_tmp_available(), reason="needs unshare -m and mount (root)")


def in_private_tmp(case: str, server_seconds: float = 4.0) -> dict[str, Any]:
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-c", PLANT_SCRIPT, case,
                           str(REPO / "src"), str(server_seconds)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


@needs_private_tmp
@pytest.mark.parametrize("case, reason", [
    ("symlink", "it is a symlink"),
    ("other-user", f"it belongs to uid {OTHER_UID}, not to you"),
    ("mode-0755", "its mode is 0755, not 0700"),
    ("mode-1777", "its mode is 1777, not 0700"),
    ("lock-symlink", "in it is a symlink"),
])
def test_a_planted_runtime_folder_is_refused_with_one_line_and_exit_7(case: str, reason: str) -> None:
    results = in_private_tmp(case)
    folder = f"/tmp/tmms-{os.getuid()}"
    # a planted folder is refused by every command that looks for the server; a symlink planted in a
    # folder of ours (only we could) stops the server, and readers just do not trust it
    refusing = ("server",) if case == "lock-symlink" else ("server", "peers", "dead")
    for command in refusing:
        code, out, err = results[command]
        assert code == 7, (command, results[command])
        lines = [line for line in str(err).splitlines() if " tmms INFO " not in line]  # the server's log
        assert len(lines) == 1 and lines[0].startswith(f"tmms: error: refusing the runtime folder {folder}"), err
        assert reason in lines[0] and "Traceback" not in str(err)
    if case == "lock-symlink":
        assert results["victim"] == "precious"
        code, out, _ = results["peers"]
        assert code == 0 and isinstance(json.loads(str(out)), list)  # peers --json: an array of panes


@needs_private_tmp
def test_a_fake_lock_holder_in_the_real_folder_does_not_stop_the_server() -> None:
    results = in_private_tmp("fake-holder", server_seconds=3.0)
    code, _, err = results["server"]
    assert code == "running", results  # still serving when the test stopped waiting
    assert "serving" in str(err)

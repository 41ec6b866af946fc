"""Races against the router (issue #7 item 6): an attacker process rewrites an outbox file, or
renames a symlink or another file over it, in a tight loop while the router routes it.

Every trial counts what reached the inbox: a delivery that claims a sender other than the outbox's
owner, a symlink or other non-regular file, or the bytes of the symlink's target. All must be 0,
every file must end in the inbox or in dead letter, and nothing may be left in the outbox.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import TmuxServer, messages, wait_until
from routerkit import Mail, drop, leftovers, mail, message, reason_of
from tmms import store
from tmms.server import handover

TRIALS = 200
PASSES = 12  # routing passes while the attacker runs, per trial

ATTACKER = r"""
import os, sys, uuid
mode, stop, secret = sys.argv[1], sys.argv[2], sys.argv[3]
parent = os.getppid()
FORGED = "---\ntmms_id: %s\ntmms_from: carol\ntmms_to: beta\n---\nforged by carol\n"

def forged():
    return (FORGED % uuid.uuid4()).encode()

def rewrite_in_place(path):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)  # never creates: the file only changes
    except OSError:
        return
    try:
        os.write(fd, forged())
    finally:
        os.close(fd)

def rename_over(path):
    temp = path + ".tmp" + uuid.uuid4().hex[:6]
    temp = os.path.join(os.path.dirname(path), "." + os.path.basename(temp))
    with open(temp, "wb") as handle:
        handle.write(forged())
    os.rename(temp, path)

def symlink_over(path):
    rename_over(path)
    temp = os.path.join(os.path.dirname(path), ".link-" + uuid.uuid4().hex[:6])
    os.symlink(secret, temp)
    os.rename(temp, path)

attack = {"in-place": rewrite_in_place, "rename-over": rename_over, "symlink-over": symlink_over}[mode]
for line in sys.stdin:
    path = line.strip()
    if path.startswith("create:"):  # make the file itself, then attack at once (for the real server)
        path = path[len("create:"):]
        head, name = os.path.split(path)
        temp = os.path.join(head, "." + name + ".new")
        with open(temp, "wb") as handle:
            handle.write(b"---\ntmms_id: %s\ntmms_from: alpha\ntmms_to: beta\n---\nfrom alpha\n"
                         % uuid.uuid4().hex.encode())
        os.rename(temp, path)
    attack(path)
    print("go", flush=True)
    while not os.path.exists(stop):
        if os.getppid() != parent:  # the test is gone: never spin on as an orphan
            sys.exit(1)
        attack(path)
    os.unlink(stop)
    print("done", flush=True)
"""


class Attacker:
    """An attacker process: given a path, it attacks it until told to stop."""

    def __init__(self, mode: str, root: Path) -> None:
        self.stop = root / "stop-attacking"
        self.secret = root / "secret.txt"
        self.secret.write_text("SECRET of another user\n")
        self.proc = subprocess.Popen([sys.executable, "-c", ATTACKER, mode, str(self.stop), str(self.secret)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def start(self, path: Path | str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "go"

    def halt(self) -> None:
        assert self.proc.stdout is not None
        self.stop.touch()
        assert self.proc.stdout.readline().strip() == "done"

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture
def attacker_factory(tmp_path: Path) -> Iterator[list[Attacker]]:
    started: list[Attacker] = []
    yield started
    for attacker in started:
        if attacker.proc.poll() is None:
            attacker.proc.kill()
            attacker.proc.wait(timeout=10)


def audit(inbox: Path, owner: str) -> tuple[list[str], list[str], list[str]]:
    """(spoofed deliveries, non-regular files, files holding the symlink's target) in ``inbox``."""
    return audit_files(sorted(inbox.iterdir()), owner)


def audit_files(paths: list[Path], owner: str) -> tuple[list[str], list[str], list[str]]:
    """(files claiming a sender other than ``owner``, non-regular files, files holding the secret)."""
    spoofed, odd, leaked = [], [], []
    for path in paths:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            odd.append(path.name)
            continue
        text = path.read_text(errors="replace")
        if "SECRET" in text:
            leaked.append(path.name)
        senders = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("tmms_from:")]
        if senders != [owner]:
            spoofed.append(f"{path.name}: {senders}")
    return spoofed, odd, leaked


def _route_while_attacked(m: Mail, attacker: Attacker, trial: int) -> None:
    outbox = m.boxes["alpha"].outbox
    path = drop(outbox, f"m-{trial:04d}.md", message("alpha", "beta", body=f"trial {trial}\n"))
    attacker.start(path)
    for _ in range(PASSES):
        list(m.router.route_outbox(str(outbox)))
    attacker.halt()
    deadline = time.monotonic() + 10
    while leftovers(outbox) and time.monotonic() < deadline:
        m.route()


@pytest.mark.parametrize("mode", ["in-place", "rename-over", "symlink-over"])
def test_an_attacker_racing_the_router_never_gets_a_forged_sender_or_a_symlink_delivered(
    tmp_path: Path, attacker_factory: list[Attacker], mode: str
) -> None:
    m = mail(tmp_path)
    attacker = Attacker(mode, tmp_path)
    attacker_factory.append(attacker)
    for trial in range(TRIALS):
        _route_while_attacked(m, attacker, trial)
    attacker.close()
    inbox, outbox = m.boxes["beta"].inbox, m.boxes["alpha"].outbox
    spoofed, odd, leaked = audit(inbox, "alpha")
    delivered, dead = len(os.listdir(inbox)), len(m.dead_letters())
    print(f"{mode}: {delivered} delivered, {dead} dead-lettered, {len(spoofed)} spoofed, {len(odd)} not regular")
    assert spoofed == [], f"{len(spoofed)} of {delivered} deliveries claim another sender: {spoofed[:5]}"
    assert odd == [], f"{len(odd)} non-regular files in the inbox"
    assert leaked == []
    spoofed_dead, _symlinks, leaked_dead = audit_files(m.dead_letters(), "alpha")
    assert spoofed_dead == [] and leaked_dead == [], "a dead letter carries the true sender too"
    assert leftovers(outbox) == []
    if mode != "symlink-over":  # only regular, whole messages were ever there: none is set aside
        assert dead == 0, [reason_of(p)["reason"] for p in m.dead_letters()][:5]
    if mode == "in-place":  # the attacker only rewrites: each trial's one file must end somewhere
        assert delivered + dead == TRIALS
    else:  # it also replaces the file (destroying the one it replaced): at least one per trial remains
        assert delivered + dead >= TRIALS
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in inbox.iterdir())


@pytest.mark.parametrize("mode", ["in-place", "symlink-over"])
def test_the_real_server_under_attack_never_delivers_a_forged_sender_or_a_symlink(
    tmux_server: TmuxServer, attacker_factory: list[Attacker], mode: str
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    tmux_server.register("carol")
    proc = tmux_server.start_server(settle_seconds=0, recipient_grace_seconds=0, polling_interval=0.3)
    attacker = Attacker(mode, tmux_server.root)
    attacker_factory.append(attacker)
    trials = 60
    for trial in range(trials):
        attacker.start(f"create:{alpha.outbox / f'm-{trial:04d}.md'}")  # created and attacked at once
        time.sleep(0.005)
        attacker.halt()
    attacker.close()
    wait_until(lambda: not leftovers(alpha.outbox), timeout=30)
    spoofed, odd, leaked = audit(beta.inbox, "alpha")
    assert spoofed == [] and odd == [] and leaked == []
    spoofed_dead, _symlinks, leaked_dead = audit_files(messages(tmux_server.root / "dead"), "alpha")
    assert spoofed_dead == [] and leaked_dead == []
    delivered, dead = len(messages(beta.inbox)), len(messages(tmux_server.root / "dead"))
    print(f"{mode} against the server: {delivered} delivered, {dead} dead-lettered")
    assert delivered + dead >= trials
    assert proc.poll() is None


def test_a_writer_opening_a_held_file_waits_for_the_router_and_signals_nothing(tmp_path: Path) -> None:
    path = tmp_path / "m.md"
    path.write_bytes(message("alpha", "beta"))
    signals: list[int] = []
    previous = signal.signal(signal.SIGIO, lambda number, _frame: signals.append(number))
    try:
        held = handover.hold(str(path))
        assert held is not None
        if not held.leased:
            held.close()
            pytest.skip("the kernel grants no lease here")
        writer = subprocess.Popen([sys.executable, "-c", f"open({str(path)!r}, 'r+b').write(b'x')"])
        wait_until(lambda: not store.lease_intact(held.fd))  # the writer has begun to open it, and waits
        assert writer.poll() is None
        held.close()
        assert writer.wait(timeout=10) == 0
    finally:
        signal.signal(signal.SIGIO, previous)
    assert signals == []  # a lease break never sends SIGIO, which would end a process that ignores nothing


LEASE_LOOP = r"""
import sys
from tmms.server import handover
path, rounds = sys.argv[1], int(sys.argv[2])
taken = 0
for _ in range(rounds):
    held = handover.hold(path)
    if held is not None:
        taken += held.leased
        held.close()
print(taken)
"""


def test_a_process_taking_leases_while_a_writer_hammers_the_file_is_never_killed_by_a_signal(
    tmp_path: Path, attacker_factory: list[Attacker]
) -> None:
    path = tmp_path / "m.md"
    path.write_bytes(message("alpha", "beta"))
    attacker = Attacker("in-place", tmp_path)
    attacker_factory.append(attacker)
    attacker.start(path)
    try:  # a reader with default signal dispositions (SIGIO's default action would end it)
        reader = subprocess.run([sys.executable, "-c", LEASE_LOOP, str(path), "20000"], capture_output=True,
                                text=True, timeout=300)
    finally:
        attacker.halt()
        attacker.close()
    assert reader.returncode == 0, f"the reader ended with {reader.returncode} ({reader.stderr.strip()[-200:]})"
    assert int(reader.stdout) > 0  # it did take leases while the writer kept opening the file

"""Mail across hosts through link faults (issue #12), on a real sshd (tests/sshkit.py).

Each test streams numbered messages from alice on ``laptop`` to bob on ``gpu-box`` while it breaks
something: the ssh client, sshd's session process, sshd itself, the network (a 30 s partition), or
either side's tmms (``kill -9``). Then it counts what bob got: lost, duplicated and out-of-order
messages must all be 0, nothing may be left in the laptop's spool, nothing dead-lettered.

Posting order: the messages are written into alice's outbox in sequence, each id starting with its
number in hex, so their file names sort in posting order (the order the router takes them). Arrival
order: the remote journal's ``delivered`` lines (a repeat is marked ``duplicate`` and skipped).
"""

from __future__ import annotations

import bisect
import json
import os
import random
import re
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from polling import wait_until as poll
from sshkit import Host, SshBed, netns_unavailable
from tmms.message import compose

ID_LINE = re.compile(r"^tmms_id: ['\"]?([0-9a-f-]+)", re.MULTILINE)
FROM_LINE = re.compile(r"^tmms_from: ['\"]?([^'\"\n]+)", re.MULTILINE)


@dataclass
class Tally:
    """What bob got, against what alice posted."""

    sent: int
    received: int
    lost: int
    duplicated: int
    out_of_order: int
    foreign: list[str]
    examples: list[tuple[int, int, int]]  # (arrival index, the number before, the number) where order broke

    def clean(self) -> bool:
        return self.lost == self.duplicated == self.out_of_order == 0 and not self.foreign


@dataclass
class Stream:
    """A laptop and a gpu-box with their tmms servers; alice streams to bob@gpu-box."""

    bed: SshBed
    laptop: Host
    remote: Host
    alice: tuple[str, Path, Path]
    bob: tuple[str, Path, Path]
    sent: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start_laptop(self) -> None:
        self.laptop.start_server(config=self.laptop.root / "laptop.yml")

    def start_remote(self) -> None:
        self.remote.start_server(config=self.remote.root / "remote.yml")

    def server(self, host: Host) -> int:
        """The pid of ``host``'s running tmms server."""
        alive = [proc.pid for proc in host.servers if proc.poll() is None]
        assert len(alive) == 1, alive
        return alive[0]

    def post(self, count: int) -> None:
        """``count`` more messages into alice's outbox, each written aside then renamed in."""
        for _ in range(count):
            with self.lock:
                seq = len(self.sent)
                message_id = f"{seq:08x}{str(uuid.uuid4())[8:]}"
                msg = compose(f"seq {seq}\n", "alice", "bob@gpu-box", f"seq {seq}", message_id=message_id)
                temp = self.alice[2] / f".{msg.file_name}.writing"
                temp.write_text(msg.text)
                os.rename(temp, self.alice[2] / msg.file_name)
                self.sent.append(message_id)

    def delivered(self) -> int:
        return sum(1 for name in os.listdir(self.bob[1]) if name.endswith(".md") and not name.startswith("."))

    def spooled(self) -> int:
        """Messages still in the laptop's spool for gpu-box (or on their way into it)."""
        state = self.laptop.home / ".local" / "state" / "tmms"
        return sum(len([n for n in os.listdir(d) if not n.startswith(".")])
                   for d in state.glob("hosts-*/gpu-box/*") if d.is_dir() and d.name in ("spool", "incoming"))

    def reach(self, count: int, timeout: float = 60) -> None:
        """Wait until bob holds ``count`` messages."""
        poll(lambda: self.delivered() >= count, timeout, 0.01)

    def settle(self, stall: float = 75) -> None:
        """Wait until all sent are in bob's inbox and the spool is empty; fail after ``stall`` s without one."""
        # stall: longer than the links' longest back-off (60 s)
        held, last = -1, time.monotonic()
        while not (held >= len(self.sent) and self.spooled() == 0):
            now = self.delivered()
            if now != held:
                held, last = now, time.monotonic()
            if time.monotonic() - last > stall:
                raise AssertionError(f"nothing new for {stall} s: {held} of {len(self.sent)} delivered, "
                                     f"{self.spooled()} spooled; {self.keep_journals()}")
            time.sleep(0.05)
        time.sleep(1.0)  # a late repeat would land now

    def tally(self) -> Tally:
        """Lost, duplicated, out-of-order and foreign (not ``alice@laptop``) messages in bob's inbox."""
        ids: list[str] = []
        foreign = []
        for path in self.bob[1].glob("*.md"):
            text = path.read_text(encoding="utf-8")
            found, sender = ID_LINE.search(text), FROM_LINE.search(text)
            assert found and sender, text
            ids.append(found.group(1))
            if sender.group(1) != "alice@laptop":
                foreign.append(sender.group(1))
        counts = Counter(ids)
        order = [int(i[:8], 16) for i in self.arrivals() if i in counts]
        return Tally(len(self.sent), len(ids), sum(1 for i in self.sent if i not in counts),
                     sum(n - 1 for n in counts.values()), len(order) - longest_rising(order), foreign,
                     [(at, order[at - 1], seq) for at, seq in enumerate(order) if at and seq < order[at - 1]][:5])

    def arrivals(self) -> list[str]:
        """Ids in the order of their first ``delivered`` line in the remote journal (a duplicate's too)."""
        # a relay that finishes a delivery a dropped relay left half done logs it as a duplicate
        journal = self.remote.home / ".local" / "state" / "tmms" / "journal.jsonl"
        seen: list[str] = []
        for line in journal.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("event") == "delivered" and record.get("via") == "laptop":
                seen.append(record["id"])
        return list(dict.fromkeys(seen))

    def check(self) -> Tally:
        """Settle, then the tally, which must be clean; nothing dead-lettered on either side."""
        self.settle()
        result = self.tally()
        assert result.clean(), (result, self.keep_journals())
        assert result.received == result.sent
        for host in (self.laptop, self.remote):
            dead = host.home / "dead"
            assert not dead.exists() or not os.listdir(dead), os.listdir(dead)
        return result

    def keep_journals(self) -> str:
        """Copies of both journals and the servers' logs, for a failure's reader: the folder."""
        keep = Path(tempfile.mkdtemp(prefix="tmms-fault-", dir="/tmp"))
        for host in (self.laptop, self.remote):
            journal = host.home / ".local" / "state" / "tmms" / "journal.jsonl"
            shutil.copy(journal, keep / f"{host.name}-journal.jsonl")
            for index, proc in enumerate(host.servers):
                (keep / f"{host.name}-server-{index}.log").write_text(host.server_log(proc))
        return f"journals and logs kept in {keep}"


def longest_rising(numbers: list[int]) -> int:
    """The length of the longest increasing subsequence: the rest is what arrived out of order."""
    tails: list[int] = []
    for number in numbers:
        at = bisect.bisect_left(tails, number)
        tails[at:at + 1] = [number]
    return len(tails)


class Feeder:
    """Posts ``count`` messages at about ``rate`` per second, in a thread."""

    def __init__(self, stream: Stream, count: int, rate: float) -> None:
        self.stream, self.count, self.rate = stream, count, rate
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        start, batch = time.monotonic(), 10
        for done in range(0, self.count, batch):
            self.stream.post(min(batch, self.count - done))
            pause = start + (done + batch) / self.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    def join(self) -> None:
        self.thread.join(timeout=300)
        assert not self.thread.is_alive()


def make_stream(bed: SshBed, netns: bool = False) -> Stream:
    """The two hosts, their panes and servers, and one message through (the link is up)."""
    remote = bed.host("gpu-box", netns=netns)
    laptop = bed.host("laptop", sshd=False)
    stream = Stream(bed, laptop, remote, laptop.register("alice"), remote.register("bob"))
    (laptop.root / "laptop.yml").write_text(laptop.config(host_name="laptop").read_text())
    (remote.root / "remote.yml").write_text(remote.config(host_name="gpu-box").read_text())
    stream.start_remote()
    stream.start_laptop()
    stream.post(1)
    stream.reach(1, 60)
    return stream


def kill_all(pids: list[int], sig: int = signal.SIGKILL) -> int:
    """Signal each pid; how many were there."""
    hit = 0
    for pid in pids:
        try:
            os.kill(pid, sig)
            hit += 1
        except ProcessLookupError:
            pass
    return hit


def at_points(stream: Stream, points: list[int], fault: object) -> None:
    """Call ``fault()`` each time bob's count passes the next point."""
    for point in points:
        stream.reach(point, 120)
        assert callable(fault)
        fault()


def random_points(count: int, k: int) -> list[int]:
    """``k`` sorted random message counts inside a stream of ``count`` (the seed is printed)."""
    seed = random.randrange(1 << 30)
    print(f"fault points seed: {seed}")
    return sorted(random.Random(seed).sample(range(count // 10, count * 8 // 10), k))


def test_killing_the_ssh_client_mid_stream(ssh_bed: SshBed) -> None:
    stream = make_stream(ssh_bed)
    feeder = Feeder(stream, 1000, 250)
    at_points(stream, [150, 450, 750], lambda: kill_all(poll(lambda: stream.laptop.ssh_clients("gpu-box"))))
    feeder.join()
    stream.check()


def test_killing_sshds_session_process_mid_stream(ssh_bed: SshBed) -> None:
    stream = make_stream(ssh_bed)
    sshd = stream.remote.sshd
    assert sshd is not None
    feeder = Feeder(stream, 1000, 250)
    at_points(stream, [150, 450, 750], lambda: kill_all(poll(sshd.sessions)))
    feeder.join()
    stream.check()


def test_restarting_sshd_mid_stream(ssh_bed: SshBed) -> None:
    stream = make_stream(ssh_bed)
    sshd = stream.remote.sshd
    assert sshd is not None
    feeder = Feeder(stream, 1000, 250)
    stream.reach(200, 120)
    sshd.stop(sessions=False)  # as "systemctl restart ssh": the listener goes, live sessions stay
    sshd.start()
    stream.reach(500, 120)
    sshd.stop(sessions=True)  # sshd and every session gone for two seconds
    time.sleep(2)
    sshd.start()
    feeder.join()
    stream.check()


def test_kill_9_of_the_sending_server_at_random_points(ssh_bed: SshBed) -> None:
    stream = make_stream(ssh_bed)
    feeder = Feeder(stream, 1000, 250)

    def crash() -> None:
        os.kill(stream.server(stream.laptop), signal.SIGKILL)  # the server alone: its ssh sees stdin close
        poll(lambda: all(proc.poll() is not None for proc in stream.laptop.servers))
        stream.start_laptop()

    at_points(stream, random_points(1000, 3), crash)
    feeder.join()
    stream.check()


def test_kill_9_of_the_receiving_side_at_random_points(ssh_bed: SshBed) -> None:
    stream = make_stream(ssh_bed)
    sshd = stream.remote.sshd
    assert sshd is not None
    feeder = Feeder(stream, 1000, 250)

    def crash() -> None:
        relays = poll(lambda: sshd.commands("relay"))
        assert kill_all([*relays, stream.server(stream.remote)]) >= 2, relays
        poll(lambda: all(proc.poll() is not None for proc in stream.remote.servers))
        stream.start_remote()

    at_points(stream, random_points(1000, 3), crash)
    feeder.join()
    stream.check()


@pytest.mark.slow
def test_a_30_second_partition_during_a_2000_message_stream(ssh_bed: SshBed) -> None:
    reason = netns_unavailable()
    if reason:
        pytest.skip(f"no network namespace for a real partition: {reason} (the SIGSTOP stall test runs instead)")
    stream = make_stream(ssh_bed, netns=True)
    feeder = Feeder(stream, 2000, 100)
    stream.reach(300, 120)
    stream.remote.cut()
    try:
        time.sleep(30)
    finally:
        stream.remote.mend()
    feeder.join()
    stream.check()


@pytest.mark.slow
def test_a_30_second_stall_by_sigstop_of_the_session(ssh_bed: SshBed) -> None:
    """Not a network partition: where namespaces cannot be made, sshd's session is frozen for 30 s."""
    if netns_unavailable() is None:
        pytest.skip("network namespaces work here: the real partition test runs instead")
    stream = make_stream(ssh_bed)
    sshd = stream.remote.sshd
    assert sshd is not None
    feeder = Feeder(stream, 2000, 100)
    stream.reach(300, 120)
    frozen = sshd.sessions() + sshd.commands("relay")
    assert kill_all(frozen, signal.SIGSTOP)
    try:
        time.sleep(30)
    finally:
        kill_all(frozen, signal.SIGCONT)
    feeder.join()
    stream.check()

#!/usr/bin/env python3
"""Mail across hosts (issue #12) on a real sshd on loopback (tests/sshkit.py), beside what a user does
without it (``ssh HOST tmms post`` per message, ``scp`` of the file per message); a Markdown table.

    python bench/hosts.py              # every case, 3 runs (a fresh test bed each), medians
    python bench/hosts.py --quick      # smaller sizes, 1 run
    python bench/hosts.py --cases warm,bulk --runs 1 --json /tmp/hosts.json

Two "hosts" on this machine: ``laptop`` (pane alice, its tmms server links out) and ``gpu-box`` (an
sshd, panes bob and carol, its tmms server). The servers run with ``polling_interval: 60`` (they
deliver on file events), as in bench/run.py; the tree is byte-compiled first. Every figure is wall
time on this machine, loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
for _path in (BENCH, BENCH.parent / "src", BENCH.parent / "tests"):
    sys.path.insert(0, str(_path))

from harness import REPO, compile_tree, count_md, median, percentile, wait_for  # noqa: E402
from sshkit import Host, SshBed, cmdline, descendants, ssh_bed, sshd_unavailable  # noqa: E402
from tmms.message import compose  # noqa: E402

Row = tuple[str, str, str]
STEADY_RATE = 1000.0  # messages/s of the steady stream: below the link's rate, so no backlog builds up


@dataclass
class Pair:
    """A laptop and a gpu-box, each with a tmms server; alice on the laptop, bob and carol on the gpu-box."""

    bed: SshBed
    laptop: Host
    remote: Host
    alice: tuple[str, Path, Path]
    bob: tuple[str, Path, Path]
    carol: tuple[str, Path, Path]
    laptop_server: subprocess.Popen[bytes] | None = None
    laptop_config: Path = field(default_factory=Path)

    @property
    def inbox(self) -> Path:
        return self.bob[1]

    def start_laptop(self) -> None:
        self.laptop_server = self.laptop.start_server(config=self.laptop_config)

    def stop_laptop(self) -> None:
        if self.laptop_server is not None:
            self.laptop.stop_server(self.laptop_server)


def make_pair(bed: SshBed) -> Pair:
    """The two hosts, their panes and servers (the laptop's link is cold until its first message)."""
    remote = bed.host("gpu-box")
    laptop = bed.host("laptop", sshd=False)
    pair = Pair(bed, laptop, remote, laptop.register("alice"), remote.register("bob"), remote.register("carol"))
    remote.start_server(config=remote.config(host_name="gpu-box", polling_interval=60))
    pair.laptop_config = laptop.config(host_name="laptop", polling_interval=60)  # file events, as bench/run.py
    pair.start_laptop()
    return pair


def wait_count(folder: Path, count: int, timeout: float, interval: float = 0.0005) -> float:
    """Poll until ``folder`` holds ``count`` messages; the monotonic time it was seen (TimeoutError)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count_md(folder) >= count:
            return time.monotonic()
        time.sleep(interval)
    raise TimeoutError(f"{folder}: {count_md(folder)} of {count} messages after {timeout} s")


def wait_progress(folder: Path, count: int, stall: float = 30.0) -> tuple[int, float]:
    """Poll until ``folder`` holds ``count`` messages or ``stall`` s pass with none new: (held, time of the last)."""
    held, last = count_md(folder), time.monotonic()
    while held < count and time.monotonic() - last < stall:
        time.sleep(0.01)
        now = count_md(folder)
        if now > held:
            held, last = now, time.monotonic()
    return held, last


def post(pair: Pair, to: str = "bob@gpu-box", body: str = "hello\n") -> subprocess.CompletedProcess[str]:
    """``tmms post -t TO`` from alice's pane on the laptop."""
    out = pair.laptop.tmms("post", "-t", to, "-s", "bench", pane=pair.alice[0], input=body)
    if out.returncode != 0:
        raise RuntimeError(f"tmms post failed: {out.stderr.strip()}")
    return out


def case_warm(pair: Pair, samples: int) -> dict[str, list[float]]:
    """Post -> remote inbox over a warm link, one at a time: post wall, post start/return -> inbox (ms)."""
    have = count_md(pair.inbox)
    post(pair)
    have = _arrived(pair, have + 1, 60)
    wall, from_start, from_return = [], [], []
    for _ in range(samples):
        start = time.monotonic()
        post(pair)
        returned = time.monotonic()
        have = _arrived(pair, have + 1, 30)
        seen = time.monotonic()
        wall.append((returned - start) * 1e3)
        from_start.append((seen - start) * 1e3)
        from_return.append((seen - returned) * 1e3)
    return {"post_wall_ms": wall, "start_to_inbox_ms": from_start, "return_to_inbox_ms": from_return}


def _arrived(pair: Pair, count: int, timeout: float) -> int:
    wait_count(pair.inbox, count, timeout)
    return count


def case_outbox(pair: Pair, samples: int) -> dict[str, list[float]]:
    """A file renamed into alice's outbox -> in bob's remote inbox (the servers and the link alone), ms."""
    have = _arrived(pair, count_md(pair.inbox), 1)
    times = []
    for i in range(samples):
        msg = compose(f"outbox {i}\n", "alice", "bob@gpu-box", "bench")
        temp = pair.alice[2] / f".{msg.file_name}.tmp"
        temp.write_text(msg.text)
        start = time.monotonic()
        os.rename(temp, pair.alice[2] / msg.file_name)
        have = _arrived(pair, have + 1, 30)
        times.append((time.monotonic() - start) * 1e3)
    return {"outbox_to_inbox_ms": times}


def rss_kib(pid: int) -> int:
    """A process's resident set now (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tmms_pids(pair: Pair) -> dict[str, list[int]]:
    """The processes that carry the mail: each host's tmms server and what runs under it or the sessions."""
    laptop = [p.pid for p in pair.laptop.servers if p.poll() is None]
    remote = [p.pid for p in pair.remote.servers if p.poll() is None]
    sessions = pair.remote.sshd.commands() if pair.remote.sshd else []
    return {"laptop": [pid for top in laptop for pid in [top, *descendants(top)]],
            "gpu-box": [pid for top in remote for pid in [top, *descendants(top)]] + sessions}


class RssSampler:
    """Samples the summed RSS (MiB) of each side's tmms processes (found once) every ``interval`` s."""

    # walking /proc on every sample cost a core on a small machine and slowed what it measured

    def __init__(self, pair: Pair, interval: float = 0.25) -> None:
        self.pids, self.interval = tmms_pids(pair), interval
        self.samples: list[dict[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append({side: sum(rss_kib(pid) for pid in group) / 1024 for side, group in self.pids.items()})
            self._stop.wait(self.interval)

    def close(self) -> list[dict[str, float]]:
        self._stop.set()
        self._thread.join()
        return self.samples


def release(names: list[str], staging: Path, outbox: Path, rate: float | None) -> None:
    """Rename the staged messages into the outbox: all at once, or ``rate`` per second in batches of 100."""
    start = time.monotonic()
    for index, name in enumerate(names):
        os.rename(staging / name, outbox / name)
        if rate and index % 100 == 99:
            time.sleep(max(0.0, start + (index + 1) / rate - time.monotonic()))


def case_bulk(pair: Pair, count: int, rate: float | None = None) -> dict[str, object]:
    """``count`` messages renamed into alice's outbox (at once, or ``rate``/s) over a warm link -> bob's inbox."""
    have = count_md(pair.inbox)
    post(pair)
    have = _arrived(pair, have + 1, 60)
    staging = pair.laptop.root / "staging"
    staging.mkdir(exist_ok=True)
    names = []
    for i in range(count):
        msg = compose(f"bulk {i}\n", "alice", "bob@gpu-box", f"bulk {i}")
        (staging / msg.file_name).write_text(msg.text)
        names.append(msg.file_name)
    sampler = RssSampler(pair)
    time.sleep(0.3)
    start = time.monotonic()
    release(names, staging, pair.alice[2], rate)
    held, done = wait_progress(pair.inbox, have + count)
    time.sleep(0.3)
    samples = sampler.close()
    seconds, arrived = done - start, held - have
    first = samples[0]
    return {"count": count, "arrived": arrived, "seconds": seconds, "per_second": arrived / seconds,
            **{f"rss_{side}_before_mib": first[side] for side in first},
            **{f"rss_{side}_peak_mib": max(s[side] for s in samples) for side in first},
            **{f"rss_{side}_after_mib": samples[-1][side] for side in first},
            "rss_after_by_process": {f"{pid} {cmdline(pid)[:80]}": rss_kib(pid) / 1024
                                     for group in sampler.pids.values() for pid in group}}


def case_fallback_ssh(pair: Pair, samples: int) -> dict[str, float]:
    """What a user does without links: ``ssh gpu-box tmms post --pane CAROL -t bob`` per message."""
    have = count_md(pair.inbox)
    start = time.monotonic()
    for i in range(samples):
        out = pair.laptop.run(["ssh", "gpu-box", f"tmms post --pane {pair.carol[0]} -t bob -s bench"],
                              input=f"fallback {i}\n")
        if out.returncode != 0:
            raise RuntimeError(f"ssh tmms post failed: {out.stderr.strip()}")
    wait_count(pair.inbox, have + samples, 60)
    seconds = time.monotonic() - start
    return {"samples": samples, "seconds": seconds, "per_message_ms": seconds / samples * 1e3}


def case_fallback_scp(pair: Pair, samples: int) -> dict[str, float]:
    """The other fallback: ``scp`` of a message file straight into bob's inbox per message."""
    have = count_md(pair.inbox)
    source = pair.laptop.root / "scp"
    source.mkdir(exist_ok=True)
    start = time.monotonic()
    for i in range(samples):
        msg = compose(f"scp {i}\n", "alice", "bob", "bench")
        path = source / msg.file_name
        path.write_text(msg.text)
        out = pair.laptop.run(["scp", "-q", str(path), f"gpu-box:{pair.inbox}/{msg.file_name}"])
        if out.returncode != 0:
            raise RuntimeError(f"scp failed: {out.stderr.strip()}")
    wait_count(pair.inbox, have + samples, 60)
    seconds = time.monotonic() - start
    return {"samples": samples, "seconds": seconds, "per_message_ms": seconds / samples * 1e3}


def case_cold(pair: Pair, samples: int) -> dict[str, list[float]]:
    """The first message to a cold host: a fresh laptop server (no link yet), post -> remote inbox (ms)."""
    times = []
    for _ in range(samples):
        pair.stop_laptop()
        pair.start_laptop()
        start = time.monotonic()
        target = landed(pair, post(pair).stdout.strip().splitlines()[-1])
        if not wait_for(target.exists, 60):
            raise TimeoutError(f"{target} did not arrive")
        times.append((time.monotonic() - start) * 1e3)
    return {"cold_ms": times}


def landed(pair: Pair, outbox_path: str) -> Path:
    """Where a message posted as ``outbox_path`` lands in bob's inbox (its stamp, the qualified sender, its id)."""
    stamp, _, rest = Path(outbox_path).name.partition("_alice_to_bob@gpu-box_")
    return pair.inbox / f"{stamp}_alice@laptop_to_bob_{rest}"


def one_run(cases: set[str], quick: bool, bulk: int) -> dict[str, object]:
    """Every chosen case on a fresh test bed."""
    raw: dict[str, object] = {}
    root = Path(tempfile.mkdtemp(prefix="tmms-bh-", dir="/tmp"))
    with ssh_bed(root) as bed:
        pair = make_pair(bed)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("warm", lambda: case_warm(pair, 20 if quick else 100)),
            ("outbox", lambda: case_outbox(pair, 20 if quick else 100)),
            ("bulk", lambda: case_bulk(pair, bulk)),
            ("steady", lambda: case_bulk(pair, bulk, STEADY_RATE)),
            ("ssh", lambda: case_fallback_ssh(pair, 20 if quick else 100)),
            ("scp", lambda: case_fallback_scp(pair, 20 if quick else 100)),
            ("cold", lambda: case_cold(pair, 3 if quick else 5)),
        ]
        for name, step in steps:
            if name in cases:
                print(f"# {name} ...", file=sys.stderr, flush=True)
                raw[name] = step()
    subprocess.run(["rm", "-rf", str(root)], check=False)
    return raw


def _mid(runs: list[dict[str, object]], case: str, key: str, stat: Callable[[list[float]], float]) -> float:
    """The median over runs of ``stat`` of one figure (a list of samples or a single number)."""
    values = []
    for run in runs:
        figures = run.get(case)
        if isinstance(figures, dict) and key in figures:
            value = figures[key]
            values.append(stat(value) if isinstance(value, list) else float(value))
    return median(values)


def p50(values: list[float]) -> float:
    return percentile(values, 50)


def p95(values: list[float]) -> float:
    return percentile(values, 95)


def rss_rows(runs: list[dict[str, object]], case: str) -> list[Row]:
    """Each side's summed RSS before, at the peak of and after a bulk case, medians over runs."""
    whens = ("before", "peak", "after")
    return [(f"  RSS of {side}'s tmms processes: before / peak / after",
             " / ".join(f"{_mid(runs, case, f'rss_{side}_{when}_mib', p50):.0f}" for when in whens) + " MiB", "flat")
            for side in ("laptop", "gpu-box")]


def table(runs: list[dict[str, object]], bulk: int) -> list[Row]:
    """The rows: case, the median over runs, the goal."""
    def mid(case: str, key: str, stat: Callable[[list[float]], float] = p50) -> float:
        return _mid(runs, case, key, stat)

    rows: list[Row] = []
    rows.append(("post start → remote inbox, warm link, p50 / p95",
                 f"{mid('warm', 'start_to_inbox_ms'):.1f} / {mid('warm', 'start_to_inbox_ms', p95):.1f} ms",
                 "≤ 10 / ≤ 30 ms"))
    rows.append(("  of which `tmms post` itself (wall), p50", f"{mid('warm', 'post_wall_ms'):.1f} ms", "—"))
    rows.append(("  post returned → remote inbox, p50 / p95",
                 f"{mid('warm', 'return_to_inbox_ms'):.1f} / {mid('warm', 'return_to_inbox_ms', p95):.1f} ms", "—"))
    rows.append(("file renamed into the outbox → remote inbox (servers + link), p50 / p95",
                 f"{mid('outbox', 'outbox_to_inbox_ms'):.1f} / {mid('outbox', 'outbox_to_inbox_ms', p95):.1f} ms",
                 "—"))
    rate, seconds = mid("bulk", "per_second"), mid("bulk", "seconds")
    stuck = [bulk - int(run["bulk"]["arrived"]) for run in runs if isinstance(run.get("bulk"), dict)]  # type: ignore[index]
    note = f" ({', '.join(map(str, stuck))} never arrived, per run)" if any(stuck) else ""
    if rate == rate:
        rows.append((f"{bulk:,} messages renamed into the outbox at once (warm link) → all in the remote inbox",
                     f"{seconds:.2f} s = {rate:,.0f} msg/s{note}", "≥ 2,000 msg/s"))
        rows += rss_rows(runs, "bulk")
    if mid("steady", "per_second") == mid("steady", "per_second"):
        rows.append((f"{bulk:,} messages as a steady stream of {STEADY_RATE:,.0f}/s (no backlog)",
                     f"{mid('steady', 'seconds'):.2f} s", "—"))
        rows += rss_rows(runs, "steady")
    tmms_ms = seconds / bulk * 1e3 if bulk else float("nan")
    for case, label in (("ssh", "`ssh gpu-box tmms post` per message"), ("scp", "`scp` of the file per message")):
        per = mid(case, "per_message_ms")
        if per != per:  # not measured
            continue
        rows.append((f"{label}: a sample of {mid(case, 'samples'):.0f}, extrapolated to {bulk:,}",
                     f"{per:.1f} ms/msg → {per * bulk / 1e3:,.0f} s; **{per / tmms_ms:,.0f}×** tmms' time",
                     "≥ 50×"))
    rows.append(("first message to a cold host (fresh server, ssh connect included), median",
                 f"{mid('cold', 'cold_ms', median):.0f} ms", "report"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one run")
    parser.add_argument("--runs", type=int, default=3, help="fresh test beds; each figure is the median over runs")
    parser.add_argument("--cases", default="warm,outbox,bulk,steady,ssh,scp,cold")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--bulk", type=int, default=10000, help="messages in the bulk case (--quick: 2,000)")
    args = parser.parse_args()
    reason = sshd_unavailable()
    if reason:
        print(f"bench/hosts.py: cannot run a test sshd here: {reason}", file=sys.stderr)
        return 2
    runs_wanted = 1 if args.quick else args.runs
    bulk = 2000 if args.quick else args.bulk
    compile_tree(REPO / "src")  # this machine may set PYTHONDONTWRITEBYTECODE: bytecode as installed
    ssh_version = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{ssh_version}, {runs_wanted} run(s)", flush=True)
    runs = []
    for index in range(runs_wanted):
        print(f"# run {index + 1}", file=sys.stderr, flush=True)
        runs.append(one_run(set(args.cases.split(",")), args.quick, bulk))
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    print("\n| case | tmms (median over runs) | goal |\n|---|---|---|")
    for row in table(runs, bulk):
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())

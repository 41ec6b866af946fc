#!/usr/bin/env python3
"""Benchmark tmms against TMMS 0.1.1 (npm) in the same run; prints a Markdown table with ratios.

    python bench/run.py                 # every case, reference included when npm works
    python bench/run.py --quick         # smaller sizes, for a smoke run
    python bench/run.py --no-reference  # tmms only
    python bench/run.py --old 5af1e2d --cases post,start   # this tree beside an older commit
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from harness import (
    BenchTmux,
    Impl,
    count_md,
    cpu_seconds,
    drop_tree,
    install_reference,
    median,
    new_root,
    old_tree,
    ours,
    peak_rss_mib,
    percentile,
    this_tree,
    tmux_shim,
    wait_for,
)
from tmms.message import compose
from tmms.watch import Watcher

Row = dict[str, object]


def post_once(bench: BenchTmux, impl: Impl, pane: str, to: str, body: bytes = b"hello\n") -> tuple[float, float, str]:
    """Run one post; return (start ns, return ns, printed path)."""
    if not impl.name.startswith("tmms"):  # TMMS 0.1.1 takes the sender from the focused pane, not $TMUX_PANE
        bench.tmux("select-window", "-t", pane)
        bench.tmux("select-pane", "-t", pane)
    start = time.time_ns()
    proc = subprocess.run([*impl.argv, "post", "-t", to, "-s", "bench"], input=body, capture_output=True,
                          env=bench.env(pane, impl=impl))
    end = time.time_ns()
    if proc.returncode != 0:
        raise RuntimeError(f"{impl.name} post failed: {proc.stderr.decode().strip()}")
    return start, end, proc.stdout.decode().strip().splitlines()[-1]


def _bare_python(of: Impl | None = None) -> Impl:
    """tmms (this one, or the tree ``of`` runs) under ``python -S``, with the import path site would have made."""
    import yaml

    import tmms

    src = of.env["PYTHONPATH"] if of and "PYTHONPATH" in of.env else str(Path(tmms.__file__).resolve().parent.parent)
    paths = {src, str(Path(yaml.__file__).resolve().parent.parent)}
    code = f"import sys; sys.path[:0] = {sorted(paths)!r}; from tmms.cli import main; sys.exit(main())"
    name = f"{of.name} (python -S)" if of else "tmms (python -S)"
    return Impl(name, [sys.executable, "-S", "-c", code], {"PYTHONPATH": ""})


def _wall(argv: list[str], runs: int) -> list[float]:
    """Wall times (ms) of a command."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def case_post_wall(impls: list[Impl], runs: int) -> dict[str, list[float]]:
    """Wall time of `post`, interleaving the implementations."""
    bench = BenchTmux(new_root())
    try:
        a = bench.register("alpha")
        bench.register("beta")
        times: dict[str, list[float]] = {i.name: [] for i in impls}
        for impl in impls:  # warm the page cache
            post_once(bench, impl, a.pane_id, "beta")
        for _ in range(runs):
            for impl in impls:
                start, end, _path = post_once(bench, impl, a.pane_id, "beta")
                times[impl.name].append((end - start) / 1e6)
        return times
    finally:
        bench.close()


def _start_once(bench: BenchTmux, impl: Impl, config: Path) -> float:
    """Spawn ``tmms server``; ms until it logs that it serves (the lock is taken, the panes read)."""
    start = time.perf_counter()
    proc = subprocess.Popen([*impl.argv, "server", "-c", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=bench.env(impl=impl))
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if b"serving " in line:
                return (time.perf_counter() - start) * 1000
        raise RuntimeError(f"{impl.name} server ended before serving")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def case_start(impls: list[Impl], runs: int) -> dict[str, list[float]]:
    """Server start, from spawning ``tmms server`` to its "serving" log line; the implementations interleaved."""
    bench = BenchTmux(new_root())
    try:
        for name in ("alpha", "beta", "gamma"):
            bench.register(name)
        config = bench.config(polling=60)
        times: dict[str, list[float]] = {i.name: [] for i in impls}
        for impl in impls:  # warm the page cache
            _start_once(bench, impl, config)
        for _ in range(runs):
            for impl in impls:
                times[impl.name].append(_start_once(bench, impl, config))
        return times
    finally:
        bench.close()


def side_by_side(rev: str, cases: set[str], runs: int, new_rev: str | None = None) -> list[tuple[str, str, str, str]]:
    """This tree (or commit ``new_rev``) against commit ``rev``, each compiled, interleaved in one run: medians."""
    root = new_root()
    old = old_tree(rev, root / "old")
    new = old_tree(new_rev, root / "new") if new_rev else this_tree()
    rows: list[tuple[str, str, str, str]] = []
    try:
        if "post" in cases:
            impls = [new, old, _bare_python(new), _bare_python(old)]
            times = case_post_wall(impls, runs)
            for label, a, b in ((f"`tmms post` wall time, median of {runs}", new, old),
                                ("  the same under `python -S` (no site .pth hooks)", impls[2], impls[3])):
                x, y = median(times[a.name]), median(times[b.name])
                rows.append((label, fmt(x, " ms"), fmt(y, " ms"), ratio(x, y)))
        if "start" in cases:
            times = case_start([new, old], runs)
            x, y = median(times[new.name]), median(times[old.name])
            rows.append((f"server start: spawn → \"serving\" log line, median of {runs}", fmt(x, " ms"),
                         fmt(y, " ms"), ratio(x, y)))
    finally:
        drop_tree(root / "old")
        if new_rev:
            drop_tree(root / "new")
    return rows


class EventClock:
    """Stamps the moment each file shows up in some folders (inotify, read by a thread of its own)."""

    def __init__(self, folders: list[Path]) -> None:
        self.watcher = Watcher()
        for folder in folders:
            self.watcher.watch(str(folder))
        self.seen: dict[str, int] = {}
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            batch = self.watcher.wait(0.1)
            now = time.time_ns()
            for path in batch.paths:
                self.seen.setdefault(path, now)

    def when(self, path: Path, timeout: float) -> int:
        """When ``path`` showed up (ns since the epoch)."""
        deadline = time.monotonic() + timeout
        while str(path) not in self.seen:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path.name} never showed up")
            time.sleep(0.0005)
        return self.seen[str(path)]

    def close(self) -> None:
        self._stop = True
        self.watcher.wake()
        self._thread.join(timeout=2)
        self.watcher.close()


def case_latency(impl: Impl, polling: float, samples: int) -> dict[str, list[float]]:
    """Milliseconds from post returned (and from the outbox file showing up) to the file in the inbox,
    and from post returned to the notify command started, with a server running."""
    bench = BenchTmux(new_root())
    marks = bench.root / "notified"
    marks.mkdir()
    clock: EventClock | None = None
    try:
        a = bench.register("alpha")
        b = bench.register("beta", notify=f'date +%s%N >> {marks}/${{{{tmms_id}}}}.n')
        proc = bench.start(impl, bench.config(polling))
        time.sleep(1.5 if impl.name.startswith("tmms") else 2.5)
        if proc.poll() is not None:
            raise RuntimeError(f"{impl.name} server exited: {(bench.root / 'server-0.log').read_text()}")
        clock = EventClock([a.outbox, b.inbox])
        result: dict[str, list[float]] = {"inbox": [], "notify": [], "outbox_to_inbox": []}
        wait = max(5.0, polling * 3)
        for _ in range(samples):
            _start, returned, path = post_once(bench, impl, a.pane_id, "beta")
            name = os.path.basename(path)
            arrived = clock.when(b.inbox / name, wait)
            written = clock.when(a.outbox / name, wait)
            message_id = _id_of(b.inbox / name)
            mark = marks / f"{message_id}.n"
            wait_for(lambda m=mark: m.exists() and m.read_text().strip(), timeout=wait)
            started = int(mark.read_text().split()[0]) if mark.exists() and mark.read_text().strip() else None
            # a file that arrived before post even returned counts as 0
            result["inbox"].append(max(0.0, (arrived - returned) / 1e6))
            result["outbox_to_inbox"].append(max(0.0, (arrived - written) / 1e6))
            if started is not None:
                result["notify"].append(max(0.0, (started - returned) / 1e6))
            time.sleep(0.05 + random.random() * 0.05)
        return result
    finally:
        if clock is not None:
            clock.close()
        bench.close()


def _id_of(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("tmms_id:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    return ""


def case_idle(impl: Impl, panes: int, polling: float, seconds: float) -> tuple[float, float]:
    """Idle server with N enabled panes: (tmux invocations per second, CPU % of one core)."""
    results = []
    for shimmed in (True, False):
        bench = BenchTmux(new_root())
        try:
            for i in range(panes):
                bench.register(f"p{i}")
            path, log = tmux_shim(bench.root) if shimmed else (None, None)
            proc = bench.start(impl, bench.config(polling), path=path)
            time.sleep(3.0)
            calls0 = _lines(log) if log else 0
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            calls1 = _lines(log) if log else 0
            results.append(((calls1 - calls0) / (t1 - t0), 100 * (cpu1 - cpu0) / (t1 - t0)))
        finally:
            bench.close()
    return results[0][0], results[1][1]


def _lines(path: Path | None) -> int:
    try:
        return len(path.read_bytes().splitlines()) if path else 0
    except FileNotFoundError:
        return 0


def preplace(bench: BenchTmux, boxes: list, count: int, one_outbox: bool = False) -> None:  # type: ignore[type-arg]
    """Write ``count`` valid messages into outboxes (spread, or all in the first one)."""
    names = [b.name for b in boxes]
    for i in range(count):
        sender = boxes[0] if one_outbox else boxes[i % len(boxes)]
        to = names[(names.index(sender.name) + 1 + i) % len(names)]
        if to == sender.name:
            to = names[(names.index(sender.name) + 1) % len(names)]
        while True:  # 8 hex digits of the id are in the name: 100,000 messages in one second can clash
            msg = compose(f"message {i}\n", sender.name, to, f"bulk {i}")
            try:
                with open(sender.outbox / msg.file_name, "x", encoding="utf-8") as handle:
                    handle.write(msg.text)
                break
            except FileExistsError:
                continue


QUIET_SECONDS = 2.0  # settle_seconds' default: files written in place younger than this wait at start


def case_bulk(impl: Impl, outboxes: int, count: int, polling: float, notify: str = "true") -> tuple[float, float]:
    """Messages pre-placed in outboxes → all in inboxes: (seconds from server start, peak RSS MiB).

    A backlog is mail that piled up while no server ran, so the clock starts once the newest file
    is older than tmms's quiet period (a file written in place, as these are, and younger than that
    might still be in the middle of being written, and waits at start). Both servers get the same.
    """
    bench = BenchTmux(new_root())
    watcher = Watcher()
    try:
        boxes = [bench.register(f"w{i}", notify=notify) for i in range(outboxes)]
        preplace(bench, boxes, count, one_outbox=outboxes == 1 or False)
        time.sleep(QUIET_SECONDS + 0.1)
        # arrivals are counted from inotify events: listing big folders would steal CPU
        for box in boxes:
            watcher.watch(str(box.inbox))
        start = time.monotonic()
        proc = bench.start(impl, bench.config(polling))
        peak = [0.0]

        def sample() -> None:
            while proc.poll() is None:
                try:
                    peak[0] = max(peak[0], peak_rss_mib(proc.pid))
                except (FileNotFoundError, ProcessLookupError):
                    return
                time.sleep(0.2)

        threading.Thread(target=sample, daemon=True).start()
        elapsed = _await_arrivals(watcher, [b.inbox for b in boxes], count, start, timeout=1800)
        if sum(count_md(b.inbox) for b in boxes) < count:
            raise RuntimeError(f"{impl.name}: not all {count} delivered")
        try:
            peak[0] = max(peak[0], peak_rss_mib(proc.pid))
        except FileNotFoundError:
            pass
        return elapsed, peak[0]
    finally:
        watcher.close()
        bench.close()
        shutil.rmtree(bench.root, ignore_errors=True)


def _await_arrivals(watcher: Watcher, inboxes: list[Path], count: int, start: float, timeout: float) -> float:
    """Seconds from ``start`` until ``count`` distinct message files have arrived in ``inboxes``."""
    seen: set[str] = set()
    deadline = start + timeout
    while len(seen) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"only {len(seen)} of {count} arrived within {timeout:g}s")
        batch = watcher.wait(min(left, 1.0))
        seen.update(p for p in batch.paths if p.endswith(".md") and not os.path.basename(p).startswith("."))
        if batch.overflow or not batch.paths:  # lost events, or a quiet second: count by listing
            seen.update(str(f) for box in inboxes for f in box.glob("*.md"))
    return time.monotonic() - start


def fmt(value: float, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}{unit}"


def ratio(a: float, b: float) -> str:
    return "n/a" if not (a == a and b == b and b) else f"{a / b:.3f}×"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--no-reference", action="store_true", help="skip TMMS 0.1.1")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the bulk case (median)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--cases", default="post,latency,idle,bulk,backlog", help="also: start")
    parser.add_argument("--old", metavar="REV", help="only this tree beside commit REV (cases post, start)")
    parser.add_argument("--new", metavar="REV", help="with --old: commit REV instead of this tree")
    parser.add_argument("--runs", type=int, default=20, help="samples of the post and start cases")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    if args.old:
        rows_old = side_by_side(args.old, cases, args.runs, args.new)
        print(f"\n| case | {args.new or 'this tree'} | {args.old} | ratio |\n|---|---|---|---|")
        for row_old in rows_old:
            print("| " + " | ".join(row_old) + " |")
        return 0
    quick = args.quick
    py = ours()
    ref = None if args.no_reference else install_reference(Path.home() / ".cache" / "tmms-bench" / "reference")
    impls = [py] + ([ref] if ref else [])
    raw: dict[str, object] = {}
    rows: list[tuple[str, str, str, str, str]] = []
    tmux_version = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{tmux_version}, reference: {'yes' if ref else 'no'}", flush=True)

    if "post" in cases:
        bare = _bare_python()
        times = case_post_wall([*impls, bare], 20)
        raw["post_ms"] = times
        p, r = median(times[py.name]), median(times[ref.name]) if ref else float("nan")
        rows.append(("`tmms post` wall time, median of 20", fmt(p, " ms"), fmt(r, " ms"), ratio(p, r), "≤ 0.35×"))
        if bare.name in times:  # the same code without site's .pth hooks, which some machines load slowly
            b_ms = median(times[bare.name])
            rows.append(("  the same `tmms post` under `python -S` (no site .pth hooks)", fmt(b_ms, " ms"),
                         fmt(r, " ms"), ratio(b_ms, r), "—"))
        floors = {name: median(_wall([*argv], 20)) for name, argv in
                  (("python", [sys.executable, "-c", "pass"]), ("node", ["node", "-e", "0"]))}
        raw["interpreter_start_ms"] = floors
        rows.append(("  for scale: an empty `python -c pass` / `node -e 0`, median of 20", fmt(floors["python"], " ms"),
                     fmt(floors["node"], " ms"), ratio(floors["python"], floors["node"]), "—"))
        print(rows[-2], rows[-1], flush=True)

    if "start" in cases:
        start_ms = case_start([py], args.runs)[py.name]
        raw["start_ms"] = start_ms
        rows.append((f"server start: spawn → \"serving\" log line, median of {args.runs}",
                     fmt(median(start_ms), " ms"), "—", "—", "—"))
        print(rows[-1], flush=True)

    if "latency" in cases:
        mine = case_latency(py, polling=60, samples=10 if quick else 40)
        theirs: dict[str, list[float]] = {"inbox": [], "notify": [], "outbox_to_inbox": []}
        raw["latency_ms"] = mine
        if ref:
            theirs = case_latency(ref, polling=1, samples=4 if quick else 10)
            raw["ref_latency_ms"] = theirs
        for label, key, stat, target in (
            ("post returned → file in inbox, p50", "inbox", median, "≤ 5 ms"),
            ("post returned → file in inbox, p95", "inbox", lambda v: percentile(v, 95), "≤ 20 ms"),
            ("post returned → notify started, p50", "notify", median, "≤ 10 ms"),
            ("outbox file appeared → file in inbox, p50 (the server alone)", "outbox_to_inbox", median, "—"),
            ("outbox file appeared → file in inbox, p95", "outbox_to_inbox", lambda v: percentile(v, 95), "—"),
        ):
            a_val, b_val = stat(mine[key]), stat(theirs[key])
            rows.append((label, fmt(a_val, " ms", 2), fmt(b_val, " ms", 2), ratio(a_val, b_val), target))
        for row in rows[-5:]:
            print(row, flush=True)

    if "idle" in cases:
        panes = 20 if quick else 100
        calls, cpu = case_idle(py, panes, polling=60, seconds=5 if quick else 10)
        raw["idle"] = {"calls_per_s": calls, "cpu_pct": cpu}
        rcalls, rcpu = (float("nan"), float("nan"))
        if ref:
            rcalls, rcpu = case_idle(ref, panes, polling=5, seconds=10)
            raw["ref_idle"] = {"calls_per_s": rcalls, "cpu_pct": rcpu, "polling_interval": 5}
        label = f"idle, {panes} panes: tmux invocations per second (tmms refreshes every 1 s; TMMS polls every 5 s)"
        rows.append((label,
                     fmt(calls), fmt(rcalls), ratio(calls, rcalls), "≤ 1 per refresh"))
        rows.append((f"idle, {panes} panes: server CPU, % of one core", fmt(cpu, " %"), fmt(rcpu, " %"),
                     ratio(cpu, rcpu), "≤ 1 %"))
        for row in rows[-2:]:
            print(row, flush=True)

    if "bulk" in cases:
        count = 400 if quick else 2000
        bulk = [case_bulk(py, 20, count, polling=60)[0] for _ in range(args.repeat)]
        bulk_ref = [case_bulk(ref, 20, count, polling=1)[0] for _ in range(max(1, args.repeat))] if ref else []
        raw["bulk_s"] = {"tmms": bulk, "ref": bulk_ref}
        rows.append((f"{count} messages pre-placed in 20 outboxes → all in inboxes (median of {args.repeat})",
                     fmt(median(bulk), " s", 2), fmt(median(bulk_ref), " s", 2), ratio(median(bulk), median(bulk_ref)),
                     "≤ 0.25×"))
        print(rows[-1], flush=True)

    if "backlog" in cases:
        sizes = [2000, 5000, 10000] if quick else [25000, 50000, 100000]
        backlog = []
        for size in sizes:
            seconds, rss = case_bulk(py, 1, size, polling=60, notify="")
            backlog.append({"messages": size, "seconds": seconds, "per_message_us": seconds / size * 1e6,
                            "peak_rss_mib": rss})
            print(backlog[-1], flush=True)
        raw["backlog"] = backlog
        for item in backlog:
            rows.append((f"backlog of {item['messages']} in one outbox → delivered",
                         f"{item['seconds']:.1f} s ({item['per_message_us']:.0f} µs/msg, peak RSS "
                         f"{item['peak_rss_mib']:.0f} MiB)", "—", "—", "all delivered, linear, flat memory"))

    print()
    print("| case | tmms | TMMS 0.1.1 | ratio | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

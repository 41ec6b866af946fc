#!/usr/bin/env python3
"""Wall time of ``tmms inbox`` (text and --json) and ``tmms post``, this tree beside an older commit.

Issue #11 gave the lists column headers fitted to the terminal, filters and one JSON shape; the goal
is that neither ``tmms inbox`` nor ``tmms post`` gets slower. In a private tmux server, a registered
pane with N unread messages runs each command as a real process, both trees interleaved in every
round; prints a Markdown table of medians (ms): wall time, and CPU time (user + system of the child),
which a loaded machine moves less.

    python bench/inbox.py --old 4103b50             # 20 runs x 3 rounds, 10 and 1000 unread
    python bench/inbox.py --old 4103b50 --runs 40 --counts 100
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from harness import BenchTmux, Box, Impl, drop_tree, median, new_root, old_tree, this_tree


def fill(box: Box, count: int) -> None:
    """``count`` unread messages from alpha in ``box``'s inbox, a second apart."""
    from tmms.message import compose

    start = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    for n in range(count):
        composed = compose(f"body {n}\n", "alpha", box.name, f"Subject number {n}: a line of some length",
                           moment=start + timedelta(seconds=n))
        (box.inbox / composed.file_name).write_text(composed.text, encoding="utf-8")


def timed(bench: BenchTmux, impl: Impl, pane: str, args: list[str], stdin: bytes = b"") -> tuple[float, float]:
    """(wall, CPU) milliseconds of one run of ``tmms ARGS`` in ``pane`` (CPU: user + system, less moved by the
    machine's load than wall time); it must exit 0."""
    env = {**bench.env(pane, impl=impl), "COLUMNS": "120"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([*impl.argv, *args], input=stdin, env=env, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"{impl.name}: tmms {' '.join(args)}: exit {proc.returncode}: {proc.stderr.decode()}")
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", metavar="REV", required=True, help="the older commit to compare with")
    parser.add_argument("--runs", type=int, default=20, help="runs of each case per round (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, both trees in each (default 3)")
    parser.add_argument("--counts", default="10,1000", help="unread messages in the inbox (default 10,1000)")
    args = parser.parse_args()
    root = new_root()
    where = root / "old"
    impls = [old_tree(args.old, where), this_tree()]
    bench = BenchTmux(root)
    try:
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        boxes = {}
        for count in (int(c) for c in args.counts.split(",")):
            boxes[count] = bench.register(f"box{count}")
            fill(boxes[count], count)
        sender = bench.register("sender")
        bench.register("sink")
        for _ in range(args.rounds):
            for impl in impls:
                for count, box in boxes.items():
                    for label, argv in ((f"inbox, {count} unread", ["inbox"]),
                                        (f"inbox --json, {count} unread", ["inbox", "--json"])):
                        times.setdefault((label, impl.name), []).extend(
                            timed(bench, impl, box.pane_id, argv) for _ in range(args.runs))
                times.setdefault(("post", impl.name), []).extend(
                    timed(bench, impl, sender.pane_id, ["post", "-t", "sink", "-s", "x"], b"hi\n")
                    for _ in range(args.runs))
        labels = list(dict.fromkeys(label for label, _ in times))
        print(f"| case (median wall / CPU) | {' | '.join(i.name for i in impls)} |")
        print(f"| --- | {' | '.join('---' for _ in impls)} |")
        for label in labels:
            cells = []
            for impl in impls:
                runs = times[(label, impl.name)]
                cells.append(f"{median([w for w, _ in runs]):.1f} / {median([c for _, c in runs]):.1f} ms")
            print(f"| {label} | {' | '.join(cells)} |")
    finally:
        bench.tmux("kill-server")
        drop_tree(where)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Wall time of ``tmms hook stop`` (it runs at every turn end of an agent; the goal is a median <= 50 ms).

In a private tmux server, a registered pane with 0 and with 5 unread messages runs ``tmms hook stop``
as a real process (the Stop JSON on stdin, ``TMUX`` and ``TMUX_PANE`` set), interleaved with
``tmms post`` and an empty ``python -c pass`` as references; prints a Markdown table.

    python bench/hook.py                # 30 runs of each case
    python bench/hook.py --runs 60 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from harness import BenchTmux, Box, Impl, median, new_root, percentile, this_tree
from tmms.message import compose

STOP = json.dumps({"session_id": "s1", "transcript_path": "/tmp/t.jsonl", "cwd": "/work", "permission_mode": "default",
                   "hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "Done."}).encode()
START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Case:
    """One command to time: its argv, stdin, pane and what it must print."""

    def __init__(self, name: str, argv: list[str], stdin: bytes, pane: str | None, expect: str = "") -> None:
        self.name, self.argv, self.stdin, self.pane, self.expect = name, argv, stdin, pane, expect


def deliver(box: Box, count: int) -> None:
    """``count`` messages from alpha in ``box``'s inbox."""
    for i in range(count):
        composed = compose(f"body {i}\n", "alpha", box.name, f"Subject {i}", moment=START + timedelta(seconds=i))
        (box.inbox / composed.file_name).write_text(composed.text, encoding="utf-8")


def run_once(bench: BenchTmux, impl: Impl, case: Case, env: dict[str, str]) -> float:
    """Run the case once; its wall time in ms (it must exit 0, print nothing on stderr)."""
    start = time.perf_counter()
    proc = subprocess.run(case.argv, input=case.stdin, capture_output=True, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0 or proc.stderr or case.expect not in proc.stdout.decode():
        raise RuntimeError(f"{case.name}: exit {proc.returncode}, {proc.stderr.decode().strip()!r}, "
                           f"stdout {proc.stdout[:200]!r}")
    return elapsed


def measure(impl: Impl, runs: int) -> dict[str, list[float]]:
    """Every case ``runs`` times, interleaved, on one private tmux server; wall times in ms."""
    root = new_root()
    bench = BenchTmux(root)
    try:
        alpha, beta, busy = bench.register("alpha"), bench.register("beta"), bench.register("busy")
        deliver(busy, 5)
        tmms = impl.argv
        cases = [Case("python -c pass (floor)", [sys.executable, "-c", "pass"], b"", None),
                 Case("tmms hook stop, 0 unread", [*tmms, "hook", "stop"], STOP, beta.pane_id),
                 Case("tmms hook stop, 5 unread", [*tmms, "hook", "stop"], STOP, busy.pane_id),
                 Case("tmms post (reference)", [*tmms, "post", "-t", "beta", "-s", "bench"], b"hello\n",
                      alpha.pane_id, "outbox")]
        envs = [_env(bench, impl, case.pane, root) for case in cases]
        for case, env in zip(cases, envs, strict=True):  # warm the page cache; the first stop tells about the 5
            run_once(bench, impl, case, env)
        times: dict[str, list[float]] = {case.name: [] for case in cases}
        for _ in range(runs):
            for case, env in zip(cases, envs, strict=True):
                times[case.name].append(run_once(bench, impl, case, env))
        return times
    finally:
        bench.close()


def _env(bench: BenchTmux, impl: Impl, pane: str | None, root: Path) -> dict[str, str]:
    """The environment of a hook in ``pane``: its tmux, and HOME and the state folder inside the bench root."""
    env = bench.env(pane, impl=impl)
    env.update(HOME=str(root / "home"), XDG_STATE_HOME=str(root / "state"), XDG_CONFIG_HOME=str(root / "config"))
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="samples of each case per round")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, each on a fresh tmux server")
    args = parser.parse_args()
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{subprocess.run(['tmux', '-V'], capture_output=True, text=True).stdout.strip()}")
    impl = this_tree()
    print("\n| case | " + " | ".join(f"round {r + 1}: median / p95" for r in range(args.rounds)) + " |")
    print("|---|" + "---|" * args.rounds)
    rounds = [measure(impl, args.runs) for _ in range(args.rounds)]
    for name in rounds[0]:
        cells = [f"{median(r[name]):.1f} / {percentile(r[name], 95):.1f} ms" for r in rounds]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

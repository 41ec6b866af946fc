#!/usr/bin/env python3
"""Wall time of ``tmms hook stop`` (it runs at every turn end of an agent; the goal is a median <= 50 ms).

In a private tmux server, a registered pane with 0 and with 5 unread messages runs ``tmms hook stop``
as a real process (the Stop JSON on stdin, ``TMUX`` and ``TMUX_PANE`` set), interleaved with
``tmms post`` and an empty ``python -c pass`` as references; prints a Markdown table.

    python bench/hook.py                # 30 runs of each case
    python bench/hook.py --runs 60 --rounds 3
    python bench/hook.py --old 0d3ffcf  # this tree beside an older commit, in the same run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from harness import BenchTmux, Box, Impl, drop_tree, median, new_root, old_tree, percentile, this_tree
from tmms import hooks
from tmms.message import compose

STOP = json.dumps({"session_id": "s1", "transcript_path": "/tmp/t.jsonl", "cwd": "/work", "permission_mode": "default",
                   "hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "Done."}).encode()
START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FLOOR, FLOOR_S = "python -c pass (floor)", "python -S -c pass (floor without site)"


class Case:
    """One command to time: its argv, stdin, pane, what it must print, and what to do before each run (untimed)."""

    def __init__(self, name: str, argv: list[str], stdin: bytes, pane: str | None, expect: str = "",
                 before: Callable[[], None] | None = None, *, env: dict[str, str]) -> None:
        self.name, self.argv, self.stdin, self.pane, self.expect = name, argv, stdin, pane, expect
        self.before, self.env = before, env


def deliver(box: Box, count: int) -> None:
    """``count`` messages from alpha in ``box``'s inbox."""
    for i in range(count):
        composed = compose(f"body {i}\n", "alpha", box.name, f"Subject {i}", moment=START + timedelta(seconds=i))
        (box.inbox / composed.file_name).write_text(composed.text, encoding="utf-8")


def run_once(bench: BenchTmux, case: Case, env: dict[str, str]) -> float:
    """Run the case once; its wall time in ms (it must exit 0, print nothing on stderr but the post's
    warning that no tmms server runs: the bench runs none, as a turn's end does not need one)."""
    if case.before is not None:
        case.before()
    start = time.perf_counter()
    proc = subprocess.run(case.argv, input=case.stdin, capture_output=True, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    stderr = b"\n".join(line for line in proc.stderr.splitlines() if b"no tmms server runs" not in line)
    if proc.returncode != 0 or stderr.strip() or case.expect not in proc.stdout.decode():
        raise RuntimeError(f"{case.name}: exit {proc.returncode}, {proc.stderr.decode().strip()!r}, "
                           f"stdout {proc.stdout[:200]!r}")
    return elapsed


def measure(impls: list[Impl], runs: int) -> dict[str, list[float]]:
    """Every case ``runs`` times, interleaved, on one private tmux server; wall times in ms.

    "told": the first run told the pane about its 5 messages (the steady state at a turn's end);
    "untold": the told file is removed before each run, so every run reads the mail and blocks.
    Each implementation has panes of its own (their told files differ between versions).
    """
    root = new_root()
    bench = BenchTmux(root)
    try:
        alpha = bench.register("alpha")
        bench.register("beta")
        cases = [Case(FLOOR, [sys.executable, "-c", "pass"], b"", None, env={}),
                 Case(FLOOR_S, [sys.executable, "-S", "-c", "pass"], b"", None, env={})]
        for n, impl in enumerate(impls):
            cases += _cases(bench, impl, n, alpha, root)
        envs = [_env(bench, case, root) for case in cases]
        for case, env in zip(cases, envs, strict=True):  # warm the page cache; the first stop tells about the 5
            run_once(bench, case, env)
        times: dict[str, list[float]] = {case.name: [] for case in cases}
        for _ in range(runs):
            for case, env in zip(cases, envs, strict=True):
                times[case.name].append(run_once(bench, case, env))
        return times
    finally:
        bench.close()
        shutil.rmtree(root, ignore_errors=True)


def _cases(bench: BenchTmux, impl: Impl, n: int, alpha: Box, root: Path) -> list[Case]:
    """The hook and post cases of one implementation, on panes of its own."""
    empty, busy, fresh = (bench.register(f"{name}{n}") for name in ("empty", "busy", "fresh"))
    deliver(busy, 5)
    deliver(fresh, 5)
    told = Path(hooks.told_path(str(root / "state" / "tmms"), bench.socket_path, fresh.pane_id))
    tmms, bare, env = impl.argv, _bare(impl), impl.env
    return [Case(f"{impl.name}: hook stop, 0 unread", [*tmms, "hook", "stop"], STOP, empty.pane_id, env=env),
            Case(f"{impl.name}: hook stop, 5 unread, told", [*tmms, "hook", "stop"], STOP, busy.pane_id, env=env),
            Case(f"{impl.name}: hook stop, 5 unread, untold (it blocks)", [*tmms, "hook", "stop"], STOP,
                 fresh.pane_id, '"decision": "block"', lambda: told.unlink(missing_ok=True), env=env),
            Case(f"{impl.name}: hook stop, 5 unread, told, under python -S", [*bare, "hook", "stop"], STOP,
                 busy.pane_id, env=env),
            Case(f"{impl.name}: post (reference)", [*tmms, "post", "-t", "beta", "-s", "bench"], b"hello\n",
                 alpha.pane_id, "outbox", env=env)]


def _bare(impl: Impl) -> list[str]:
    """``impl`` under ``python -S``: no site hooks (this machine's site imports certifi in every process)."""
    import yaml

    paths = sorted({impl.env.get("PYTHONPATH", ""), str(Path(yaml.__file__).resolve().parent.parent)} - {""})
    return [sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {paths!r}; from tmms.cli import main; "
                                        "sys.exit(main())"]


def _env(bench: BenchTmux, case: Case, root: Path) -> dict[str, str]:
    """The environment of a case: its tmux and pane, and HOME and the state folder inside the bench root."""
    env = bench.env(case.pane, impl=Impl("", [], case.env))
    env.update(HOME=str(root / "home"), XDG_STATE_HOME=str(root / "state"), XDG_CONFIG_HOME=str(root / "config"))
    return env


def _over(times: dict[str, list[float]], name: str) -> str:
    """`` (+N)``: the case's median over its floor's, in the same round ('' for a floor)."""
    if name.startswith("python "):
        return ""
    floor = FLOOR_S if "python -S" in name else FLOOR
    return f" (+{median(times[name]) - median(times[floor]):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="samples of each case per round")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, each on a fresh tmux server")
    parser.add_argument("--old", metavar="REV", help="also an older commit (one that has 'tmms hook'), interleaved")
    args = parser.parse_args()
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{subprocess.run(['tmux', '-V'], capture_output=True, text=True).stdout.strip()}")
    impls = [this_tree()]
    where = new_root() / "old"
    if args.old:
        impls.append(old_tree(args.old, where))
    try:
        rounds = [measure(impls, args.runs) for _ in range(args.rounds)]
    finally:
        if args.old:
            drop_tree(where)
        shutil.rmtree(where.parent, ignore_errors=True)
    print("\n| case | " + " | ".join(f"round {r + 1}: median / p95" for r in range(args.rounds)) + " |")
    print("|---|" + "---|" * args.rounds)
    for name in rounds[0]:
        cells = [f"{median(r[name]):.1f} / {percentile(r[name], 95):.1f} ms{_over(r, name)}" for r in rounds]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n(+N: the median over the floor's median in the same round; python -S cases over the -S floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

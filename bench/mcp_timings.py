#!/usr/bin/env python3
"""``tmms mcp`` timings: start-up to a listed tool set, a ``send`` call against ``tmms post``, and
``send`` -> the other identity's ``wait`` returning (the goal: a median <= 20 ms).

In a private tmux server with a tmms server running, ``tmms mcp`` runs as a real process per identity
(``TMUX`` and ``TMUX_PANE`` set), driven by the MCP SDK's stdio client in the handshake era (as the
agent CLIs speak). Prints a Markdown table of median / p95 per round.

    python bench/mcp_timings.py                 # 30 samples of each case
    python bench/mcp_timings.py --runs 50 --rounds 3
    python bench/mcp_timings.py --transcript    # two agents conversing through it: every call and result
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from harness import BenchTmux, Box, Impl, median, new_root, percentile, this_tree, wait_for

START_RUNS = 10  # start-ups per round (each is a process and a handshake)


@asynccontextmanager
async def session(bench: BenchTmux, impl: Impl, box: Box) -> AsyncIterator[Client]:
    """An SDK client on ``tmms mcp`` running as ``box``'s pane."""
    params = StdioServerParameters(command=impl.argv[0], args=[*impl.argv[1:], "mcp"],
                                   env=bench.env(box.pane_id, impl=impl))
    async with Client(params, mode="legacy") as client:
        yield client


async def case_start(bench: BenchTmux, impl: Impl, box: Box, runs: int) -> list[float]:
    """Spawn to the tool list, in ms."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        async with session(bench, impl, box) as client:
            tools = await client.list_tools()
            times.append((time.perf_counter() - start) * 1000)
        assert len(tools.tools) == 12
    return times


async def case_send(bench: BenchTmux, impl: Impl, alpha: Box, runs: int) -> list[float]:
    """One ``send`` tool call (to beta) in a running session, in ms."""
    times = []
    async with session(bench, impl, alpha) as client:
        for i in range(runs):
            start = time.perf_counter()
            result = await client.call_tool("send", {"to": "beta", "subject": f"s{i}", "body": "hello"})
            times.append((time.perf_counter() - start) * 1000)
            assert not result.is_error, result
    return times


def case_post(bench: BenchTmux, impl: Impl, alpha: Box, runs: int) -> list[float]:
    """``tmms post -t beta`` as a process, in ms."""
    times = []
    env = bench.env(alpha.pane_id, impl=impl)
    for i in range(runs):
        start = time.perf_counter()
        subprocess.run([*impl.argv, "post", "-t", "beta", "-s", f"p{i}"], input=b"hello\n", env=env, check=True,
                       stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def case_send_to_wait(bench: BenchTmux, impl: Impl, alpha: Box, beta: Box, runs: int) -> list[float]:
    """From alpha's ``send`` call to beta's blocked ``wait`` returning the message, in ms."""
    times: list[float] = []
    async with session(bench, impl, alpha) as a, session(bench, impl, beta) as b:
        for i in range(runs):
            got: list[float] = []
            async with anyio.create_task_group() as group:
                group.start_soon(waiter, b, got)
                await anyio.sleep(0.05)  # beta's wait is blocked on its inbox by now
                start = time.perf_counter()
                await a.call_tool("send", {"to": "beta", "subject": f"w{i}", "body": "hello"})
            times.append((got[0] - start) * 1000)
    return times


async def waiter(client: Client, got: list[float]) -> None:
    """Beta's ``wait``; the moment it returned goes into ``got``."""
    result = await client.call_tool("wait", {"from": "alpha", "timeout_s": 20})
    got.append(time.perf_counter())
    assert result.structured_content and not result.structured_content["timed_out"], result


def drain(box: Box) -> None:
    """Move beta's unread mail away (read), so that every wait sample waits for the new message."""
    read = box.inbox / "read"
    read.mkdir(exist_ok=True)
    for name in os.listdir(box.inbox):
        if name.endswith(".md"):
            os.replace(box.inbox / name, read / name)


async def measure(impl: Impl, runs: int) -> dict[str, list[float]]:
    """Every case once, on a fresh tmux server with a tmms server."""
    bench = BenchTmux(new_root())
    try:
        alpha, beta = bench.register("alpha"), bench.register("beta")
        bench.start(impl, bench.config(0.5))
        assert wait_for(lambda: b"serving" in (bench.root / "server-0.log").read_bytes(), 10)
        results = {"tmms mcp start-up to listed tools": await case_start(bench, impl, alpha, START_RUNS)}
        results["send tool call (running session)"] = await case_send(bench, impl, alpha, runs)
        results["tmms post (process)"] = await anyio.to_thread.run_sync(case_post, bench, impl, alpha, runs)
        assert wait_for(lambda: not any(n.endswith(".md") for n in os.listdir(alpha.outbox)), 10)
        drain(beta)
        results["send -> other identity's wait returns"] = await case_send_to_wait(bench, impl, alpha, beta, runs)
        return results
    finally:
        bench.close()
        shutil.rmtree(bench.root, ignore_errors=True)


async def transcript(impl: Impl) -> None:
    """Two agents, alpha and beta, conversing through their ``tmms mcp`` servers: each call and its result."""
    bench = BenchTmux(new_root())
    try:
        alpha, beta = bench.register("alpha"), bench.register("beta")
        bench.start(impl, bench.config(0.5))
        assert wait_for(lambda: b"serving" in (bench.root / "server-0.log").read_bytes(), 10)
        async with session(bench, impl, alpha) as a, session(bench, impl, beta) as b:
            me = await shown(a, "alpha", "whoami", {})
            await shown(a, "alpha", "peers", {})
            sent = await shown(a, "alpha", "send", {"to": "beta", "subject": "Review PR 7",
                                                    "body": "Could you review PR 7? The diff is small."})
            got = await shown(b, "beta", "wait", {"from": "alpha", "timeout_s": 30})
            await shown(b, "beta", "reply", {"id": got["message"]["id"][:8], "body": "Done: one comment on line 12."})
            await shown(a, "alpha", "wait", {"thread": sent["ids"][0][:8], "timeout_s": 30})
            await shown(a, "alpha", "thread", {"id": sent["ids"][0][:8]})
            assert me["name"] == "alpha"
    finally:
        bench.close()
        shutil.rmtree(bench.root, ignore_errors=True)


async def shown(client: Client, who: str, tool: str, arguments: dict[str, object]) -> dict[str, Any]:
    """Call a tool and print the call and its structured result (paths and pane locations left out)."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error and result.structured_content is not None, result
    print(f"{who} -> {tool} {json.dumps(arguments, ensure_ascii=False)}")
    print(f"{who} <- {json.dumps(_without_paths(result.structured_content), ensure_ascii=False)}\n")
    found: dict[str, Any] = result.structured_content
    return found


def _without_paths(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_paths(v) for k, v in value.items() if k not in ("path", "inbox", "outbox", "location")}
    if isinstance(value, list):
        return [_without_paths(v) for v in value]
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="samples of each case per round (start-up: 10)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, each on a fresh tmux server")
    parser.add_argument("--transcript", action="store_true", help="print two agents conversing instead")
    args = parser.parse_args()
    if args.transcript:
        anyio.run(transcript, this_tree())
        return 0
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{subprocess.run(['tmux', '-V'], capture_output=True, text=True).stdout.strip()}")
    impl = this_tree()
    rounds = [anyio.run(measure, impl, args.runs) for _ in range(args.rounds)]
    print("\n| case | " + " | ".join(f"round {r + 1}: median / p95" for r in range(args.rounds)) + " |")
    print("|---|" + "---|" * args.rounds)
    for name in rounds[0]:
        cells = [f"{median(r[name]):.1f} / {percentile(r[name], 95):.1f} ms" for r in rounds]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Wake benchmark (issue #9): tmms's doorbell beside TMMS 0.1.1's notify command, on the same agent doubles.

Each set-up gets its own private tmux server, its own server process and the same doubles
(tests/doubles/agent_double.py). "tmms": the double's pane registered with ``@tmms_agent KIND`` and
no notify command. "TMMS 0.1.1": ``@tmms_notify_cmd`` = ``tmux -S SOCKET send-keys -t PANE "check
your inbox" Enter``, polling every second (its default is 60 s). Messages are written into a sender's
outbox by the benchmark (compose, then a rename), so both servers get the same files. A message is
moved out of the inbox as soon as its trial has seen what it waits for, as if the agent had read it
at once (TMMS 0.1.1 types again at every poll while a file stays in the inbox).

    python bench/wake.py                    # every case, 200 trials, both set-ups (about 15 minutes)
    python bench/wake.py --quick            # 20 trials, a smoke run
    python bench/wake.py --cases latency,hook --no-reference
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
for _path in (BENCH, BENCH.parent / "src", BENCH.parent / "tests"):
    sys.path.insert(0, str(_path))

from agentkit import COMPOSER, PLACEHOLDER, Double, launch_double  # noqa: E402
from harness import BenchTmux, Impl, cpu_seconds, install_reference, median, new_root, percentile, this_tree  # noqa: E402
from tmms.message import compose  # noqa: E402

Event = dict[str, Any]
NOTIFY = 'tmux -S {socket} send-keys -t {pane} "check your inbox" Enter'
REF_POLLING = 1.0
DRAFT = "Please fix the bug in auth"
BUSY_SECONDS = 1.5
CASES = ("latency", "swallow", "draft", "busy", "hook")


class Tail:
    """The JSON lines appended to a file so far, read incrementally (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.items = path, 0, list[Event]()
        self.lock = threading.Lock()

    def read(self) -> list[Event]:
        with self.lock:
            try:
                with open(self.path, "rb") as handle:
                    handle.seek(self.offset)
                    data = handle.read()
            except FileNotFoundError:
                return list(self.items)
            end = data.rfind(b"\n") + 1
            self.offset += end
            self.items.extend(json.loads(line) for line in data[:end].split(b"\n") if line)
            return list(self.items)


@dataclass
class Agent:
    """A double registered as a mailbox: its log, its inbox, its name."""

    double: Double
    name: str
    inbox: Path
    log: Tail

    def since(self, mark: int, name: str | None = None) -> list[Event]:
        return [e for e in self.log.read()[mark:] if name is None or e["event"] == name]

    def composer(self) -> str:
        """The text in the bottom-most composer line of the screen ("" when it shows the placeholder)."""
        marker = COMPOSER[self.double.kind].strip()
        lines = [line.strip() for line in self.double.screen().splitlines() if line.strip().startswith(marker)]
        text = lines[-1][len(marker):].strip() if lines else ""
        return "" if text.startswith(PLACEHOLDER[self.double.kind]) else text

    def busy(self) -> bool:
        turns = [e["event"] for e in self.log.read() if e["event"] in ("busy", "idle")]
        return bool(turns) and turns[-1] == "busy"


class Rig:
    """One set-up: a private tmux server, a sender mailbox, agent doubles, the server process."""

    def __init__(self, impl: Impl, ours: bool) -> None:
        self.impl, self.ours = impl, ours
        self.root = new_root()
        self.bench = BenchTmux(self.root)
        self.sender = self.bench.register("alpha", notify="" if ours else "true")
        (self.root / "tmp").mkdir()
        self.env = self.bench.env(impl=impl)
        self.env.update(HOME=str(self.root / "home"), XDG_STATE_HOME=str(self.root / "state"),
                        XDG_CONFIG_HOME=str(self.root / "config"))
        self.journal = Tail(self.root / "state" / "tmms" / "journal.jsonl")
        self.agents = 0

    def agent(self, kind: str, *flags: str) -> Agent:
        self.agents += 1
        name = f"agent{self.agents}"
        double = launch_double(["tmux", "-L", self.bench.socket], kind, *flags, log_dir=self.root / "doubles",
                               name=name, env=self.bench.env())
        inbox, outbox = self.root / name / "inbox", self.root / name / "outbox"
        inbox.mkdir(parents=True)
        outbox.mkdir(parents=True)
        notify = "" if self.ours else NOTIFY.format(socket=shlex.quote(self.bench.socket_path), pane=double.pane_id)
        options = {"@tmms_enabled": "true", "@tmms_name": name, "@tmms_inbox": str(inbox),
                   "@tmms_outbox": str(outbox), "@tmms_notify_cmd": notify}
        if self.ours:
            options["@tmms_agent"] = kind
        for key, value in options.items():
            self.bench.tmux("set-option", "-p", "-t", double.pane_id, key, value)
        return Agent(double, name, inbox, Tail(double.log_path))

    def start(self) -> None:
        """The set-up's server, once it serves (TMMS 0.1.1: once its first poll is done)."""
        config = self.root / "config.yml"
        polling = 60 if self.ours else REF_POLLING
        config.write_text(f"polling_interval: {polling}\ndead_letter_dir: {self.root / 'dead'}\n")
        log_path = self.root / "server.log"
        self.proc = subprocess.Popen([*self.impl.argv, "server", "-c", str(config)], env=self.env,
                                     stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
        mark = b"serving" if self.ours else b"TMMS server starting"
        if not wait(lambda: mark in log_path.read_bytes() or self.proc.poll() is not None, 20):
            raise RuntimeError(f"{self.impl.name} server did not start: {log_path.read_text()[-500:]}")
        time.sleep(0.5 if self.ours else 2 * REF_POLLING)

    def post(self, agent: Agent, subject: str) -> tuple[float, str]:
        """A message from alpha to ``agent`` renamed into alpha's outbox: (when, its id)."""
        composed = compose("bench\n", "alpha", agent.name, subject)
        staged = self.root / "tmp" / composed.file_name
        staged.write_text(composed.text, encoding="utf-8")
        at = time.time()
        os.rename(staged, self.sender.outbox / composed.file_name)
        return at, composed.message_id

    def stop_hook(self, agent: Agent) -> None:
        """``tmms hook Stop`` in the agent's pane: it records the pane as idle."""
        env = dict(self.env, TMUX_PANE=agent.double.pane_id)
        proc = subprocess.run([*self.impl.argv, "hook", "Stop"], input=b'{"stop_hook_active": false}', env=env,
                              capture_output=True)
        if proc.returncode != 0 or proc.stderr:
            raise RuntimeError(f"tmms hook Stop: {proc.returncode} {proc.stderr.decode()!r}")

    def take(self, agent: Agent) -> None:
        """Move the agent's mail out of its inbox, as if it had read it."""
        for path in agent.inbox.glob("*.md"):
            path.unlink(missing_ok=True)

    def journaled(self, message_id: str, events: set[str], timeout: float) -> str:
        """The first of ``events`` the tmms journal records for ``message_id`` ("" on timeout)."""
        found = ""

        def seen() -> bool:
            nonlocal found
            found = next((r["event"] for r in self.journal.read()
                          if r.get("id") == message_id and r.get("event") in events), "")
            return bool(found)

        wait(seen, timeout)
        return found

    def close(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.bench.close()
        shutil.rmtree(self.root, ignore_errors=True)


def wait(predicate: Callable[[], object], timeout: float, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def first(agent: Agent, mark: int, name: str, timeout: float) -> Event | None:
    """The first event ``name`` logged after ``mark``, waiting up to ``timeout`` seconds."""
    found: list[Event] = []

    def seen() -> bool:
        found[:] = agent.since(mark, name)[:1]
        return bool(found)

    wait(seen, timeout)
    return found[0] if found else None


def settle_reference(rig: Rig, agent: Agent, mark: int, quiet: float = 1.0, cap: float = 8.0) -> None:
    """TMMS 0.1.1: once its keys arrived, the mail is taken; then until a prompt or ``quiet`` s without a key."""
    if first(agent, mark, "input", cap) is not None:
        rig.take(agent)
    start = time.monotonic()

    def done() -> bool:
        events = agent.since(mark)
        if any(e["event"] == "prompt" for e in events):
            return True
        last = max((e["at"] for e in events if e["event"] == "input"), default=0.0)
        return time.time() - last > quiet or time.monotonic() - start > cap

    wait(done, cap + quiet)


def lanes(count: int, trials: int, run: Callable[[int, list[int]], None]) -> None:
    """``trials`` split over ``count`` threads; ``run(lane, trial numbers)`` in each."""
    numbers = [list(range(trials))[lane::count] for lane in range(count)]
    threads = [threading.Thread(target=run, args=(lane, numbers[lane])) for lane in range(count) if numbers[lane]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ---- case 1: post -> verified submission on an idle double

def case_latency(rig: Rig, trials: int, hooks: bool = False) -> dict[str, Any]:
    """With ``hooks``, ``tmms hook Stop`` runs in the pane before each post (untimed), as at a turn's end."""
    agent = rig.agent("claude", "--busy", "0.1")
    rig.start()
    seconds: list[float] = []
    for i in range(trials):
        if hooks:
            rig.stop_hook(agent)
        mark = len(agent.log.read())
        at, message_id = rig.post(agent, f"latency {i}")
        prompt = first(agent, mark, "prompt", 10)
        rig.take(agent)
        if prompt is not None:
            seconds.append(prompt["at"] - at)
        if rig.ours:
            rig.journaled(message_id, {"submitted", "failed"}, 5)
        wait(lambda: not agent.busy(), 5)
        time.sleep(0.2 + random.random() * 0.2)
    return {"seconds": seconds, "missed": trials - len(seconds)}


# ---- case 2: the Enter-swallowing doubles

@dataclass
class Tally:
    """Counts over a case's trials (filled by several lanes)."""

    trials: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    values: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self.lock:
            for key, value in counts.items():
                self.counts[key] = self.counts.get(key, 0) + value

    def value(self, key: str, value: float) -> None:
        with self.lock:
            self.values.setdefault(key, []).append(value)

    def out(self) -> dict[str, Any]:
        return {"trials": self.trials, **self.counts, **self.values}


def reset(agent: Agent) -> bool:
    """Clear stranded text with C-u, as a person would; True when it was needed."""
    if not agent.composer():
        return False
    agent.double.keys("C-u")
    wait(lambda: not agent.composer(), 5, 0.05)
    return True


def case_swallow(rig: Rig, trials: int, kind: str, flags: tuple[str, ...], subject: str, width: int) -> dict[str, Any]:
    agents = [rig.agent(kind, *flags) for _ in range(width)]
    rig.start()
    tally = Tally(trials)

    def run(lane: int, numbers: list[int]) -> None:
        agent = agents[lane]
        for i in numbers:
            mark = len(agent.log.read())
            _at, message_id = rig.post(agent, f"{subject} {i}")
            if rig.ours:
                outcome = rig.journaled(message_id, {"submitted", "failed"}, 15)
                tally.add(**{f"journal {outcome or 'none'}": 1})
                time.sleep(0.3)
            else:
                settle_reference(rig, agent, mark)
            rig.take(agent)
            time.sleep(0.3)  # a late second submission shows in this trial
            prompts = len(agent.since(mark, "prompt"))
            tally.add(lost=prompts == 0, doubled=prompts > 1, resets=reset(agent),
                      swallowed=len(agent.since(mark, "swallowed-enter")) + len(agent.since(mark, "picker-enter")),
                      escapes=len(agent.since(mark, "escape")))

    lanes(width, trials, run)
    return tally.out()


# ---- case 3: a person's draft

def case_draft(rig: Rig, trials: int, width: int) -> dict[str, Any]:
    agents = [rig.agent("claude", "--draft", DRAFT, "--busy", "0") for _ in range(width)]
    rig.start()
    tally = Tally(trials)

    def run(lane: int, numbers: list[int]) -> None:
        agent = agents[lane]
        for i in numbers:
            mark = len(agent.log.read())
            _at, message_id = rig.post(agent, f"draft {i}")
            if rig.ours:
                outcome = rig.journaled(message_id, {"doorbell-queued", "typed"}, 10)
                tally.add(**{f"journal {outcome or 'none'}": 1})
                time.sleep(0.3)
            else:
                settle_reference(rig, agent, mark, quiet=0.5)
            rig.take(agent)
            keys = [e for e in agent.since(mark, "input") if e["composer_before"].startswith(DRAFT)]
            destroyed = bool(agent.since(mark, "prompt")) or agent.composer() != DRAFT
            tally.add(keystrokes=len(keys), characters=sum(len(e["data"]) for e in keys), trials_hit=bool(keys),
                      draft_submitted=bool(agent.since(mark, "prompt")), restored=destroyed)
            if destroyed:  # the person types the draft again
                agent.double.keys("C-u")
                agent.double.type(DRAFT)
                wait(lambda: agent.composer() == DRAFT, 5, 0.05)

    lanes(width, trials, run)
    tally.value("server_cpu_pct", waiting_cpu(rig, agents[0]))
    return tally.out()


def waiting_cpu(rig: Rig, agent: Agent, seconds: float = 10.0) -> float:
    """The server's CPU (% of one core, its tmux children included) while one message waits on the draft."""
    rig.post(agent, "left waiting")
    time.sleep(1.0)
    cpu0, t0 = cpu_seconds(rig.proc.pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(rig.proc.pid) - cpu0) / (time.monotonic() - t0)


# ---- case 4: a busy double that turns idle

def case_busy(rig: Rig, trials: int, width: int) -> dict[str, Any]:
    agents = [rig.agent("claude", "--busy", str(BUSY_SECONDS)) for _ in range(width)]
    rig.start()
    tally = Tally(trials)

    def run(lane: int, numbers: list[int]) -> None:
        agent = agents[lane]
        for i in numbers:
            mark = len(agent.log.read())
            agent.double.make_busy()
            if first(agent, mark, "busy", 5) is None:
                raise RuntimeError("the double did not turn busy")
            _at, message_id = rig.post(agent, f"busy {i}")
            if not rig.ours and first(agent, mark, "input", 8) is not None:
                rig.take(agent)  # the agent reads it when told (else TMMS 0.1.1 types again at every poll)
            idle = first(agent, mark, "idle", 30)
            if rig.ours:
                rig.journaled(message_id, {"submitted", "failed"}, 10)
            else:
                settle_reference(rig, agent, mark)
            rig.take(agent)
            wait(lambda: not agent.busy(), 10)
            time.sleep(0.1)
            events = agent.since(mark)
            prompts = [e for e in events if e["event"] == "prompt"]
            after = [p for p in prompts if idle is not None and p["at"] >= idle["at"]]
            if after and idle is not None:
                tally.value("delay", after[0]["at"] - idle["at"])
            tally.add(typed_while_busy=sum(1 for e in events if e["event"] == "input" and e["state"] == "busy"),
                      trials_typed_while_busy=any(e["event"] == "input" and e["state"] == "busy" for e in events),
                      lost=not prompts, doubled=len(prompts) > 1, resets=reset(agent),
                      interrupted=sum(1 for e in events if e["event"] in ("interrupted", "cancelled", "rewind")))

    lanes(width, trials, run)
    return tally.out()


# ---- case 5 and the driver

def case_hook(runs: int) -> dict[str, Any]:
    """``tmms hook stop`` wall times (ms) in a registered pane with 0 and with 5 unread (told) messages.

    bench/hook.py's cases, repeated here without its ``tmms post`` reference row; an empty
    ``python -c pass`` for scale. Interleaved, after one untimed run of each.
    """
    import hook

    impl = this_tree()
    bench = BenchTmux(new_root())
    try:
        empty, told = bench.register("empty"), bench.register("told")
        hook.deliver(told, 5)
        env = bench.env(impl=impl)
        env.update(HOME=str(bench.root / "home"), XDG_STATE_HOME=str(bench.root / "state"),
                   XDG_CONFIG_HOME=str(bench.root / "config"))
        cases = {"python -c pass (floor)": ([sys.executable, "-c", "pass"], env),
                 "tmms hook stop, 0 unread": ([*impl.argv, "hook", "stop"], dict(env, TMUX_PANE=empty.pane_id)),
                 "tmms hook stop, 5 unread, told": ([*impl.argv, "hook", "stop"], dict(env, TMUX_PANE=told.pane_id))}
        times: dict[str, list[float]] = {name: [] for name in cases}
        for run in range(runs + 1):
            for name, (argv, case_env) in cases.items():
                start = time.perf_counter()
                proc = subprocess.run(argv, input=hook.STOP, capture_output=True, env=case_env)
                elapsed = (time.perf_counter() - start) * 1000
                if proc.returncode != 0 or proc.stderr:
                    raise RuntimeError(f"{name}: exit {proc.returncode}, {proc.stderr.decode().strip()!r}")
                if run:
                    times[name].append(elapsed)
        return times
    finally:
        bench.close()
        shutil.rmtree(bench.root, ignore_errors=True)


def on_rig(impl: Impl, ours: bool, case: Callable[[Rig], dict[str, Any]]) -> dict[str, Any]:
    rig = Rig(impl, ours)
    try:
        return case(rig)
    finally:
        rig.close()


SWALLOW = {"codex --paste-burst": ("codex", ("--paste-burst", "--busy", "0"), "trial"),
           "codex --paste-burst, typed (no bracketed paste)": ("codex", ("--paste-burst", "--no-bracketed-paste",
                                                                         "--busy", "0"), "trial"),
           "claude --picker (typed, subject with @)": ("claude", ("--picker", "--no-bracketed-paste", "--busy", "0"),
                                                       "ping @reviewers")}


def run_cases(setups: list[tuple[str, Impl, bool]], cases: set[str], trials: int, latency_trials: int,
              width: int, save: Callable[[dict[str, dict[str, Any]]], None]) -> dict[str, dict[str, Any]]:
    """Every case on every set-up, a fresh rig for each; results by case, then set-up (saved after each)."""
    results: dict[str, dict[str, Any]] = {}
    jobs: list[tuple[str, Callable[[Rig], dict[str, Any]]]] = []
    if "latency" in cases:
        jobs.append(("latency", partial(case_latency, trials=latency_trials)))
        jobs.append(("latency, hooks", partial(case_latency, trials=latency_trials, hooks=True)))
    if "swallow" in cases:
        for label, (kind, flags, subject) in SWALLOW.items():
            jobs.append((f"swallow: {label}", partial(case_swallow, trials=trials, kind=kind, flags=flags,
                                                      subject=subject, width=width)))
    if "draft" in cases:
        jobs.append(("draft", lambda rig: case_draft(rig, trials, width)))
    if "busy" in cases:
        jobs.append(("busy", lambda rig: case_busy(rig, trials, width)))
    for name, job in jobs:
        for label, impl, ours in setups:
            if name.endswith("hooks") and not ours:  # TMMS 0.1.1 has no hooks
                continue
            started = time.monotonic()
            results.setdefault(name, {})[label] = result = on_rig(impl, ours, job)
            print(f"# {name}, {label} ({time.monotonic() - started:.0f} s): {summary(result)}", flush=True)
            save(results)
    return results


def summary(result: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, list)) or "-"


def ms(values: list[float], pct: float) -> str:
    return "n/a" if not values else f"{percentile(values, pct) * 1000:.0f} ms"


def ratio(a: list[float], b: list[float], pct: float) -> str:
    return "—" if not a or not b else f"{percentile(a, pct) / percentile(b, pct):.2f}×"


Results = dict[str, dict[str, Any]]
Row = tuple[str, str, str, str, str]


def _latency_rows(results: Results, ours: str, ref: str) -> list[Row]:
    rows: list[Row] = []
    for case, note in (("latency", "screen only"), ("latency, hooks", "Stop hook's idle state")):
        if case not in results:
            continue
        a, b = results[case].get(ours, {}).get("seconds", []), results["latency"].get(ref, {}).get("seconds", [])
        for pct, goal in ((50, "≤ 0.5 s"), (95, "≤ 1.5 s")):
            mine = ms(a, pct) if ours in results[case] else "—"
            theirs = ms(b, pct) if ref in results["latency"] else "—"
            rows.append((f"post → prompt, idle claude double, tmms {note}, p{pct} ({len(a)} trials)", mine, theirs,
                         ratio(a, b, pct), goal))
    return rows


def _counts(r: dict[str, Any]) -> str:
    return (f"{r.get('lost', 0)} lost, {r.get('doubled', 0)} doubled / {r['trials']}; {r.get('resets', 0)} C-u "
            f"resets, {r.get('swallowed', 0)} Enters swallowed, {r.get('escapes', 0)} Escapes")


def _drafts(r: dict[str, Any]) -> str:
    return (f"{r.get('keystrokes', 0)} inputs ({r.get('characters', 0)} chars) into the draft in "
            f"{r.get('trials_hit', 0)} / {r['trials']} trials; draft submitted {r.get('draft_submitted', 0)}×"
            + "".join(f"; server CPU {v:.1f} % while a message waits" for v in r.get("server_cpu_pct", [])))


def _busy(r: dict[str, Any]) -> str:
    delay = r.get("delay", [])
    late = (f"after idle p50 {ms(delay, 50)} / p95 {ms(delay, 95)} / max {ms(delay, 100)} "
            f"({len(delay)} rung after idle)" if delay else "none rung after idle")
    return (f"{r.get('typed_while_busy', 0)} inputs while busy (in {r.get('trials_typed_while_busy', 0)} "
            f"/ {r['trials']} trials); {late}; {r.get('lost', 0)} lost, {r.get('doubled', 0)} doubled, "
            f"{r.get('interrupted', 0)} interrupted")


def _hook_rows(times: dict[str, list[float]]) -> list[Row]:
    rows: list[Row] = [(f"`{name}` wall time, median / p95 of {len(values)}",
                        f"{median(values):.1f} / {percentile(values, 95):.1f} ms", "— (no hooks)", "—",
                        "median ≤ 50 ms") for name, values in times.items() if "hook stop" in name]
    rows += [(f"  for scale: `{name}`", f"{median(values):.1f} ms", "—", "—", "—")
             for name, values in times.items() if "floor" in name]
    return rows


def table(results: Results, labels: list[str]) -> list[str]:
    """The Markdown rows: case, one column per set-up, ratio, goal."""
    ours, ref = labels[0], labels[1] if len(labels) > 1 else ""

    def row(case: str, name: str, render: Callable[[dict[str, Any]], str], goal: str) -> Row:
        cells = [render(results[case][label]) if label in results[case] else "—" for label in (ours, ref)]
        return (name, cells[0], cells[1], "—", goal)

    rows = _latency_rows(results, ours, ref)
    rows += [row(case, case, _counts, "0 lost, 0 doubled") for case in results if case.startswith("swallow")]
    if "draft" in results:
        rows.append(row("draft", "claude double with a draft", _drafts, "0 keystrokes into the draft"))
    if "busy" in results:
        rows.append(row("busy", f"claude double busy {BUSY_SECONDS:g} s, mail posted while busy", _busy,
                        "within 1 s of idle, 0 typed while busy"))
    if "hook" in results:
        rows += _hook_rows(results["hook"][ours])
    head = f"| case | {ours} | {ref or 'TMMS 0.1.1'} | ratio | goal |"
    return [head, "|---|---|---|---|---|", *("| " + " | ".join(r) + " |" for r in rows)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200, help="trials of the swallow, draft and busy cases")
    parser.add_argument("--latency-trials", type=int, default=40, help="trials of the latency case")
    parser.add_argument("--quick", action="store_true", help="20 trials (10 for latency)")
    parser.add_argument("--lanes", type=int, default=4, help="doubles run side by side in the 200-trial cases")
    parser.add_argument("--hook-runs", type=int, default=30, help="runs of each tmms hook stop case")
    parser.add_argument("--cases", default=",".join(CASES), help=f"a comma list of: {', '.join(CASES)}")
    parser.add_argument("--no-reference", action="store_true", help="tmms only")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    trials, latency_trials = (20, 10) if args.quick else (args.trials, args.latency_trials)
    ours = this_tree()
    setups = [("tmms", ours, True)]
    ref = None if args.no_reference else install_reference(Path.home() / ".cache" / "tmms-bench" / "reference")
    if ref is not None:
        setups.append(("TMMS 0.1.1", ref, False))
    tmux = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {tmux}, "
          f"reference: {'yes' if ref else 'no (npm unavailable or --no-reference)'}", flush=True)
    started = time.monotonic()

    def save(results: dict[str, dict[str, Any]]) -> None:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))

    results = run_cases(setups, cases, trials, latency_trials, args.lanes, save)
    if "hook" in cases:
        results["hook"] = {"tmms": case_hook(args.hook_runs)}
        save(results)
    print(f"\n# {time.monotonic() - started:.0f} s in all\n")
    print("\n".join(table(results, [label for label, _impl, _ours in setups])))
    return 0


if __name__ == "__main__":
    sys.exit(main())

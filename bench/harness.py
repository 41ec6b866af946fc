"""Pieces the benchmark shares: a private tmux server, the two implementations, timing helpers."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REFERENCE_PACKAGE = "@szk302/tmms@0.1.1"


@dataclass
class Impl:
    """One implementation: how to run its CLI (and what its environment adds)."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def ours() -> Impl:
    from tmms.keys import tmms_command

    return Impl("tmms (py)", tmms_command())


REPO = Path(__file__).resolve().parent.parent


def compile_tree(src: Path) -> None:
    """Bytecode for a tree, as an installed package has it (this machine may set PYTHONDONTWRITEBYTECODE)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src / "tmms")], check=True,
                   stdout=subprocess.DEVNULL)


def this_tree() -> Impl:
    """tmms from this checkout's ``src``, compiled, named as such (beside an older tree)."""
    compile_tree(REPO / "src")
    return Impl("tmms (this tree)", ours().argv, {"PYTHONPATH": str(REPO / "src")})


def old_tree(rev: str, where: Path) -> Impl:
    """tmms at commit ``rev``: a detached ``git worktree`` in ``where``, compiled, run through PYTHONPATH."""
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(where), rev], check=True)
    compile_tree(where / "src")
    return Impl(f"tmms {rev}", ours().argv, {"PYTHONPATH": str(where / "src")})


def drop_tree(where: Path) -> None:
    """Remove a worktree ``old_tree`` made."""
    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(where)], capture_output=True)


def install_reference(cache: Path) -> Impl | None:
    """npm-install TMMS 0.1.1 into ``cache`` (once); None when npm or the registry is unavailable."""
    binary = cache / "node_modules" / ".bin" / "tmms"
    if binary.exists():
        return Impl("TMMS 0.1.1", [str(binary)])
    if shutil.which("npm") is None:
        return None
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(cache),
                           REFERENCE_PACKAGE], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not binary.exists():
        print(f"bench: could not install {REFERENCE_PACKAGE}: {proc.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return Impl("TMMS 0.1.1", [str(binary)])


@dataclass
class Box:
    """A registered pane."""

    pane_id: str
    name: str
    inbox: Path
    outbox: Path


@dataclass
class BenchTmux:
    """A tmux server on a private socket for one benchmark case."""

    root: Path
    socket: str = field(default_factory=lambda: f"tmms-bench-{uuid.uuid4().hex[:8]}")
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "bench", "-x", "200", "-y", "50")
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()
        self.server_pid = self.tmux("display-message", "-p", "#{pid}").strip()

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=True).stdout

    def env(self, pane: str | None = None, path: str | None = None, impl: Impl | None = None) -> dict[str, str]:
        env = dict(os.environ)
        if impl is not None:
            env.update(impl.env)
        env["TMUX"] = f"{self.socket_path},{self.server_pid},0"
        env.pop("TMUX_PANE", None)
        if pane:
            env["TMUX_PANE"] = pane
        if path:
            env["PATH"] = path
        return env

    def register(self, name: str, notify: str = "true") -> Box:
        pane = self.tmux("new-window", "-d", "-P", "-F", "#{pane_id}").strip()
        inbox, outbox = self.root / name / "inbox", self.root / name / "outbox"
        inbox.mkdir(parents=True)
        outbox.mkdir(parents=True)
        for key, value in (("@tmms_enabled", "true"), ("@tmms_name", name), ("@tmms_inbox", str(inbox)),
                           ("@tmms_outbox", str(outbox)), ("@tmms_notify_cmd", notify)):
            self.tmux("set-option", "-p", "-t", pane, key, value)
        return Box(pane, name, inbox, outbox)

    def config(self, polling: float, name: str = "config.yml") -> Path:
        path = self.root / name
        path.write_text(f"polling_interval: {polling}\ndead_letter_dir: {self.root / 'dead'}\n")
        return path

    def start(self, impl: Impl, config: Path, path: str | None = None) -> subprocess.Popen[bytes]:
        log = open(self.root / f"server-{len(self.procs)}.log", "wb")
        proc = subprocess.Popen([*impl.argv, "server", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                env=self.env(path=path, impl=impl))
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        if self.socket_path.endswith(self.socket):  # tmux 3.3 leaves a killed server's socket file
            Path(self.socket_path).unlink(missing_ok=True)


def new_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="tmms-bench-"))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def cpu_seconds(pid: int) -> float:
    """utime+stime of a process and its waited-for children, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for(predicate, timeout: float, interval: float = 0.001) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def count_md(folder: Path) -> int:
    try:
        return sum(1 for n in os.listdir(folder) if n.endswith(".md") and not n.startswith("."))
    except FileNotFoundError:
        return 0


def tmux_shim(root: Path) -> tuple[str, Path]:
    """A PATH whose ``tmux`` logs each invocation, then runs the real one."""
    real = shutil.which("tmux")
    shim_dir = root / "shim"
    shim_dir.mkdir(exist_ok=True)
    log = root / "tmux-calls.log"
    script = shim_dir / "tmux"
    script.write_text(f'#!/bin/sh\necho x >> "{log}"\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    return f"{shim_dir}:{os.environ.get('PATH', '')}", log

"""Which agent CLI runs in a pane: its process tree read from /proc, matched against each kind's ``processes``.

The tree is walked breadth-first from the pane's process (``#{pane_pid}``), depth- and count-limited,
so the match nearest to the pane wins. A process matches a name by the basename of its argv[0] or its
kernel name (``comm``); for interpreters and wrappers (node, bun, deno, npx, python, sh, ...) also by
its script's basename (``.js``/``.py`` and such dropped), ``python -m NAME``, or a package in the
script's path: ``@scope/name`` anywhere, an unscoped name right below ``node_modules``/``site-packages``.
Linux only: without /proc nothing is detected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .agents import Agent

MAX_DEPTH = 6
"""How many generations below the pane's process are looked at."""
MAX_PROCESSES = 256
"""At most this many processes are looked at."""
MAX_CMDLINE = 8192
WRAPPERS = re.compile(r"(?:node(?:js)?|bun|bunx|deno|npx|pnpx|python[\d.]*|pypy[\d.]*|sh|bash|dash|zsh|env)")
"""Programs whose script argument names what really runs."""
_SUBCOMMANDS = frozenset({"run", "x", "exec", "dlx"})
_VALUE_OPTIONS = frozenset({"-r", "--require", "--import", "--loader", "--experimental-loader", "-C",
                            "--conditions", "--input-type", "--title", "-W", "-X", "-p", "--package"})
_NO_SCRIPT = frozenset({"-c", "-e", "--eval", "--print"})
_SCRIPT_SUFFIX = re.compile(r"\.(?:[cm]?js|[cm]?ts|py|sh)$")
_PACKAGE_DIRS = ("node_modules", "site-packages", "dist-packages")


class Process(NamedTuple):
    """One process: its pid, argv (possibly empty) and kernel name."""

    pid: int
    argv: tuple[str, ...]
    comm: str


class Detected(NamedTuple):
    """The agent kind found in a pane: the kind, the process and the name that matched it."""

    kind: str
    pid: int
    name: str


def detect(pane_pid: int, agents: Mapping[str, Agent], proc: str = "/proc") -> Detected | None:
    """The kind of the process nearest to the pane (the pane's own first) that matches one; None if none."""
    for pid in process_tree(pane_pid, proc):
        process = read_process(pid, proc)
        if process is None:
            continue
        found = match(process, agents)
        if found is not None:
            return found
    return None


def match(process: Process, agents: Mapping[str, Agent]) -> Detected | None:
    """The first kind (in ``agents``' order) one of whose process names this process answers to."""
    names, paths = identities(process)
    for kind, agent in agents.items():
        for wanted in agent.processes:
            if wanted in names or any(_in_path(wanted, path) for path in paths):
                return Detected(kind, process.pid, wanted)
    return None


def identities(process: Process) -> tuple[set[str], list[str]]:
    """The names a process answers to, and the script paths in which a package may be named."""
    names = {process.comm} if process.comm else set()
    paths: list[str] = []
    if process.argv:
        first = os.path.basename(process.argv[0]).lstrip("-")  # "-bash": a login shell
        names.add(first)
        if WRAPPERS.fullmatch(first):
            script = script_of(process.argv)
            if script:
                names.add(_SCRIPT_SUFFIX.sub("", os.path.basename(script.rstrip("/"))))
                names.add(_package(script))
                paths.append(script)
    names.discard("")
    return names, paths


def script_of(argv: tuple[str, ...]) -> str:
    """What an interpreter or wrapper runs: its script, ``-m`` module or package argument ('' if none)."""
    args = iter(argv[1:])
    for arg in args:
        if arg == "--":
            return next(args, "")
        if arg in _NO_SCRIPT:
            return ""
        if arg == "-m":
            return next(args, "").split(".")[0]
        if arg.startswith("-m") and not arg.startswith("--"):
            return arg[2:].split(".")[0]
        if arg in _VALUE_OPTIONS:
            next(args, None)
        elif not arg.startswith("-") and arg not in _SUBCOMMANDS and "=" not in arg:
            return arg
    return ""


def _package(spec: str) -> str:
    """An npx/deno package argument without its registry prefix and version: ``npm:@a/b@1`` -> ``@a/b``."""
    for prefix in ("npm:", "jsr:"):
        spec = spec.removeprefix(prefix)
    at = spec.find("@", 1)
    return spec[:at] if at > 0 else spec


def _in_path(wanted: str, path: str) -> bool:
    """Whether a script path names the package ``wanted``: ``@scope/name`` as two path components
    anywhere; an unscoped name right below a package folder (so a user called ``claude`` never matches)."""
    padded = "/" + path.strip("/") + "/"
    if wanted.startswith("@") and "/" in wanted:
        return f"/{wanted}/" in padded
    return any(f"/{folder}/{wanted}/" in padded for folder in _PACKAGE_DIRS)


def process_tree(root: int, proc: str = "/proc") -> Iterator[int]:
    """``root`` and its descendants, breadth-first (nearest first), within MAX_DEPTH and MAX_PROCESSES."""
    level = [root]
    seen = {root}
    children_of = _Children(proc)
    for depth in range(MAX_DEPTH + 1):
        following: list[int] = []
        for pid in level:
            if len(seen) > MAX_PROCESSES:
                return
            yield pid
            if depth < MAX_DEPTH:
                for child in children_of(pid):
                    if child not in seen:
                        seen.add(child)
                        following.append(child)
        if not following:
            return
        level = following


class _Children:
    """Children of a pid: the kernel's lists, or (without CONFIG_PROC_CHILDREN) a parent map built once."""

    def __init__(self, proc: str) -> None:
        self.proc = proc
        self.by_parent: dict[int, list[int]] | None = None

    def __call__(self, pid: int) -> list[int]:
        if self.by_parent is None:
            listed = _task_children(pid, self.proc)
            if listed is not None:
                return listed
            self.by_parent = _parent_map(self.proc)
        return self.by_parent.get(pid, [])


def _task_children(pid: int, proc: str) -> list[int] | None:
    """The kernel's children lists of every thread of ``pid``; None when the kernel keeps none."""
    try:
        tasks = os.listdir(f"{proc}/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        try:
            with open(f"{proc}/{pid}/task/{task}/children", "rb") as handle:
                found.extend(int(p) for p in handle.read(65536).split())
        except FileNotFoundError:
            if not os.path.isdir(f"{proc}/{pid}/task/{task}"):
                continue  # the thread ended
            return None
        except (OSError, ValueError):
            continue
    return found


def _parent_map(proc: str) -> dict[int, list[int]]:
    """Every process's children, from the ppid field of each /proc/PID/stat."""
    by_parent: dict[int, list[int]] = {}
    for pid, ppid in _parents(proc):
        by_parent.setdefault(ppid, []).append(pid)
    for children in by_parent.values():
        children.sort()
    return by_parent


def _parents(proc: str) -> Iterable[tuple[int, int]]:
    try:
        entries = os.listdir(proc)
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/stat", "rb") as handle:
                stat = handle.read(4096)
        except OSError:
            continue
        fields = stat.rpartition(b")")[2].split()  # the name in parentheses may hold anything
        if len(fields) > 1 and fields[1].isdigit():
            yield int(entry), int(fields[1])


def read_process(pid: int, proc: str = "/proc") -> Process | None:
    """A process's argv and kernel name; None when it is gone or cannot be read."""
    try:
        with open(f"{proc}/{pid}/cmdline", "rb") as handle:
            raw = handle.read(MAX_CMDLINE)
        with open(f"{proc}/{pid}/comm", "rb") as handle:
            comm = handle.read(64).decode("utf-8", "replace").strip()
    except OSError:
        return None
    argv = tuple(a.decode("utf-8", "replace") for a in raw.split(b"\0") if a)
    return Process(pid, argv, comm)

"""Agent CLI doubles in tmux panes, for the doorbell tests and the bench: start one, drive it, read its log.

The core (``launch_double``) takes the tmux argv prefix (``["tmux", "-L", name]``) and needs no pytest;
``start_double`` is the same for the ``tmux_server`` fixture of tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from polling import wait_until as poll

DOUBLE = Path(__file__).resolve().parent / "doubles" / "agent_double.py"
KINDS = ("claude", "codex", "gemini")

# What each double draws, for tests that look at the screen.
COMPOSER = {"claude": "❯\u00a0", "codex": "› ", "gemini": "> "}
PLACEHOLDER = {"claude": 'Try "refactor the parser"', "codex": "Ask Codex to do anything",
               "gemini": "Type your message or @path/to/file"}
BUSY = {"claude": "(esc to interrupt ·", "codex": "• esc to interrupt)", "gemini": "(esc to cancel,"}
FINISHED = {"claude": "✻ Cooked for ", "codex": "─ Worked for ", "gemini": ""}


class HasTmux(Protocol):
    """What ``start_double`` needs of tests/conftest.py's ``TmuxServer``."""

    socket: str
    root: Path

    def env(self, pane_id: str | None = None) -> dict[str, str]: ...


@dataclass
class Double:
    """One double running in a tmux pane, with its JSON-lines log."""

    tmux_argv: list[str]
    kind: str
    pane_id: str
    log_path: Path
    env: dict[str, str] | None = None

    def tmux(self, *args: str, input: str | None = None) -> str:
        """Run a tmux command on the double's server; its stdout."""
        proc = subprocess.run([*self.tmux_argv, *args], input=input, capture_output=True, text=True, env=self.env)
        if proc.returncode != 0:
            raise RuntimeError(f"tmux {args}: {proc.stderr}")
        return proc.stdout

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The log's events so far, or only those named ``kind``."""
        try:
            data = self.log_path.read_bytes()
        except FileNotFoundError:
            return []
        complete = data[:data.rfind(b"\n") + 1]  # a line being written is left for the next look
        found = [json.loads(line) for line in complete.split(b"\n") if line]
        return [event for event in found if kind is None or event["event"] == kind]

    def prompts(self) -> list[str]:
        """The text of every prompt the double received, in order."""
        return [event["text"] for event in self.events("prompt")]

    def screen(self, escapes: bool = False) -> str:
        """The visible screen (``capture-pane -p``; with ``escapes``, ``-e`` too)."""
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", self.pane_id)

    def composer(self) -> str | None:
        """The text after the marker on the screen's bottom-most composer line (None when none shows).

        An empty composer gives its placeholder text (``capture-pane`` without ``-e`` shows no dimness)."""
        marker = COMPOSER[self.kind]
        lines = [line for line in self.screen().splitlines() if line.startswith(marker)]
        return lines[-1][len(marker):] if lines else None

    def wait_event(self, name: str, timeout: float = 10.0, count: int = 1) -> dict[str, Any]:
        """The ``count``-th event named ``name``, once the log has it."""
        def found() -> dict[str, Any] | None:
            events = self.events(name)
            return events[count - 1] if len(events) >= count else None

        return poll(found, timeout) or {}

    def wait_screen(self, text: str, timeout: float = 10.0, escapes: bool = False) -> str:
        """The screen, once it shows ``text``."""
        def shown() -> str:
            screen = self.screen(escapes)
            return screen if text in screen else ""

        return poll(shown, timeout)

    @property
    def pid(self) -> int:
        """The double's process id (from its ``start`` event)."""
        return int(self.wait_event("start")["pid"])

    def signal(self, sig: int) -> None:
        """Send the double a signal: SIGUSR1 makes it busy, SIGUSR2 turns its permission menu on or off."""
        os.kill(self.pid, sig)

    def make_busy(self) -> None:
        """Busy for ``--busy`` seconds, as if a person had submitted a prompt."""
        self.signal(signal.SIGUSR1)

    def toggle_menu(self) -> None:
        """Show the permission menu (or hide it again)."""
        self.signal(signal.SIGUSR2)

    def type(self, text: str) -> None:
        """``send-keys -l``: the text as typed characters (a trailing ``;`` escaped for tmux)."""
        self.tmux("send-keys", "-t", self.pane_id, "-l", text[:-1] + "\\;" if text.endswith(";") else text)

    def keys(self, *names: str) -> None:
        """``send-keys`` with key names (``Enter``, ``Escape``, ``C-u``) in one tmux call."""
        self.tmux("send-keys", "-t", self.pane_id, *names)

    def paste(self, text: str) -> None:
        """``load-buffer`` then ``paste-buffer -p -d``: a bracketed paste, as the double asked for one."""
        buffer = f"agentkit-{uuid.uuid4().hex[:8]}"
        self.tmux("load-buffer", "-b", buffer, "-", input=text)
        self.tmux("paste-buffer", "-p", "-d", "-b", buffer, "-t", self.pane_id)

    def close(self) -> None:
        """Kill the double's pane."""
        self.tmux("kill-pane", "-t", self.pane_id)


def double_argv(kind: str, log_path: Path, *flags: str) -> list[str]:
    """The command line of a double (``python -I -S``: no site, so it starts in a few milliseconds)."""
    return [sys.executable, "-I", "-S", str(DOUBLE), "--kind", kind, "--log", str(log_path), *flags]


def launch_double(tmux_argv: Sequence[str], kind: str, *flags: str, log_dir: Path, name: str | None = None,
                  split: str | None = None, env: Mapping[str, str] | None = None,
                  timeout: float = 10.0) -> Double:
    """A double in a new window (or a split of pane ``split``), once it is ready (with ``--startup``: started)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name or kind}-{uuid.uuid4().hex[:8]}.jsonl"
    where = ["split-window", "-t", split] if split else ["new-window", "-n", name or kind]
    double = Double(list(tmux_argv), kind, "", log_path, dict(env) if env is not None else None)
    double.pane_id = double.tmux(*where, "-d", "-P", "-F", "#{pane_id}", *double_argv(kind, log_path, *flags)).strip()
    double.wait_event("start", timeout)
    if not any(flag.startswith("--startup") for flag in flags):
        double.wait_event("ready", timeout)
    return double


def start_double(server: HasTmux, kind: str, *flags: str, name: str | None = None,
                 split: str | None = None) -> Double:
    """A double in the ``tmux_server`` fixture's server, its log in the test's folder."""
    return launch_double(["tmux", "-L", server.socket], kind, *flags, log_dir=server.root / "doubles",
                         name=name, split=split, env=server.env())

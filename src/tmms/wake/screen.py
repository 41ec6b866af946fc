"""What an agent's pane shows, from one capture: busy, a menu, an empty composer, a draft, or unknown.

Pure logic over ``capture-pane -p -e`` text (the visible screen with its SGR attributes). The
agent kind's patterns (``agents.yml``) say what a busy marker, a menu and the composer look like.
Busy wins over everything: Codex keeps its composer on screen while it works. Only the bottom-most
composer line is live; past prompts echoed above it look the same. Text drawn dim (SGR 2) after the
composer's marker is a placeholder or a suggestion, and counts as empty, as do the kind's
placeholder patterns.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ..agents import Agent

_SGR = re.compile(r"\x1b\[([0-9;:]*)m")
_OTHER_ESCAPES = re.compile(r"\x1b\[[0-9;:?<>=!]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


class State(StrEnum):
    """What the pane's agent is doing, as far as the screen (and its hooks) tell."""

    IDLE = "idle"  # the composer is visible and empty: the only state the doorbell types in
    DRAFT = "draft"  # the composer holds text: a person's draft, never touched
    BUSY = "busy"  # a busy marker shows: a turn is running
    MENU = "menu"  # a menu, permission prompt or dialog shows
    MODE = "mode"  # the pane is in copy mode or another tmux mode
    UNKNOWN = "unknown"  # no composer on screen (starting up, another program, a kind without one)


class Screen(NamedTuple):
    """One capture, classified: the state, the composer's text ('' when empty), and why."""

    state: State
    composer: str
    reason: str


class Line(NamedTuple):
    """One screen line: all its text, and its text without the dim runs."""

    plain: str
    bright: str


def lines_of(captured: str) -> list[Line]:
    """The lines of a ``capture-pane -e`` text, each as plain text and as text without dim runs."""
    return [_line(raw) for raw in captured.split("\n")]


def _line(raw: str) -> Line:
    raw = _OTHER_ESCAPES.sub(lambda m: m.group() if _SGR.fullmatch(m.group()) else "", raw)
    plain: list[str] = []
    bright: list[str] = []
    dim = False
    position = 0
    for match in _SGR.finditer(raw):
        text = raw[position:match.start()]
        plain.append(text)
        if not dim:
            bright.append(text)
        dim = _dim_after(dim, match.group(1))
        position = match.end()
    text = raw[position:]
    plain.append(text)
    if not dim:
        bright.append(text)
    return Line(_normal("".join(plain)), _normal("".join(bright)))


def _dim_after(dim: bool, params: str) -> bool:
    """Whether text is dim after an SGR with ``params`` (2 sets it; 0, 22 and an empty SGR clear it)."""
    for code in (params or "0").replace(":", ";").split(";"):
        if code in ("", "0", "22"):
            dim = False
        elif code == "2":
            dim = True
    return dim


def _normal(text: str) -> str:
    """NBSP as a space (Claude Code puts one after its prompt), and no trailing blanks."""
    return text.replace("\u00a0", " ").rstrip()


def classify(agent: Agent, captured: str) -> Screen:
    """The state the capture shows for an agent of kind ``agent`` (and the composer's text, in any state)."""
    lines = lines_of(captured)
    while lines and not lines[-1].plain:
        lines.pop()
    lines = lines[-agent.lines:] if agent.lines > 0 else lines
    plain = [line.plain for line in lines]
    composer = _composer(agent, lines)
    for pattern in agent.busy:
        for text in plain:
            if pattern.search(text):
                return Screen(State.BUSY, composer or "", f"busy marker {text.strip()[:60]!r}")
    for pattern in agent.menu:
        for text in plain:
            if pattern.search(text):
                return Screen(State.MENU, composer or "", f"a menu or prompt shows: {text.strip()[:60]!r}")
    if agent.composer is None:
        return Screen(State.UNKNOWN, "", f"no composer pattern is known for {agent.kind}")
    if composer is None:
        return Screen(State.UNKNOWN, "", "no composer on screen")
    if composer:
        return Screen(State.DRAFT, composer, f"the composer holds text: {composer[:40]!r}")
    return Screen(State.IDLE, "", "the composer is empty")


def _composer(agent: Agent, lines: list[Line]) -> str | None:
    """The text of the bottom-most composer line ('' when empty); None when no composer shows."""
    if agent.composer is None:
        return None
    for line in reversed(lines):
        match = agent.composer.search(line.plain)
        if match is not None:
            return _typed(agent, line, match)
    return None


def _typed(agent: Agent, line: Line, match: re.Match[str]) -> str:
    """What is typed in the composer line ``line`` ('' when it is empty, dim or a placeholder)."""
    text = _group_text(match).strip()
    if not text:
        return ""
    bright = agent.composer.search(line.bright) if agent.composer is not None else None
    if bright is None or not _group_text(bright).strip():
        return ""  # all of it is dim: a placeholder or suggestion
    text = _group_text(bright).strip()
    if any(p.search(text) for p in agent.placeholder):
        return ""
    return text


def _group_text(match: re.Match[str]) -> str:
    """The ``text`` group of a composer match ('' when the pattern has none or it did not take part)."""
    if "text" in match.re.groupindex:
        return match.group("text") or ""
    return match.string[match.end():]


def holds(screen: Screen, text: str) -> bool:
    """Whether the composer of ``screen`` still holds (the start of) ``text``: a stranded submission."""
    composer = " ".join(screen.composer.split())
    return " ".join(text.split())[:16] in composer or "[Pasted" in composer

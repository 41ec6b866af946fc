"""Turn-boundary hooks of agent CLIs (Claude Code, Codex, Gemini CLI): what to answer for which event.

The library part of ``tmms hook``: it takes the hook's input and the unread mail as data and returns
the JSON object the agent expects, or None for "say nothing". It never prints and never runs tmux.
Claude Code and Codex share one dialect; Gemini CLI names its events BeforeAgent and AfterAgent and
rejects a response with ``decision: "deny"``. The ids a pane was told about are remembered in a
small private file, so a Stop hook never blocks twice for the same mail.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from .errors import UsageError

MAX_LISTED = 10
"""At most this many messages are listed one by one; the rest are counted."""
MAX_SUBJECT = 80
"""Subjects (and sender names) are clipped to this many characters."""
MAX_TOLD = 500
"""The told-about file keeps at most this many ids (the newest)."""
READ_COMMAND = "tmms inbox"

CONTEXT_EVENTS = {"userpromptsubmit": "UserPromptSubmit", "sessionstart": "SessionStart",
                  "beforeagent": "BeforeAgent"}
"""Events answered with ``hookSpecificOutput.additionalContext``, by their lower-case name."""
STOP_EVENTS = {"stop": "Stop", "afteragent": "AfterAgent"}
"""Events at a turn's end, answered with a block (Claude, Codex) or a deny (Gemini)."""


class Mail(NamedTuple):
    """One unread message, as a hook states it: its id, short id, sender and subject (raw)."""

    message_id: str
    short_id: str
    sender: str
    subject: str


def event_of(given: str | None, payload: Mapping[str, Any]) -> str:
    """The event's agent-spelt name, from ``given`` (any case) or the payload's ``hook_event_name``."""
    raw = given or payload.get("hook_event_name")
    if not isinstance(raw, str) or not raw:
        raise UsageError("no hook event: give EVENT or a hook_event_name in the JSON")
    key = raw.replace("_", "").replace("-", "").lower()
    name = CONTEXT_EVENTS.get(key) or STOP_EVENTS.get(key)
    if name is None:
        raise UsageError(f"unknown hook event {raw!r}")
    return name


def _clip(text: str, limit: int = MAX_SUBJECT) -> str:
    """``text`` with control characters shown visibly, clipped to ``limit`` characters."""
    from .terminal import visible

    shown = visible(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def facts(mail: Sequence[Mail]) -> str:
    """The unread mail stated as facts: count, senders, then id, sender and subject of each, and the command."""
    count = len(mail)
    senders = sorted({_clip(m.sender or "?") for m in mail})
    lines = [f"[tmms] {count} unread message{'s' if count != 1 else ''} in your tmux mailbox, "
             f"from {', '.join(senders[:MAX_LISTED])}{' and others' if len(senders) > MAX_LISTED else ''}."]
    for m in mail[:MAX_LISTED]:
        subject = f'"{_clip(m.subject)}"' if m.subject else "(no subject)"
        lines.append(f"- {_clip(m.short_id, 16)} from {_clip(m.sender or '?')}: {subject}")
    if count > MAX_LISTED:
        lines.append(f"- and {count - MAX_LISTED} more")
    lines.append(f"To read them: {READ_COMMAND} (list), tmms read ID (one message).")
    return "\n".join(lines)


def answer(event: str, payload: Mapping[str, Any], mail: Sequence[Mail],
           told: Iterable[str]) -> tuple[dict[str, Any] | None, list[str]]:
    """The JSON to print for ``event`` (None: print nothing) and the ids the pane has now been told about."""
    ids = [m.message_id or m.short_id for m in mail]
    known = set(told)
    if not mail:
        return None, []
    if event in CONTEXT_EVENTS.values():
        output = {"hookSpecificOutput": {"hookEventName": event, "additionalContext": facts(mail)}}
        return output, ids
    if payload.get("stop_hook_active") is True or all(i in known for i in ids):
        return None, [i for i in ids if i in known]
    decision = "deny" if event == "AfterAgent" else "block"
    return {"decision": decision, "reason": facts(mail)}, ids


def told_path(state_dir: str, socket_path: str, pane_id: str) -> str:
    """The file of the ids the pane ``pane_id`` of the tmux server at ``socket_path`` was told about."""
    key = hashlib.sha256(f"{socket_path}\0{pane_id}".encode()).hexdigest()[:16]
    return os.path.join(state_dir, "hooks", f"told-{key}.json")


def load_told(path: str) -> list[str]:
    """The ids in the told-about file; none when it is missing or not a list of strings."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(1 << 20))
    except (OSError, ValueError):
        return []
    return [x for x in data if isinstance(x, str)] if isinstance(data, list) else []


def save_told(path: str, ids: Sequence[str]) -> None:
    """Write the told-about ids (the newest ``MAX_TOLD``) to ``path``: a 0600 file in a 0700 folder."""
    from .store import replace_whole

    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    data = json.dumps(list(ids)[-MAX_TOLD:]).encode()
    replace_whole(path, data, f"{path}.{os.getpid()}.tmp", durable=False)

"""Turn-boundary hooks of agent CLIs (Claude Code, Codex, Gemini CLI): what to answer for which event.

The library part of ``tmms hook``: it takes the hook's input and the unread mail as data and returns
the JSON object the agent expects, or None for "say nothing". It never prints and never runs tmux.
Claude Code and Codex share one dialect; Gemini CLI names its events BeforeAgent and AfterAgent and
rejects a response with ``decision: "deny"``. The ids a pane was told about are remembered in a
small private file, so a Stop hook never blocks twice for the same mail. The hooks also record the
pane's state (busy, idle, or menu: waiting on a person) in another small file, which the doorbell
trusts over the screen.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import UsageError
from .names import SUFFIX

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
NOTICE_EVENTS = {"notification": "Notification"}
"""Events that only change the recorded state; the hook prints nothing for them."""

BUSY, IDLE, MENU = "busy", "idle", "menu"
STATES = (BUSY, IDLE, MENU)
"""The recorded states of an agent pane: in a turn, waiting for a prompt, waiting on a person (a menu)."""
NOTICE_STATES = {"idleprompt": IDLE, "permissionprompt": MENU, "toolpermission": MENU}
"""Notification types (Claude Code's idle_prompt and permission_prompt, Gemini CLI's ToolPermission),
lower case without ``_``, and the state each one means."""


class Mail:
    """One unread message, as a hook states it: its id, short id, sender and subject (raw).

    A plain class: making a NamedTuple class costs every turn's end about 0.5 ms.
    """

    __slots__ = ("message_id", "sender", "short_id", "subject")

    def __init__(self, message_id: str, short_id: str, sender: str, subject: str) -> None:
        self.message_id, self.short_id, self.sender, self.subject = message_id, short_id, sender, subject

    def __repr__(self) -> str:
        return f"Mail({self.message_id!r}, {self.short_id!r}, {self.sender!r}, {self.subject!r})"


def event_of(given: str | None, payload: Mapping[str, Any]) -> str:
    """The event's agent-spelt name, from ``given`` (any case) or the payload's ``hook_event_name``."""
    raw = given or payload.get("hook_event_name")
    if not isinstance(raw, str) or not raw:
        raise UsageError("no hook event: give EVENT or a hook_event_name in the JSON")
    key = raw.replace("_", "").replace("-", "").lower()
    name = CONTEXT_EVENTS.get(key) or STOP_EVENTS.get(key) or NOTICE_EVENTS.get(key)
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
    if event in NOTICE_EVENTS.values():
        return None, list(told)
    if not mail:
        return None, []
    if event in CONTEXT_EVENTS.values():
        output = {"hookSpecificOutput": {"hookEventName": event, "additionalContext": facts(mail)}}
        return output, ids
    if payload.get("stop_hook_active") is True or all(i in known for i in ids):
        return None, [i for i in ids if i in known]
    decision = "deny" if event == "AfterAgent" else "block"
    return {"decision": decision, "reason": facts(mail)}, ids


def state_after(event: str, payload: Mapping[str, Any], output: Mapping[str, Any] | None) -> str | None:
    """The pane's state once the hook for ``event`` answered ``output``; None: the event changes nothing.

    A prompt makes it busy; a session start idle (but not a compaction, which may come mid-turn); a
    turn's end idle, unless this very hook blocked it (the agent goes on: busy); a notification idle
    or menu by its type.
    """
    if event in ("UserPromptSubmit", "BeforeAgent"):
        return BUSY
    if event == "SessionStart":
        return None if payload.get("source") == "compact" else IDLE
    if event in STOP_EVENTS.values():
        return BUSY if output is not None and output.get("decision") in ("block", "deny") else IDLE
    kind = payload.get("notification_type")
    return NOTICE_STATES.get(kind.replace("_", "").lower()) if isinstance(kind, str) else None


def _key(socket_path: str, pane_id: str) -> str:
    """The pane's key in file names: a hash of the tmux server's socket and the pane id."""
    data = f"{socket_path}\0{pane_id}".encode()
    for name in ("_sha256", "_sha2"):  # the builtin sha256 alone (3.11; 3.12 on): hashlib loads OpenSSL, 2 ms
        try:
            digest: str = __import__(name).sha256(data).hexdigest()
        except (ImportError, AttributeError):
            continue
        return digest[:16]
    import hashlib

    return hashlib.sha256(data).hexdigest()[:16]


def told_path(state_dir: str, socket_path: str, pane_id: str) -> str:
    """The file of the ids the pane ``pane_id`` of the tmux server at ``socket_path`` was told about."""
    return os.path.join(state_dir, "hooks", f"told-{_key(socket_path, pane_id)}.json")


def state_path(state_dir: str, socket_path: str, pane_id: str) -> str:
    """The file of the recorded state of the pane ``pane_id`` of the tmux server at ``socket_path``."""
    return os.path.join(state_dir, "hooks", f"state-{_key(socket_path, pane_id)}.json")


def record_state(path: str, state: str, event: str, now: float) -> None:
    """Write ``{"state", "event", "at"}`` to ``path`` in one rename: a 0600 file in a 0700 folder."""
    if state not in STATES:
        raise ValueError(f"unknown pane state {state!r}")
    data = json.dumps({"state": state, "event": event, "at": now}).encode()
    _write_private(path, data)


def read_state(path: str) -> tuple[str, float] | None:
    """The recorded (state, time); None when the file is missing or malformed."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(4096))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    state, at = data.get("state"), data.get("at")
    if state not in STATES or not isinstance(at, (int, float)) or isinstance(at, bool) or at != at:
        return None
    return state, float(at)


def unread_names(inbox: str) -> list[str]:
    """The names of the unread files in ``inbox`` (``*.md``, not dot-files), sorted; none when it is missing."""
    try:
        with os.scandir(inbox) as entries:
            return sorted(e.name for e in entries if e.name.endswith(SUFFIX) and not e.name.startswith("."))
    except OSError:
        return []


def nothing_new(names: Iterable[str], seen: Iterable[str]) -> bool:
    """Whether every unread file is one the pane was told about when it was last looked at (by name)."""
    return set(names) <= set(seen)


def load_told(path: str) -> list[str]:
    """The ids in the told-about file; none when it is missing or malformed."""
    return load_record(path)[0]


def load_record(path: str) -> tuple[list[str], list[str]]:
    """The told-about file: (the ids told, the unread file names when the hook last told about all of them).

    The file is a JSON list of ids, or ``{"told": [ids], "seen": [names]}``; malformed parts are empty.
    """
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(1 << 20))
    except (OSError, ValueError):
        return [], []
    told, seen = (data.get("told"), data.get("seen")) if isinstance(data, dict) else (data, [])
    return _strings(told), _strings(seen)


def _strings(value: object) -> list[str]:
    return [x for x in value if isinstance(x, str)] if isinstance(value, list) else []


def save_told(path: str, ids: Sequence[str], seen: Sequence[str] = ()) -> None:
    """Write the told-about ids (the newest ``MAX_TOLD``), and the unread names ``seen``, to ``path``.

    A 0600 file in a 0700 folder; a plain list of ids when nothing was seen (more than ``MAX_TOLD`` names
    are not kept: the next hook reads the mail).
    """
    told = list(ids)[-MAX_TOLD:]
    data: object = {"told": told, "seen": list(seen)} if seen and len(seen) <= MAX_TOLD else told
    _write_private(path, json.dumps(data).encode())


def _write_private(path: str, data: bytes) -> None:
    """``data`` at ``path`` in one rename, the folder made 0700 when missing (not durable: a hint, not mail)."""
    from .store import replace_whole

    temp = f"{path}.{os.getpid()}.tmp"
    try:
        replace_whole(path, data, temp, durable=False)
    except FileNotFoundError:  # the first write: the folder is made then
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        replace_whole(path, data, temp, durable=False)

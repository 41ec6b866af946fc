"""The hook command: tell an agent CLI (Claude Code, Codex, Gemini CLI) about its unread mail at a turn boundary."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from .common import ExitCode, Spec, arg, tmux_of, warn

PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("hook", "cmd_hook", "answer an agent CLI's turn-boundary hook with the unread mail",
         "Read the hook JSON an agent CLI gives on stdin and print the JSON it expects: on "
         "UserPromptSubmit, SessionStart and BeforeAgent the unread mail as added context; on Stop "
         "(Claude Code, Codex) a block, on AfterAgent (Gemini CLI) a deny, when mail came that the "
         "agent was not yet told about (never while stop_hook_active, never twice for the same mail). "
         "It also records the pane's state for the doorbell: busy after a prompt, idle after a "
         "session start or a turn's end (busy when it blocked the end), and on a Notification "
         "(for which it prints nothing) idle for idle_prompt, menu for permission_prompt. "
         "EVENT defaults to the JSON's hook_event_name. Outside a registered pane, or with no new "
         "mail, it prints nothing. It always exits 0: an error is one line on stderr. "
         "'tmms hooks install' writes it into an agent's settings.",
         """\
  tmms hook                          # in a settings file: the event comes from the JSON
  echo '{"hook_event_name":"Stop","stop_hook_active":false}' | tmms hook
  tmms hook stop < input.json
""", (arg("event", nargs="*", metavar="EVENT",
          help="UserPromptSubmit, SessionStart, Stop, BeforeAgent, AfterAgent or Notification (any case); words after "
               "the first are ignored with a warning, so a mistyped settings line never fails a turn"),)),
)}

if TYPE_CHECKING:
    from ..api import Here

MAX_INPUT = 1 << 20
"""The hook JSON read from stdin is at most this long (a transcript never comes inline)."""


def cmd_hook(args: argparse.Namespace) -> int:
    try:
        output = _answer(args)
    except Exception as exc:
        warn(f"hook: {exc}")
        return ExitCode.OK
    if output is not None:
        sys.stdout.write(json.dumps(output, ensure_ascii=True) + "\n")
    return ExitCode.OK


def _payload() -> dict[str, Any]:
    """The hook JSON on stdin: one object."""
    text = sys.stdin.read(MAX_INPUT)
    payload = json.loads(text) if text.strip() else {}
    if not isinstance(payload, dict):
        raise ValueError("the hook input is not a JSON object")
    return payload


def _answer(args: argparse.Namespace) -> dict[str, Any] | None:
    """What to print (None: nothing), after remembering what the pane was told and recording its state."""
    from .. import api, hooks
    from ..errors import NotInsideTmux, PaneNotFound, PaneNotRegistered

    try:
        payload = _payload()
    except ValueError as exc:
        raise ValueError(f"bad hook JSON on stdin: {exc}") from None
    words: list[str] = args.event
    if len(words) > 1:
        warn(f"hook: ignoring the extra arguments {' '.join(words[1:])!r}")
    event = hooks.event_of(words[0] if words else None, payload)
    tmux = tmux_of(args)
    try:
        at = api.here(tmux)
    except (NotInsideTmux, PaneNotFound, PaneNotRegistered):
        return None  # not an agent's mailbox pane: nothing to say, no state to keep
    output = None
    if event not in hooks.NOTICE_EVENTS.values():
        try:
            output = _tell(at, event, payload)
        except Exception as exc:  # the state is still recorded
            warn(f"hook: {exc}")
    _record(at, hooks.state_after(event, payload, output), event)
    return output


def _tell(at: Here, event: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The answer about the pane's unread mail; the told-about file updated."""
    from .. import api, hooks

    mail = [hooks.Mail(x.message_id, x.short_id, x.headers.sender, x.headers.subject)
            for x in api.inbox(at) if x.readable and not x.error]
    path = hooks.told_path(_state_dir(at), at.tmux.socket_path, at.pane.pane_id)
    told = hooks.load_told(path)
    output, now_told = hooks.answer(event, payload, mail, told)
    if now_told != told:
        hooks.save_told(path, now_told)
    return output


def _record(at: Here, state: str | None, event: str) -> None:
    """Record the pane's state for the doorbell; a failure is one warning line, never a changed answer."""
    import time

    from .. import hooks

    if state is None:
        return
    try:
        hooks.record_state(hooks.state_path(_state_dir(at), at.tmux.socket_path, at.pane.pane_id),
                           state, event, time.time())
    except Exception as exc:
        warn(f"hook: cannot record the pane's state: {exc}")


def _state_dir(at: Here) -> str:
    from ..paths import state_dir

    return state_dir(at.tmux.env)

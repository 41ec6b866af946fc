"""``tmms hook``: tell an agent CLI (Claude Code, Codex, Gemini CLI) about its unread mail at a turn boundary,
and record the pane's state; ``tmms hooks install|uninstall``: put that command into the agent's settings."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from .common import FORMATTER, ExitCode, Spec, arg, say, tmux_of, warn

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
    from collections.abc import Mapping

    from ..registry import Here

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
    from .. import hooks
    from ..errors import NotInsideTmux, PaneNotFound, PaneNotRegistered
    from ..registry import here  # not tmms.api, which loads the message parser: a Stop hook rarely needs it

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
        at = here(tmux)
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
    """The answer about the pane's unread mail; the told-about file updated.

    The messages are read only when there is something to say: at a turn's end, not while
    stop_hook_active, and not when every unread file is one the pane was told about (by name).
    """
    from .. import hooks

    at_stop = event in hooks.STOP_EVENTS.values()
    if at_stop and payload.get("stop_hook_active") is True:
        return None
    names = hooks.unread_names(at.me.inbox)
    if not names:
        return None
    path = hooks.told_path(_state_dir(at), at.tmux.socket_path, at.pane.pane_id)
    told, seen = hooks.load_record(path)
    if at_stop and hooks.nothing_new(names, seen):
        return None
    from .. import api

    mail = [hooks.Mail(x.message_id, x.short_id, x.headers.sender, x.headers.subject)
            for x in api.inbox(at) if x.readable and not x.error]
    output, now_told = hooks.answer(event, payload, mail, told)
    if (now_told, names) != (told, seen):
        hooks.save_told(path, now_told, names)
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


# -- tmms hooks install|uninstall ---------------------------------------------------------------------

AGENT_NAMES = ("claude", "codex", "gemini")


def _hooks_actions(hooks: argparse.ArgumentParser) -> None:
    """``tmms hooks install`` and ``tmms hooks uninstall``: subcommands of ``hooks``."""
    sub = hooks.add_subparsers(dest="action", metavar="install|uninstall", parser_class=type(hooks))
    sub.required = True
    for action, summary, examples in (
            ("install", "merge the tmms hook entries into an agent's settings file",
             "  tmms hooks install claude\n  tmms hooks install codex --yes     # and [features] codex_hooks = true\n"
             "  tmms hooks install gemini --project . --dry-run\n"),
            ("uninstall", "remove the tmms hook entries (and only those) from an agent's settings file",
             "  tmms hooks uninstall claude\n  tmms hooks uninstall codex --project ~/src/app --dry-run\n")):
        parser = sub.add_parser(action, help=summary, description=summary[0].upper() + summary[1:] + (
            ": every other key and hook is kept, the diff is shown, the file is replaced in one rename and "
            "keeps its mode. Files: claude ~/.claude/settings.json, codex ~/.codex/hooks.json, gemini "
            "~/.gemini/settings.json (--project DIR: DIR/.claude/..., DIR/.codex/..., DIR/.gemini/...). "
            "A file that is not a JSON object is refused (exit 3)."), formatter_class=FORMATTER,
            epilog="examples:\n" + examples)
        parser.add_argument("agent", choices=AGENT_NAMES, help="the agent CLI")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--user", action="store_true", help="the user's settings (the default)")
        scope.add_argument("--project", metavar="DIR", help="the settings of the project in DIR")
        parser.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
        if action == "install":
            parser.add_argument("-y", "--yes", action="store_true",
                                help="codex: also set [features] codex_hooks = true without asking")


PARSERS["hooks"] = Spec(
    "hooks", "cmd_hooks", "install or uninstall tmms's hook entries in an agent CLI's settings",
    "Merge the entries that run 'tmms hook' into the settings of Claude Code (SessionStart, "
    "UserPromptSubmit, Stop, and Notification for idle_prompt and permission_prompt), Codex "
    "(SessionStart, UserPromptSubmit, Stop) or Gemini CLI (SessionStart, BeforeAgent, AfterAgent), "
    "or take them out again. Idempotent: a second install changes nothing. The command written is "
    "this tmms by its absolute path, so the agent needs no tmms on its PATH.",
    """\
  tmms hooks install claude
  tmms hooks install codex --yes
  tmms hooks uninstall gemini --project . --dry-run
""", extend=_hooks_actions)


def cmd_hooks(args: argparse.Namespace) -> int:
    import os

    from .. import hook_settings as hs
    from ..errors import ConfigError

    path = hs.settings_path(args.agent, os.environ, args.project)
    old_text = hs.read_text(path)
    old = hs.parse_json(old_text, path)
    try:
        new = hs.install(old, args.agent, hs.hook_command(sys.executable)) if args.action == "install" \
            else hs.uninstall(old)
    except ConfigError as exc:
        raise ConfigError(f"{exc}; nothing was changed", path) from None
    new_text = hs.dump_json(new) if new != old else None
    config = _codex_config(args, os.environ) if args.action == "install" and args.agent == "codex" else None
    if new_text is not None:
        sys.stdout.write(hs.unified_diff(path, old_text, new_text))
    flag = _codex_flag(args, config) if config is not None else None
    if args.dry_run:
        say("dry run: nothing written")
        return ExitCode.OK
    if new_text is not None:
        hs.write_text(path, new_text)
    if flag is not None:
        hs.write_text(*flag)
        say(f"set [features] codex_hooks = true in {flag[0]}")
    say(_summary(args, path, new_text is not None, hs.count_ours(old if new_text is None else new)))
    return ExitCode.OK


def _summary(args: argparse.Namespace, path: str, changed: bool, ours: int) -> str:
    """The last line: what was done to ``path``."""
    if args.action == "install":
        if not changed:
            return f"{path}: the tmms hooks for {args.agent} are installed already; nothing changed"
        return f"{path}: installed {ours} tmms hook entries for {args.agent} (running sessions: restart them)"
    if not changed:
        return f"{path}: no tmms hook entries; nothing changed"
    return f"{path}: removed the tmms hook entries"


CodexConfig = tuple[str, str | None, bool | None, str | None]
"""Codex's config.toml: its path, its text, whether the flag is on (None: not TOML), the text --yes writes."""


def _codex_config(args: argparse.Namespace, env: Mapping[str, str]) -> CodexConfig:
    """Codex's config and the edit ``--yes`` makes, before anything is printed: a refusal comes first."""
    from .. import hook_settings as hs
    from ..errors import ConfigError

    path = hs.codex_config_path(env)
    text = hs.read_text(path)
    on: bool | None
    try:
        on = hs.codex_flag(text, path)
    except ConfigError as exc:
        if args.yes:
            raise ConfigError(f"{exc}; nothing was changed") from None
        warn(f"warning: {exc}")
        on = None
    return path, text, on, hs.with_codex_flag(text, path) if args.yes and on is False else None


def _codex_flag(args: argparse.Namespace, config: CodexConfig) -> tuple[str, str] | None:
    """Say whether Codex's ``[features] codex_hooks = true`` is set; (path, new text) when it is to be set now."""
    from .. import hook_settings as hs

    path, text, on, edited = config
    if on:
        say(f"{path}: [features] codex_hooks = true is set")
        return None
    say(f"Codex runs hooks only with '[features] codex_hooks = true' in {path}.")
    if edited is None:
        if args.dry_run or on is None or not _ask(f"Add it to {path}? [y/N] "):
            say("Add it by hand, or run this again with --yes.")
            return None
        edited = hs.with_codex_flag(text, path)
    sys.stdout.write(hs.unified_diff(path, text, edited))
    return path, edited


def _ask(question: str) -> bool:
    """A y/N question, on a terminal only (no terminal: no)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")

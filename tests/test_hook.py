"""tmms hook: the turn-boundary hooks of Claude Code, Codex and Gemini CLI, on a real tmux server with real mail."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import Pane, TmuxServer
from tmms.message import compose

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

# The hook inputs, in the shapes of the research notes (B.1 Claude Code, B.2 Codex, B.3 Gemini CLI).
CLAUDE_PROMPT = {"session_id": "s1", "transcript_path": "/tmp/t.jsonl", "cwd": "/work", "permission_mode": "default",
                 "hook_event_name": "UserPromptSubmit", "prompt_id": "p1", "prompt": "go on"}
CLAUDE_START = {"session_id": "s1", "transcript_path": "/tmp/t.jsonl", "cwd": "/work",
                "hook_event_name": "SessionStart", "source": "startup"}
CLAUDE_STOP = {"session_id": "s1", "transcript_path": "/tmp/t.jsonl", "cwd": "/work", "permission_mode": "default",
               "hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "Done."}
CODEX_STOP = {"session_id": "s2", "turn_id": "t1", "transcript_path": None, "cwd": "/work", "hook_event_name": "Stop",
              "model": "gpt-5", "permission_mode": "default", "stop_hook_active": False,
              "last_assistant_message": "Done."}
CODEX_PROMPT = {"session_id": "s2", "turn_id": "t1", "transcript_path": None, "cwd": "/work",
                "hook_event_name": "UserPromptSubmit", "model": "gpt-5", "permission_mode": "default",
                "prompt": "go on"}
GEMINI_BEFORE = {"session_id": "s3", "transcript_path": "/tmp/g.json", "cwd": "/work", "hook_event_name": "BeforeAgent",
                 "timestamp": "2026-11-30T12:00:00Z", "prompt": "go on"}
GEMINI_AFTER = {"session_id": "s3", "transcript_path": "/tmp/g.json", "cwd": "/work", "hook_event_name": "AfterAgent",
                "timestamp": "2026-11-30T12:00:00Z", "prompt": "go on", "prompt_response": "Done.",
                "stop_hook_active": False}


class Agent:
    """A registered pane ("beta") that gets mail from alpha, and runs ``tmms hook`` in-process."""

    def __init__(self, server: TmuxServer) -> None:
        self.server = server
        self.pane: Pane = server.register("beta")
        self.sent = 0

    def deliver(self, subject: str, sender: str = "alpha") -> str:
        """A message in beta's inbox; its short id."""
        composed = compose(f"body of {subject}\n", sender, "beta", subject,
                           moment=START + timedelta(seconds=self.sent))
        self.sent += 1
        (self.pane.inbox / composed.file_name).write_text(composed.text, encoding="utf-8")
        return composed.message_id[:8]

    def hook(self, payload: dict[str, Any] | str | bytes, *event: str,
             pane: str | None = "") -> subprocess.CompletedProcess[str]:
        data = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
        return self.server.main("hook", *event, pane=self.pane.pane_id if pane == "" else pane, input=data)

    def answer(self, payload: dict[str, Any] | str, *event: str) -> Any:
        """The JSON the hook printed (None for nothing); it exits 0 with nothing on stderr."""
        proc = self.hook(payload, *event)
        assert (proc.returncode, proc.stderr) == (0, "")
        return json.loads(proc.stdout) if proc.stdout else None


@pytest.fixture
def agent(tmux_server: TmuxServer) -> Agent:
    return Agent(tmux_server)


def context(event: str, text: str) -> dict[str, Any]:
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}


def two_facts(first: str, second: str) -> str:
    return (f'[tmms] 2 unread messages in your tmux mailbox, from alpha, gamma.\n'
            f'- {first} from alpha: "Review PR 7"\n'
            f'- {second} from gamma: "Lunch"\n'
            "To read them: tmms inbox (list), tmms read ID (one message).")


def test_claude_prompt_submit_states_the_unread_mail_as_facts(agent: Agent) -> None:
    first, second = agent.deliver("Review PR 7"), agent.deliver("Lunch", sender="gamma")
    assert agent.answer(CLAUDE_PROMPT) == context("UserPromptSubmit", two_facts(first, second))


def test_session_start_and_the_event_argument_in_any_case(agent: Agent) -> None:
    first, second = agent.deliver("Review PR 7"), agent.deliver("Lunch", sender="gamma")
    assert agent.answer(CLAUDE_START) == context("SessionStart", two_facts(first, second))
    assert agent.answer({}, "sessionSTART") == context("SessionStart", two_facts(first, second))
    assert agent.answer(CLAUDE_STOP, "user_prompt_submit") == context("UserPromptSubmit", two_facts(first, second))


def test_one_message_in_the_singular(agent: Agent) -> None:
    first = agent.deliver("Review PR 7")
    assert agent.answer(CLAUDE_PROMPT) == context("UserPromptSubmit", (
        "[tmms] 1 unread message in your tmux mailbox, from alpha.\n"
        f'- {first} from alpha: "Review PR 7"\n'
        "To read them: tmms inbox (list), tmms read ID (one message)."))


def test_stop_blocks_once_for_the_same_mail_and_again_for_new_mail(agent: Agent) -> None:
    first = agent.deliver("Review PR 7")
    blocked = agent.answer(CLAUDE_STOP)
    assert blocked["decision"] == "block" and set(blocked) == {"decision", "reason"}
    assert f'- {first} from alpha: "Review PR 7"' in blocked["reason"]
    assert agent.answer(CLAUDE_STOP) is None
    assert agent.answer(CLAUDE_STOP) is None
    second = agent.deliver("Lunch", sender="gamma")
    assert agent.answer(CLAUDE_STOP) == {"decision": "block", "reason": two_facts(first, second)}
    assert agent.answer(CLAUDE_STOP) is None


def test_stop_hook_active_never_blocks(agent: Agent) -> None:
    agent.deliver("Review PR 7")
    assert agent.answer({**CLAUDE_STOP, "stop_hook_active": True}) is None
    assert agent.answer(CLAUDE_STOP)["decision"] == "block"  # it was not told while active
    assert agent.answer({**CLAUDE_STOP, "stop_hook_active": True}) is None


def test_a_prompt_that_told_the_agent_means_no_block_at_stop(agent: Agent) -> None:
    agent.deliver("Review PR 7")
    assert agent.answer(CLAUDE_PROMPT) is not None
    assert agent.answer(CLAUDE_STOP) is None
    assert agent.answer(CLAUDE_PROMPT) is not None  # the context is stated at every prompt while unread


def test_mail_read_and_then_no_mail_prints_nothing(agent: Agent) -> None:
    assert agent.answer(CLAUDE_PROMPT) is None
    assert agent.answer(CLAUDE_STOP) is None
    first = agent.deliver("Review PR 7")
    assert agent.server.main("read", first, pane=agent.pane.pane_id).returncode == 0
    assert agent.answer(CLAUDE_STOP) is None
    assert agent.answer(GEMINI_BEFORE) is None


def test_codex_has_the_claude_dialect(agent: Agent) -> None:
    first = agent.deliver("Review PR 7")
    reason = (f"[tmms] 1 unread message in your tmux mailbox, from alpha.\n- {first} from alpha: \"Review PR 7\"\n"
              "To read them: tmms inbox (list), tmms read ID (one message).")
    assert agent.answer(CODEX_PROMPT) == context("UserPromptSubmit", reason)
    agent.deliver("Lunch", sender="gamma")
    assert agent.answer(CODEX_STOP)["decision"] == "block"
    assert agent.answer(CODEX_STOP) is None


def test_gemini_before_agent_adds_context_and_after_agent_denies_once(agent: Agent) -> None:
    first, second = agent.deliver("Review PR 7"), agent.deliver("Lunch", sender="gamma")
    assert agent.answer(GEMINI_BEFORE) == context("BeforeAgent", two_facts(first, second))
    assert agent.answer(GEMINI_AFTER) is None  # told at BeforeAgent
    third = agent.deliver("Again")
    denied = agent.answer(GEMINI_AFTER)
    assert denied["decision"] == "deny" and f'- {third} from alpha: "Again"' in denied["reason"]
    assert agent.answer(GEMINI_AFTER) is None
    agent.deliver("Fourth")
    assert agent.answer({**GEMINI_AFTER, "stop_hook_active": True}) is None


def test_outside_a_pane_or_in_an_unregistered_pane_prints_nothing(agent: Agent) -> None:
    agent.deliver("Review PR 7")
    other = agent.server.new_pane()
    for pane in (None, other, "%999"):
        proc = agent.hook(CLAUDE_STOP, pane=pane)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


@pytest.mark.parametrize("stdin", ["not json", "[1, 2]", '{"hook_event_name": "Nope"}', '{"cwd": "/"}', b"\xff\xfe{"])
def test_bad_input_exits_0_with_one_line_on_stderr(agent: Agent, stdin: str | bytes) -> None:
    agent.deliver("Review PR 7")
    proc = agent.hook(stdin)
    assert (proc.returncode, proc.stdout) == (0, "")
    assert proc.stderr.startswith("tmms: hook: ") and proc.stderr.count("\n") == 1


def test_extra_event_words_are_ignored_with_one_line_and_the_hook_still_answers(agent: Agent) -> None:
    first = agent.deliver("Review PR 7")
    proc = agent.hook(CLAUDE_STOP, "stop", "now")
    assert proc.returncode == 0
    assert proc.stderr.startswith("tmms: hook: ignoring") and proc.stderr.count("\n") == 1
    assert json.loads(proc.stdout)["decision"] == "block" and first in json.loads(proc.stdout)["reason"]


def test_no_tmux_server_exits_0_with_one_line(agent: Agent) -> None:
    proc = agent.server.main("-L", "tmms-no-such-server", "hook", pane="%1", input=json.dumps(CLAUDE_STOP))
    assert (proc.returncode, proc.stdout) == (0, "")
    assert proc.stderr.startswith("tmms: hook: ") and proc.stderr.count("\n") == 1


def test_hostile_senders_and_subjects_are_shown_visibly_and_clipped(agent: Agent) -> None:
    agent.deliver("\x1b]52;c;cGF5bG9hZA==\x07pwn\x1b[2J" + "x" * 200, sender="mal\x1b[31mlory")
    text = agent.answer(CLAUDE_PROMPT)["hookSpecificOutput"]["additionalContext"]
    assert "\x1b" not in text and "\x07" not in text
    assert "from mal^[[31mlory: \"^[]52;c;cGF5bG9hZA==^Gpwn^[[2Jxxx" in text
    longest = max(text.splitlines(), key=len)
    assert len(longest) < 220 and longest.endswith('..."')


def test_many_messages_are_counted_and_at_most_ten_listed(agent: Agent) -> None:
    for i in range(13):
        agent.deliver(f"note {i}")
    text = agent.answer(CLAUDE_PROMPT)["hookSpecificOutput"]["additionalContext"]
    lines = text.splitlines()
    assert lines[0].startswith("[tmms] 13 unread messages")
    assert sum(line.startswith("- ") and " from alpha: " in line for line in lines) == 10
    assert "- and 3 more" in lines


def test_the_told_file_is_private(agent: Agent) -> None:
    agent.deliver("Review PR 7")
    agent.answer(CLAUDE_STOP)
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state") / "tmms" / "hooks"
    files = list(state.glob("told-*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_as_a_process_stdout_is_the_json_alone(agent: Agent) -> None:
    first = agent.deliver("Review PR 7")
    proc = agent.server.tmms("hook", pane=agent.pane.pane_id, input=json.dumps(CLAUDE_STOP))
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith("{") and proc.stdout.endswith("}\n")
    assert json.loads(proc.stdout)["reason"].splitlines()[1] == f'- {first} from alpha: "Review PR 7"'


# -- the pane's state, recorded for the doorbell -------------------------------------------------------

CLAUDE_IDLE = {"session_id": "s1", "transcript_path": "/tmp/t.jsonl", "cwd": "/work", "hook_event_name": "Notification",
               "message": "Claude is waiting for your input", "notification_type": "idle_prompt"}
CLAUDE_PERMISSION = {**CLAUDE_IDLE, "message": "Claude needs your permission to use Bash",
                     "notification_type": "permission_prompt"}


def state_of(agent: Agent) -> tuple[str, str] | None:
    """(state, event) as recorded for the agent's pane; None when nothing is recorded."""
    from tmms import hooks
    from tmms.paths import state_dir
    from tmms.tmux import Tmux

    path = hooks.state_path(state_dir(), Tmux(socket_name=agent.server.socket).socket_path, agent.pane.pane_id)
    recorded = hooks.read_state(path)
    if recorded is None:
        return None
    return recorded[0], json.loads(Path(path).read_text())["event"]


@pytest.mark.parametrize(("payload", "state"), [
    (CLAUDE_PROMPT, ("busy", "UserPromptSubmit")), (CODEX_PROMPT, ("busy", "UserPromptSubmit")),
    (GEMINI_BEFORE, ("busy", "BeforeAgent")), (CLAUDE_START, ("idle", "SessionStart")),
    (CLAUDE_STOP, ("idle", "Stop")), (CODEX_STOP, ("idle", "Stop")), (GEMINI_AFTER, ("idle", "AfterAgent")),
    ({**CLAUDE_STOP, "stop_hook_active": True}, ("idle", "Stop")),
    (CLAUDE_IDLE, ("idle", "Notification")), (CLAUDE_PERMISSION, ("menu", "Notification")),
    ({**CLAUDE_IDLE, "notification_type": "ToolPermission"}, ("menu", "Notification")),
])
def test_each_event_records_the_panes_state(agent: Agent, payload: dict[str, Any], state: tuple[str, str]) -> None:
    assert state_of(agent) is None
    assert agent.answer(payload) is None  # no mail
    assert state_of(agent) == state


def test_a_stop_that_blocks_leaves_the_pane_busy_and_the_next_stop_idle(agent: Agent) -> None:
    agent.answer(CLAUDE_PROMPT)
    agent.deliver("Review PR 7")
    assert agent.answer(CLAUDE_STOP)["decision"] == "block"
    assert state_of(agent) == ("busy", "Stop")  # the agent goes on with the reason as its next instruction
    assert agent.answer({**CLAUDE_STOP, "stop_hook_active": True}) is None
    assert state_of(agent) == ("idle", "Stop")
    agent.deliver("Lunch")
    assert agent.answer(GEMINI_AFTER)["decision"] == "deny"
    assert state_of(agent) == ("busy", "AfterAgent")


def test_a_notification_prints_nothing_even_with_mail_and_keeps_what_was_told(agent: Agent) -> None:
    agent.deliver("Review PR 7")
    assert agent.answer(CLAUDE_PERMISSION) is None
    assert state_of(agent) == ("menu", "Notification")
    assert agent.answer(CLAUDE_STOP)["decision"] == "block"  # the notification told nothing
    assert agent.answer(CLAUDE_IDLE, "notification") is None
    assert agent.answer(CLAUDE_STOP) is None  # and forgot nothing
    assert state_of(agent) == ("idle", "Stop")


def test_events_that_say_nothing_about_the_state_leave_it(agent: Agent) -> None:
    agent.answer(CLAUDE_PROMPT)
    for payload in ({**CLAUDE_START, "source": "compact"}, {**CLAUDE_IDLE, "notification_type": "auth_success"},
                    {"hook_event_name": "Notification"}):
        assert agent.answer(payload) is None
        assert state_of(agent) == ("busy", "UserPromptSubmit")


def test_no_state_is_recorded_outside_a_registered_pane(agent: Agent) -> None:
    other = agent.server.new_pane()
    proc = agent.hook(CLAUDE_PROMPT, pane=other)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state") / "tmms" / "hooks"
    assert not list(state.glob("state-*.json"))


def test_a_state_that_cannot_be_recorded_is_one_warning_and_the_same_answer(agent: Agent) -> None:
    from tmms import hooks
    from tmms.paths import state_dir
    from tmms.tmux import Tmux

    first = agent.deliver("Review PR 7")
    path = Path(hooks.state_path(state_dir(), Tmux(socket_name=agent.server.socket).socket_path, agent.pane.pane_id))
    path.mkdir(parents=True)  # a folder where the file goes: the rename fails
    proc = agent.hook(CLAUDE_STOP)
    assert proc.returncode == 0
    assert proc.stderr.startswith("tmms: hook: cannot record the pane's state: ") and proc.stderr.count("\n") == 1
    assert json.loads(proc.stdout)["decision"] == "block" and first in json.loads(proc.stdout)["reason"]
    assert agent.hook(CLAUDE_STOP).stdout == ""  # the told file was kept


def test_the_state_file_is_private_and_keyed_like_the_told_file(agent: Agent) -> None:
    agent.deliver("Review PR 7")
    agent.answer(CLAUDE_STOP)
    folder = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state") / "tmms" / "hooks"
    [state] = folder.glob("state-*.json")
    [told] = folder.glob("told-*.json")
    assert state.name.removeprefix("state-") == told.name.removeprefix("told-")
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    data = json.loads(state.read_text())
    assert set(data) == {"state", "event", "at"} and data["state"] == "busy" and isinstance(data["at"], float)


def test_record_and_read_state(tmp_path: Path) -> None:
    from tmms import hooks

    path = hooks.state_path(str(tmp_path / "state"), "/tmp/tmux-1/default", "%3")
    assert path == hooks.told_path(str(tmp_path / "state"), "/tmp/tmux-1/default", "%3").replace("told-", "state-")
    assert hooks.read_state(path) is None
    hooks.record_state(path, "menu", "Notification", 1234.5)
    assert hooks.read_state(path) == ("menu", 1234.5)
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    with pytest.raises(ValueError):
        hooks.record_state(path, "sleeping", "Stop", 1.0)
    assert hooks.read_state(path) == ("menu", 1234.5)
    for text in ("", "not json", "[]", '{"state": "busy"}', '{"state": "asleep", "at": 1}',
                 '{"state": "idle", "at": true}', '{"state": "idle", "at": "1"}', '{"state": "idle", "at": NaN}'):
        Path(path).write_text(text)
        assert hooks.read_state(path) is None, text
    Path(path).write_text('{"state": "idle", "event": "Stop", "at": 7}')
    assert hooks.read_state(path) == ("idle", 7.0)


# -- the told file: what a turn's end reads ------------------------------------------------------------


def told_file(agent: Agent) -> Path:
    from tmms import hooks
    from tmms.paths import state_dir
    from tmms.tmux import Tmux

    return Path(hooks.told_path(state_dir(), Tmux(socket_name=agent.server.socket).socket_path, agent.pane.pane_id))


def test_ids_told_by_another_writer_as_a_plain_list_are_respected(agent: Agent) -> None:
    from tmms import hooks

    agent.deliver("Review PR 7")
    second = agent.deliver("Lunch", sender="gamma")
    assert agent.answer(CLAUDE_PROMPT) is not None  # told about both, the names seen
    [first_id, second_id] = hooks.load_told(str(told_file(agent)))
    hooks.save_told(str(told_file(agent)), [first_id])  # a doorbell's write: ids only, the names dropped
    assert json.loads(told_file(agent).read_text()) == [first_id]
    blocked = agent.answer(CLAUDE_STOP)
    assert blocked["decision"] == "block" and second in blocked["reason"]
    assert agent.answer(CLAUDE_STOP) is None
    record = json.loads(told_file(agent).read_text())
    assert record["told"] == [first_id, second_id] and len(record["seen"]) == 2


def test_a_told_file_that_names_every_unread_file_means_no_block(agent: Agent) -> None:
    agent.deliver("Review PR 7")
    told_file(agent).parent.mkdir(parents=True)
    told_file(agent).write_text(json.dumps({"told": [], "seen": [p.name for p in agent.pane.inbox.iterdir()]}))
    assert agent.answer(CLAUDE_STOP) is None  # the names were seen: the mail is not read again
    assert agent.answer(CLAUDE_PROMPT) is not None  # a prompt always states the unread mail


def test_load_record_and_save_told(tmp_path: Path) -> None:
    from tmms import hooks

    path = str(tmp_path / "hooks" / "told-x.json")
    assert hooks.load_record(path) == ([], [])
    hooks.save_told(path, ["a", "b"], ["n1.md"])
    assert hooks.load_record(path) == (["a", "b"], ["n1.md"]) and hooks.load_told(path) == ["a", "b"]
    hooks.save_told(path, ["a"], [f"{i}.md" for i in range(hooks.MAX_TOLD + 1)])
    assert json.loads(Path(path).read_text()) == ["a"]
    for text, expected in (('{"told": "x", "seen": [1, "n.md"]}', ([], ["n.md"])), ('["a", 3]', (["a"], [])),
                           ("7", ([], [])), ("{", ([], []))):
        Path(path).write_text(text)
        assert hooks.load_record(path) == expected, text

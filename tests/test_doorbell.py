"""The doorbell end to end: a real tmux server, a running tmms server, and agent CLI doubles in real panes.

Each test checks the double's own log: what it received as input, and which prompts it took. A
doorbell may only type into an idle agent's empty composer, must be submitted exactly once, and
never sends Escape into a running turn (the doubles log ``interrupted``/``cancelled``/``rewind``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit import Double, start_double
from conftest import Pane, TmuxServer, ok
from polling import wait_until as poll

pytestmark = pytest.mark.usefixtures("tmux_server")
DOORBELL = "[tmms] "


def agent_box(server: TmuxServer, double: Double, name: str = "bot", kind: str | None = None) -> Pane:
    """Register the double's pane as a mailbox of an agent of its kind."""
    box = server.register(name, pane_id=double.pane_id)
    server.tmux("set-option", "-p", "-t", double.pane_id, "@tmms_agent", kind or double.kind)
    return box


def scene(server: TmuxServer, kind: str, *flags: str) -> tuple[Double, Pane]:
    """A double of ``kind`` registered as the agent "bot", a sender "alpha", and a running tmms server."""
    double = start_double(server, kind, *flags)
    agent_box(server, double)
    alpha = server.register("alpha")
    server.start_server()
    return double, alpha


def post(server: TmuxServer, sender: Pane, to: str, subject: str, body: str = "body") -> str:
    """Post from ``sender``; the message id."""
    out = ok(server.tmms("post", "-t", to, "-s", subject, "--json", pane=sender.pane_id, input=body))
    record = json.loads(out)
    return str(record["id"] if isinstance(record, dict) else record[0]["id"])


def journal(server: TmuxServer) -> list[dict[str, str]]:
    path = server.root / "home" / ".local" / "state" / "tmms" / "journal.jsonl"
    if not path.exists():
        path = next(iter(Path(server.root).rglob("journal.jsonl")), path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def events_of(server: TmuxServer, message_id: str) -> list[str]:
    return [r["event"] for r in journal(server) if r.get("id") == message_id]


def no_harm(double: Double) -> None:
    """The double was never interrupted, cancelled or sent into its rewind menu."""
    bad = [e for e in double.events() if e["event"] in ("interrupted", "cancelled", "rewind")]
    assert bad == []


def doorbells(double: Double) -> list[str]:
    return [p for p in double.prompts() if p.startswith(DOORBELL)]


@pytest.mark.parametrize("kind", ["claude", "codex", "gemini"])
def test_an_idle_agent_gets_one_verified_doorbell(tmux_server: TmuxServer, kind: str) -> None:
    double, alpha = scene(tmux_server, kind, "--busy", "0.3")
    message_id = post(tmux_server, alpha, "bot", "Review PR 7")
    poll(lambda: doorbells(double))
    assert doorbells(double) == ['[tmms] 1 new message, from alpha: "Review PR 7" - run: tmms inbox']
    poll(lambda: "submitted" in events_of(tmux_server, message_id))
    assert events_of(tmux_server, message_id)[-2:] == ["typed", "submitted"]
    status = ok(tmux_server.tmms("status", message_id[:8], pane=alpha.pane_id))
    assert "submitted" in status and "typed" in status
    # the agent was told: its Stop hook does not block for the same mail
    stop = tmux_server.tmms("hook", "Stop", pane=double.pane_id, input='{"stop_hook_active": false}')
    assert stop.returncode == 0 and stop.stdout == ""
    no_harm(double)


def test_a_busy_agent_is_rung_once_after_its_turn(tmux_server: TmuxServer) -> None:
    double, alpha = scene(tmux_server, "claude", "--busy-at-start", "2.0", "--busy", "0.3")
    ids = [post(tmux_server, alpha, "bot", f"part {i}") for i in range(3)]
    idle = double.wait_event("idle", timeout=10)
    poll(lambda: doorbells(double))
    inputs_while_busy = [e for e in double.events("input") if e["state"] == "busy"]
    assert inputs_while_busy == []
    assert len(doorbells(double)) == 1 and doorbells(double)[0].startswith("[tmms] 3 new messages, from alpha")
    prompt = next(e for e in double.events("prompt") if e["text"].startswith(DOORBELL))
    assert prompt["at"] > idle["at"]  # how soon after is the bench's to measure (bench/wake.py), not a test's
    assert all("doorbell-queued" in events_of(tmux_server, i) for i in ids)
    no_harm(double)


def test_a_persons_draft_is_never_touched(tmux_server: TmuxServer) -> None:
    double, alpha = scene(tmux_server, "codex", "--draft", "Please fix the bug in auth")
    message_id = post(tmux_server, alpha, "bot", "status")
    poll(lambda: "doorbell-queued" in events_of(tmux_server, message_id))
    double.wait_screen("Please fix the bug in auth")
    assert double.events("input") == []  # not one key while the draft is there
    reason = next(r["reason"] for r in journal(tmux_server)
                  if r.get("id") == message_id and r["event"] == "doorbell-queued")
    assert reason.startswith("draft")
    double.keys("C-u")  # the person clears it
    poll(lambda: doorbells(double))
    assert double.prompts() == doorbells(double)
    no_harm(double)


def test_a_menu_holds_the_doorbell_until_it_is_answered(tmux_server: TmuxServer) -> None:
    double, alpha = scene(tmux_server, "claude", "--menu")
    message_id = post(tmux_server, alpha, "bot", "hello")
    poll(lambda: "doorbell-queued" in events_of(tmux_server, message_id))
    assert double.events("menu-keys") == [] and double.events("menu-answer") == []
    double.keys("1")
    poll(lambda: doorbells(double))
    assert len(double.events("menu-answer")) == 1  # only the person's answer


def test_copy_mode_holds_the_doorbell(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "gemini")
    agent_box(tmux_server, double)
    alpha = tmux_server.register("alpha")
    tmux_server.tmux("copy-mode", "-t", double.pane_id)
    tmux_server.start_server()
    message_id = post(tmux_server, alpha, "bot", "hello")
    poll(lambda: "doorbell-queued" in events_of(tmux_server, message_id))
    assert double.events("input") == []
    tmux_server.tmux("send-keys", "-t", double.pane_id, "-X", "cancel")
    poll(lambda: doorbells(double))


def test_a_swallowed_enter_is_rescued_once(tmux_server: TmuxServer) -> None:
    """Typed (no bracketed paste), the subject's ``@`` opens the picker, which eats the first Enter."""
    double, alpha = scene(tmux_server, "claude", "--picker", "--no-bracketed-paste")
    message_id = post(tmux_server, alpha, "bot", "ping @reviewers")
    poll(lambda: "submitted" in events_of(tmux_server, message_id) or "failed" in events_of(tmux_server, message_id))
    assert "submitted" in events_of(tmux_server, message_id)
    assert len(doorbells(double)) == 1
    assert len(double.events("escape")) == 1 and double.events("picker-closed")  # one Escape, for the picker
    no_harm(double)


@pytest.mark.parametrize("kind", ["codex", "gemini"])
def test_a_picker_without_a_menu_pattern_is_rescued_without_escape(tmux_server: TmuxServer, kind: str) -> None:
    """Kinds whose rescue has no Escape: the picker takes the first Enter, the rescue's Enter submits."""
    double, alpha = scene(tmux_server, kind, "--picker", "--no-bracketed-paste")
    message_id = post(tmux_server, alpha, "bot", "ping @reviewers")
    poll(lambda: "submitted" in events_of(tmux_server, message_id) or "failed" in events_of(tmux_server, message_id))
    assert "submitted" in events_of(tmux_server, message_id)
    assert len(doorbells(double)) == 1
    assert double.events("escape") == [] and len(double.events("picker-enter")) == 1  # the rescue ran
    no_harm(double)


@pytest.mark.parametrize("flags", [("--paste-burst",), ("--paste-burst", "--no-bracketed-paste")],
                         ids=["bracketed", "typed-burst"])
def test_a_paste_burst_agent_gets_exactly_one_submission(tmux_server: TmuxServer, flags: tuple[str, ...]) -> None:
    double, alpha = scene(tmux_server, "codex", *flags)
    message_id = post(tmux_server, alpha, "bot", "hello")
    poll(lambda: "submitted" in events_of(tmux_server, message_id))
    assert len(doorbells(double)) == 1
    no_harm(double)


def test_the_hooks_busy_state_wins_over_an_idle_screen(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude")
    agent_box(tmux_server, double)
    alpha = tmux_server.register("alpha")
    hook = tmux_server.tmms("hook", "UserPromptSubmit", pane=double.pane_id, input="{}")
    assert hook.returncode == 0
    tmux_server.start_server()
    message_id = post(tmux_server, alpha, "bot", "hello")
    poll(lambda: "doorbell-queued" in events_of(tmux_server, message_id))
    assert double.events("input") == []
    stop = tmux_server.tmms("hook", "Stop", pane=double.pane_id, input='{"stop_hook_active": true}')
    assert stop.returncode == 0
    poll(lambda: doorbells(double))


def test_a_slow_starting_agent_is_rung_when_its_composer_shows(tmux_server: TmuxServer) -> None:
    double, alpha = scene(tmux_server, "codex", "--startup", "1.5")
    post(tmux_server, alpha, "bot", "hello")
    poll(lambda: doorbells(double), timeout=15)
    assert [e for e in double.events("input") if e["state"] == "startup"] == []


def test_mail_read_before_the_agent_is_idle_rings_nothing(tmux_server: TmuxServer) -> None:
    double, alpha = scene(tmux_server, "claude", "--busy-at-start", "2.0")
    message_id = post(tmux_server, alpha, "bot", "hello")
    poll(lambda: "doorbell-queued" in events_of(tmux_server, message_id))
    ok(tmux_server.tmms("read", message_id[:8], pane=double.pane_id))
    double.wait_event("idle", timeout=10)
    ok(tmux_server.tmms("post", "-t", "alpha", "-s", "x", pane=double.pane_id, input="sync"))  # a later event
    poll(lambda: any(r["event"] == "delivered" and r.get("mailbox") == "alpha" for r in journal(tmux_server)))
    assert double.prompts() == []


def test_peers_shows_each_agents_state_and_a_waiting_doorbell(tmux_server: TmuxServer) -> None:
    idle = start_double(tmux_server, "claude", name="idle")
    busy = start_double(tmux_server, "codex", "--busy-at-start", "30", name="busy")
    draft = start_double(tmux_server, "gemini", "--draft", "half", name="draft")
    menu = start_double(tmux_server, "claude", "--menu", name="menu")
    for double, name in ((idle, "a-idle"), (busy, "b-busy"), (draft, "c-draft"), (menu, "d-menu")):
        agent_box(tmux_server, double, name)
    tmux_server.register("e-shell")
    tmux_server.start_server()
    post(tmux_server, tmux_server.register("sender"), "c-draft", "wait for it")
    poll(lambda: "doorbell waiting" in tmux_server.tmms("peers").stdout)
    peers = {p["name"]: p for p in json.loads(ok(tmux_server.tmms("peers", "--json")))}
    assert {n: p["state"] for n, p in peers.items()} == {
        "a-idle": "idle", "b-busy": "busy", "c-draft": "draft", "d-menu": "menu", "e-shell": "", "sender": ""}
    assert peers["c-draft"]["doorbell"].startswith("[tmms] 1 new message, from sender")
    text = ok(tmux_server.tmms("peers"))
    assert "codex (busy)" in text and "gemini (draft)" in text and "doorbell waiting" in text
    assert draft.events("input") == []

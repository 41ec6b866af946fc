"""``tmms nudge`` end to end: the doorbell's gates for scripts and people, and an exit code for each ending."""

from __future__ import annotations

import subprocess
import sys
import threading

from agentkit import start_double
from conftest import TmuxServer, failed, ok
from polling import wait_until as poll
from test_doorbell import agent_box, doorbells, no_harm


def test_an_idle_agent_takes_the_line_and_the_exit_is_0(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude")
    agent_box(tmux_server, double)
    out = ok(tmux_server.tmms("nudge", "-t", "bot", "CI is green,", "merge when ready"))
    assert out.startswith("submitted to bot")
    assert double.prompts() == ["CI is green, merge when ready"]
    no_harm(double)


def test_without_text_it_rings_for_the_unannounced_mail(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "codex")
    agent_box(tmux_server, double)
    alpha = tmux_server.register("alpha")
    tmux_server.tmms("post", "-t", "bot", "-s", "Review PR 7", pane=alpha.pane_id, input="x")
    # no tmms server runs: deliver by hand, as another TMMS-compatible server would
    for path in alpha.outbox.glob("*.md"):
        path.rename(tmux_server.root / "mail" / "bot" / "inbox" / path.name)
    ok(tmux_server.tmms("nudge", "-t", "bot", "--json"))
    assert doorbells(double) == ['[tmms] 1 new message, from alpha: "Review PR 7" - run: tmms inbox']
    stop = tmux_server.tmms("hook", "Stop", pane=double.pane_id, input="{}")
    assert stop.stdout == ""  # told by the nudge: the Stop hook does not block for it again
    failed(tmux_server.tmms("nudge", "-t", "bot"), 15)  # nothing left to announce


def test_a_draft_is_queued_and_rung_when_the_person_clears_it(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--draft", "my own half thought")
    agent_box(tmux_server, double)
    tmux_server.start_server()
    line = failed(tmux_server.tmms("nudge", "-t", "bot", "--wait", "0.5", "deploy finished"), 13)
    assert "queued" in line and "draft" in line
    assert double.events("input") == []
    double.keys("C-u")
    poll(lambda: double.prompts())
    assert double.prompts() == ["deploy finished"]
    no_harm(double)


def test_no_queue_and_no_server_time_out_with_14(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "gemini", "--draft", "typing")
    agent_box(tmux_server, double)
    line = failed(tmux_server.tmms("nudge", "-t", "bot", "--wait", "0.3", "hello"), 14)
    assert "no tmms server runs" in line
    tmux_server.start_server()
    line = failed(tmux_server.tmms("nudge", "-t", "bot", "--wait", "0.3", "--no-queue", "hello"), 14)
    assert "still draft" in line
    assert double.events("input") == []


def test_refusals_exit_15_with_the_reason(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude")
    agent_box(tmux_server, double)
    plain = tmux_server.register("shell")
    assert "not an agent pane" in failed(tmux_server.tmms("nudge", "-t", "shell", "hi"), 15)
    assert "did you mean 'bot'" in failed(tmux_server.tmms("nudge", "-t", "bott", "hi"), 15)
    assert "empty" in failed(tmux_server.tmms("nudge", "-t", "bot", "\x1b\x07"), 15)
    tmux_server.tmux("set-option", "-p", "-t", plain.pane_id, "@tmms_agent", "aider")
    assert "no composer" in failed(tmux_server.tmms("nudge", "-t", "shell", "hi"), 15)
    assert failed(tmux_server.tmms("nudge", "-t", "bot", "--wait", "-1", "x"), 2)
    assert double.events("input") == []


def test_hostile_text_types_inert(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "codex")
    agent_box(tmux_server, double)
    ok(tmux_server.tmms("nudge", "-t", "bot", "a\x1b[2J\rb\nc;"))
    assert double.prompts() == ["a[2J b c;"]


def test_two_nudges_at_once_never_interleave(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--busy", "0.2")
    agent_box(tmux_server, double)
    texts = [f"line number {i} from a script" for i in range(3)]
    codes: list[int] = []

    def send(text: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "tmms", "-L", tmux_server.socket, "nudge", "-t", "bot",
                               "--wait", "20", "--no-queue", text], env=tmux_server.env(), capture_output=True)
        codes.append(proc.returncode)

    threads = [threading.Thread(target=send, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [0, 0, 0]
    assert sorted(double.prompts()) == sorted(texts)
    no_harm(double)

"""The agent CLI doubles, driven by real tmux input sent the way peer tools send it: each kind, each misbehaviour."""

from __future__ import annotations

import time

import pytest

from agentkit import BUSY, COMPOSER, FINISHED, KINDS, PLACEHOLDER, Double, start_double
from conftest import TmuxServer, wait_until

PAUSE = 0.3  # the delay peers leave between the text and Enter


def names(double: Double, *wanted: str) -> list[str]:
    """The names of the double's events that are among ``wanted``, in order."""
    return [event["event"] for event in double.events() if event["event"] in wanted]


def type_then_enter(double: Double, text: str) -> None:
    """``send-keys -l TEXT``, a pause, then ``send-keys Enter``: the careful way."""
    double.type(text)
    time.sleep(PAUSE)
    double.keys("Enter")


def type_and_enter_at_once(double: Double, text: str) -> None:
    """TMMS's naive notify: ``send-keys -l TEXT \\; send-keys Enter`` in one tmux call."""
    double.tmux("send-keys", "-t", double.pane_id, "-l", text, ";", "send-keys", "-t", double.pane_id, "Enter")


def escape(double: Double) -> None:
    """One lone Escape, then long enough that nothing joins it into a sequence."""
    count = len(double.events("escape")) + 1
    double.keys("Escape")
    double.wait_event("escape", count=count)


@pytest.mark.parametrize("kind", KINDS)
def test_typed_text_and_enter_300ms_later_is_a_prompt(tmux_server: TmuxServer, kind: str) -> None:
    double = start_double(tmux_server, kind, "--busy", "0.3")
    type_then_enter(double, "hello double")
    double.wait_event("prompt")
    assert double.prompts() == ["hello double"]
    echo = {"claude": "> ", "codex": "› ", "gemini": "> "}[kind]
    screen = double.wait_screen(PLACEHOLDER[kind])
    assert echo + "hello double" in screen.splitlines()


@pytest.mark.parametrize("kind", KINDS)
def test_the_placeholder_is_dim_and_gone_once_text_is_typed(tmux_server: TmuxServer, kind: str) -> None:
    double = start_double(tmux_server, kind)
    assert COMPOSER[kind] + "\x1b[2m" + PLACEHOLDER[kind] in double.screen(escapes=True)
    double.type("abc")
    wait_until(lambda: double.composer() == "abc")
    assert PLACEHOLDER[kind] not in double.screen()


@pytest.mark.parametrize("kind", KINDS)
def test_the_busy_line_shows_during_a_turn_and_the_finished_line_after(tmux_server: TmuxServer, kind: str) -> None:
    double = start_double(tmux_server, kind, "--busy", "1")
    type_then_enter(double, "work")
    double.wait_screen(BUSY[kind])
    double.wait_event("idle")
    wait_until(lambda: BUSY[kind] not in double.screen())
    assert FINISHED[kind] in double.screen()
    assert names(double, "prompt", "busy", "idle") == ["prompt", "busy", "idle"]


def test_codex_keeps_its_composer_and_footer_while_busy(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "codex", "--busy", "30")
    double.make_busy()
    screen = double.wait_screen(BUSY["codex"])
    assert "› \x1b[2mAsk Codex to do anything" in double.screen(escapes=True)
    assert "47% context left" in screen


def test_a_bracketed_paste_then_enter_submits_on_the_paste_burst_double(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "codex", "--paste-burst", "--busy", "0.3")
    double.paste("[tmms] 1 new message - run: tmms inbox")
    double.keys("Enter")
    double.wait_event("prompt")
    assert double.prompts() == ["[tmms] 1 new message - run: tmms inbox"]
    assert double.events("swallowed-enter") == []


def test_typed_text_with_enter_in_one_tmux_call_is_swallowed_by_the_paste_burst(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "codex", "--paste-burst", "--busy", "0.3")
    type_and_enter_at_once(double, "check your inbox")
    double.wait_event("swallowed-enter")
    assert double.prompts() == []
    wait_until(lambda: double.composer() == "check your inbox")
    time.sleep(PAUSE)
    double.keys("Enter")  # the burst is long over: this Enter submits
    double.wait_event("prompt")
    assert double.prompts() == ["check your inbox"]


def test_without_bracketed_paste_a_paste_is_a_typed_burst(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "codex", "--paste-burst", "--no-bracketed-paste")
    double.paste("check your inbox")
    double.keys("Enter")
    double.wait_event("swallowed-enter")
    assert double.events("paste") == []
    assert double.prompts() == []


def test_a_typed_at_opens_the_picker_which_swallows_the_next_enter(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--picker")
    double.type("ask @")
    double.wait_screen("Enter to select · Esc to cancel")
    time.sleep(PAUSE)
    double.keys("Enter")
    assert double.wait_event("picker-enter")["composer"] == "ask @"
    assert double.prompts() == []
    wait_until(lambda: "Esc to cancel" not in double.screen() and double.composer() == "ask @")


def test_escape_closes_the_picker_and_enter_then_submits(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--picker", "--busy", "0.3")
    double.type("see @alpha")
    double.wait_event("picker")
    escape(double)
    assert double.wait_event("picker-closed")
    double.keys("Enter")
    double.wait_event("prompt")
    assert double.prompts() == ["see @alpha"]
    assert double.events("picker-enter") == []


def test_a_slash_opens_the_picker_only_as_the_first_character(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--picker", "--busy", "0")
    type_then_enter(double, "a/b")
    double.wait_event("prompt")
    type_then_enter(double, "/clear")
    double.wait_event("picker-enter")
    assert double.prompts() == ["a/b"]
    assert [e["trigger"] for e in double.events("picker")] == ["/"]


def test_a_pasted_at_opens_no_picker(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--picker", "--busy", "0")
    double.paste("mail from @alpha")
    double.keys("Enter")
    double.wait_event("prompt")
    assert double.prompts() == ["mail from @alpha"]
    assert double.events("picker") == []


def test_a_draft_shows_and_typed_text_goes_after_it(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--draft=Please fix the bug in auth")
    assert double.composer() == "Please fix the bug in auth"
    assert PLACEHOLDER["claude"] not in double.screen()
    double.type("[from crew]")
    wait_until(lambda: double.composer() == "Please fix the bug in auth[from crew]")
    assert double.wait_event("input")["composer_before"] == "Please fix the bug in auth"


@pytest.mark.parametrize(("kind", "question"), [("claude", "Do you want to proceed?"),
                                                 ("codex", "Would you like to run the following command?"),
                                                 ("gemini", "Allow execution of: 'rm'?")])
def test_the_menu_keeps_typed_text_out_of_the_composer_until_answered(tmux_server: TmuxServer, kind: str,
                                                                      question: str) -> None:
    double = start_double(tmux_server, kind, "--menu", "--busy", "0")
    screen = double.screen()
    assert question in screen
    assert PLACEHOLDER[kind] not in screen
    double.type("hello")
    assert double.wait_event("menu-keys")["data"] == "hello"
    time.sleep(PAUSE)
    double.keys("Enter")
    assert double.wait_event("menu-answer")["choice"] == "yes"
    wait_until(lambda: double.composer() == PLACEHOLDER[kind])
    assert double.prompts() == []


def test_the_menu_on_sigusr2_shows_and_escape_answers_no(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude")
    double.toggle_menu()
    double.wait_screen("❯ 1. Yes")
    assert "2. No, and tell Claude what to do differently (esc)" in double.screen()
    escape(double)
    assert double.wait_event("menu-answer")["choice"] == "no"
    double.wait_screen(PLACEHOLDER["claude"])


def test_slow_start_up_shows_starting_and_drops_input(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--startup", "1.5", "--busy", "0")
    double.type("early")
    assert double.wait_event("input")["state"] == "startup"
    assert "Starting…" in double.screen()
    double.wait_event("ready")
    wait_until(lambda: double.composer() == PLACEHOLDER["claude"])
    assert double.prompts() == []


def test_a_double_that_starts_busy_turns_idle(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "codex", "--busy-at-start", "0.5")
    assert double.wait_event("ready")["state"] == "busy"
    double.wait_event("idle")
    wait_until(lambda: BUSY["codex"] not in double.screen())


@pytest.mark.parametrize(("kind", "event"), [("claude", "interrupted"), ("codex", "interrupted"),
                                             ("gemini", "cancelled")])
def test_a_lone_escape_while_busy_stops_the_turn(tmux_server: TmuxServer, kind: str, event: str) -> None:
    double = start_double(tmux_server, kind, "--busy", "30")
    type_then_enter(double, "long job")
    double.wait_screen(BUSY[kind])
    escape(double)
    double.wait_event(event)
    wait_until(lambda: BUSY[kind] not in double.screen())
    assert names(double, "busy", event, "idle") == ["busy", event, "idle"]


def test_a_double_escape_opens_rewind_which_swallows_text_until_escape(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--busy", "0")
    escape(double)
    escape(double)
    double.wait_event("rewind")
    double.wait_screen("Rewind to…  Enter to select · Esc to cancel")
    assert double.composer() is None
    double.type("hello")
    time.sleep(PAUSE)
    double.keys("Enter")
    wait_until(lambda: "".join(e["data"] for e in double.events("rewind-keys")) == "hello\r")
    escape(double)
    double.wait_event("rewind-closed")
    wait_until(lambda: double.composer() == PLACEHOLDER["claude"])
    assert double.prompts() == []


def test_typing_while_busy_goes_into_the_composer(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--busy", "30")
    double.make_busy()
    double.wait_screen(BUSY["claude"])
    double.type("queued")
    event = double.wait_event("input")
    assert (event["state"], event["data"]) == ("busy", "queued")
    wait_until(lambda: double.composer() == "queued")


def test_a_multi_line_paste_draws_each_line_and_submits_whole(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "gemini", "--busy", "0")
    double.paste("line one\nline two")
    screen = double.wait_screen("> line one")
    assert "  line two" in screen.splitlines()
    double.keys("Enter")
    double.wait_event("prompt")
    assert double.prompts() == ["line one\nline two"]


def test_editing_keys_newline_backspace_and_clear(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--busy", "0")
    double.type("abc")
    double.keys("C-j")
    double.type("dex")
    double.keys("BSpace")
    double.type("f")
    wait_until(lambda: double.screen().splitlines().count("  def") == 1)
    double.keys("C-u")
    wait_until(lambda: double.composer() == PLACEHOLDER["claude"])
    double.keys("Up")
    assert double.wait_event("csi")["seq"] == "\x1b[A"
    assert double.prompts() == []


def test_a_prompt_submitted_while_busy_is_queued_into_the_turn(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "claude", "--busy", "2")
    type_then_enter(double, "first")
    double.wait_screen(BUSY["claude"])
    type_then_enter(double, "second")
    assert double.wait_event("prompt", count=2)["state"] == "busy"
    double.wait_screen("press up to edit queued messages")
    double.wait_event("idle")
    screen = double.wait_screen("● ok: second")
    assert "press up to edit queued messages" not in screen
    assert names(double, "busy", "idle") == ["busy", "idle"]


def test_closing_the_pane_ends_the_double(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "gemini")
    double.close()
    double.wait_event("exit")


def test_a_resized_pane_is_drawn_again_at_its_new_size(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "codex")
    double.tmux("resize-window", "-t", double.pane_id, "-x", "30", "-y", "12")
    assert double.wait_event("resize")["size"] == [30, 12]
    wait_until(lambda: "47% context left" in double.screen())  # the footer, wrapped onto a second line
    assert double.composer() == PLACEHOLDER["codex"][:28]


def test_the_menu_answers_to_its_number_keys(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "codex", "--menu")
    assert double.wait_event("ready")["state"] == "menu"
    double.type("2")
    assert double.wait_event("menu-answer")["choice"] == "no"
    double.toggle_menu()
    double.wait_screen("› 1. Yes, proceed (y)")
    double.type("1")
    assert double.wait_event("menu-answer", count=2)["choice"] == "yes"


def test_any_text_reaches_the_log_as_it_was_sent(tmux_server: TmuxServer) -> None:
    double = start_double(tmux_server, "codex", "--busy", "0")
    odd = 'say "hi" \u2028 ✓ $HOME `x` \\n A=x;'
    type_then_enter(double, odd)
    double.wait_event("prompt")
    double.paste(odd + "\u00a0end")
    double.keys("Enter")
    double.wait_event("prompt", count=2)
    assert double.prompts() == [odd, odd + "\u00a0end"]


def test_a_double_in_a_split_beside_another(tmux_server: TmuxServer) -> None:
    first = start_double(tmux_server, "claude", name="left")
    second = start_double(tmux_server, "codex", split=first.pane_id)
    window = tmux_server.tmux("display-message", "-p", "-t", first.pane_id, "#{window_id} #{window_name}").split()
    assert tmux_server.tmux("display-message", "-p", "-t", second.pane_id, "#{window_id}").strip() == window[0]
    assert window[1] == "left"
    assert first.composer() == PLACEHOLDER["claude"] and second.composer() == PLACEHOLDER["codex"]
    assert first.log_path != second.log_path


@pytest.mark.parametrize(("kind", "label"), [("claude", "[Pasted text #1 +3 lines]"),
                                             ("codex", "[Pasted Content 152 chars]"),
                                             ("gemini", "[Pasted Text: 3 lines]")])
def test_a_long_paste_shows_as_a_label_and_is_submitted_whole(tmux_server: TmuxServer, kind: str, label: str) -> None:
    double = start_double(tmux_server, kind, "--collapse-paste", "100", "--busy", "0")
    long = "\n".join(["x" * 50, "y" * 50, "z" * 50])
    double.paste(long)
    wait_until(lambda: double.composer() == label)
    assert "x" * 50 not in double.screen()
    double.keys("Enter")
    double.wait_event("prompt")
    assert double.prompts() == [long]

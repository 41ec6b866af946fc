"""The doorbell's reading of an agent's screen, and its words: pure logic, on captures shaped like the real CLIs'."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from tmms.agents import Agent, load_agents
from tmms.wake.ring import needs_bracket
from tmms.wake.screen import State, classify, holds, lines_of
from tmms.wake.text import Mail, doorbell, typeable

DIM, RESET = "\x1b[2m", "\x1b[0m"
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def kinds() -> dict[str, Agent]:
    return load_agents({"HOME": "/nonexistent-home-for-tests"})


class Case(NamedTuple):
    test_id: str
    kind: str
    screen: str
    state: State
    composer: str = ""


BORDER = "─" * 40
CLAUDE_FRAME = f"> earlier prompt\n● ok: done\n✻ Cooked for 3s\n\n{BORDER}\n{{composer}}\n{BORDER}\n  ? for shortcuts\n"
CODEX_FRAME = "› earlier prompt\n• answer\n{busy}\n{composer}\n\n  ? for shortcuts                47% context left\n"
GEMINI_FRAME = "> earlier prompt\n✦ answer\n{busy}\n{composer}\n"

CASES = [
    Case("claude-dim-placeholder-is-empty", "claude",
         CLAUDE_FRAME.format(composer=f"❯{NBSP}{DIM}Try \"refactor the parser\"{RESET}"), State.IDLE),
    Case("claude-bare-prompt-is-empty", "claude", CLAUDE_FRAME.format(composer=f"❯{NBSP}"), State.IDLE),
    Case("claude-placeholder-undimmed-still-empty", "claude",
         CLAUDE_FRAME.format(composer='❯ Try "fix the tests"'), State.IDLE),
    Case("claude-draft", "claude", CLAUDE_FRAME.format(composer=f"❯{NBSP}Please fix the bug in auth"),
         State.DRAFT, "Please fix the bug in auth"),
    Case("claude-busy-wins", "claude",
         "✻ Whirlpooling… (esc to interrupt · 2s)\n" + CLAUDE_FRAME.format(composer=f"❯{NBSP}"), State.BUSY),
    Case("claude-ctrl-c-busy", "claude",
         "✶ Thinking… (ctrl+c to interrupt)\n" + CLAUDE_FRAME.format(composer="❯ "), State.BUSY),
    Case("claude-permission-menu", "claude",
         "Do you want to proceed?\n❯ 1. Yes\n  2. No, and tell Claude what to do differently (esc)\n", State.MENU),
    Case("claude-nothing-yet", "claude", "Starting…\n", State.UNKNOWN),
    Case("codex-history-chevron-is-not-live", "codex",
         CODEX_FRAME.format(busy="", composer=f"› {DIM}Ask Codex to do anything{RESET}"), State.IDLE),
    Case("codex-draft-under-history", "codex", CODEX_FRAME.format(busy="", composer="› half a thought"),
         State.DRAFT, "half a thought"),
    Case("codex-busy-keeps-composer", "codex",
         CODEX_FRAME.format(busy="• Working (3s • esc to interrupt)", composer="› "), State.BUSY),
    Case("gemini-placeholder", "gemini",
         GEMINI_FRAME.format(busy="", composer=f"> {DIM}Type your message or @path/to/file{RESET}"), State.IDLE),
    Case("gemini-busy", "gemini",
         GEMINI_FRAME.format(busy="⠋ Thinking... (esc to cancel, 5s)", composer="> "), State.BUSY),
    Case("gemini-draft", "gemini", GEMINI_FRAME.format(busy="", composer="> what about"), State.DRAFT, "what about"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_the_screen_is_classified(case: Case, kinds: dict[str, Agent]) -> None:
    screen = classify(kinds[case.kind], case.screen)
    assert screen.state == case.state, screen.reason
    if case.state in (State.IDLE, State.DRAFT):
        assert screen.composer == case.composer


def test_a_kind_without_a_composer_is_never_idle(kinds: dict[str, Agent]) -> None:
    assert classify(kinds["aider"], "> \n").state in (State.UNKNOWN, State.BUSY, State.MENU)


def test_only_the_bottom_lines_are_examined(kinds: dict[str, Agent]) -> None:
    agent = kinds["claude"]
    old_busy = "✻ Whirlpooling… (esc to interrupt)\n" + "output line\n" * (agent.lines + 5)
    assert classify(agent, old_busy + CLAUDE_FRAME.format(composer="❯ ")).state is State.IDLE


def test_trailing_blank_lines_do_not_push_the_composer_out(kinds: dict[str, Agent]) -> None:
    agent = kinds["codex"]
    screen = CODEX_FRAME.format(busy="", composer="› ") + "\n" * 60
    assert classify(agent, screen).state is State.IDLE


def test_dim_parsing_handles_combined_and_reset_codes() -> None:
    line = lines_of("a\x1b[1;2mdim\x1b[22mb\x1b[2mc\x1b[md\x1b]0;title\x07e")[0]
    assert line.plain == "adimbcde"
    assert line.bright == "abde"


def test_the_composer_is_read_under_a_picker(kinds: dict[str, Agent]) -> None:
    """Typed text that opened a picker is still the composer's: the rescue (Escape, Enter) needs to know."""
    picker = "  @ src/  (Enter to select · Esc to cancel)\n"
    screen = classify(kinds["claude"], CLAUDE_FRAME.format(composer="❯ ping @rev") + picker)
    assert screen.state is State.MENU and screen.composer == "ping @rev"


def test_a_stranded_line_is_recognised(kinds: dict[str, Agent]) -> None:
    text = '[tmms] 2 new messages, from alpha: "Review PR 7" - run: tmms inbox'
    screen = classify(kinds["claude"], CLAUDE_FRAME.format(composer="❯ " + text[:50]))
    assert holds(screen, text)
    assert not holds(classify(kinds["claude"], CLAUDE_FRAME.format(composer="❯ ")), text)
    assert not holds(classify(kinds["claude"], CLAUDE_FRAME.format(composer="❯ my own draft")), text)


def test_the_doorbell_states_the_mail() -> None:
    mail = [Mail("1", "alpha", "Review PR 7"), Mail("2", "alpha", "")]
    assert doorbell(mail) == '[tmms] 2 new messages, from alpha: "Review PR 7" - run: tmms inbox'
    assert doorbell(mail[:1]).startswith("[tmms] 1 new message, from alpha")


def test_the_doorbell_is_one_bounded_inert_line() -> None:
    hostile = "x\x1b[2J\r\nrm -rf ~\x07\u202e" + "y" * 500
    mail = [Mail(str(i), f"{i}{hostile}", hostile) for i in range(20)]
    line = doorbell(mail)
    assert len(line) <= 300 and line.endswith(" - run: tmms inbox")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in line)
    assert "\u202e" not in line and "and 17 more" in line


def test_typeable_drops_controls_and_joins_lines() -> None:
    assert typeable("a\tb\nc\r\nd\x1b[1me\x7f") == "a b c d[1me"
    assert typeable("\x00\x01") == ""


def test_bracketed_paste_is_chosen_by_kind_and_text(kinds: dict[str, Agent]) -> None:
    assert needs_bracket(kinds["codex"], "plain")
    auto = kinds["claude"]
    assert auto.paste == "auto"
    assert needs_bracket(auto, "look at @src/x.py") and needs_bracket(auto, "/help") and needs_bracket(auto, "a\nb")
    assert not needs_bracket(auto, "[tmms] 1 new message, from alpha - run: tmms inbox")

"""Agent kinds as data: the shipped agents.yml against screen lines shaped like the research notes'
examples, and the user's file extending, overriding and being refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tmms.agents import KINDS, Agent, agent_of, load_agents, parse_step
from tmms.errors import ConfigError, UsageError

NBSP = "\u00a0"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config")}


def write_user(env: dict[str, str], text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "tmms" / "agents.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def shipped(kind: str) -> Agent:
    return load_agents({"HOME": "/nonexistent"})[kind]


def busy(agent: Agent, line: str) -> bool:
    return any(p.search(line) for p in agent.busy)


def menu(agent: Agent, line: str) -> bool:
    return any(p.search(line) for p in agent.menu)


def composer(agent: Agent, lines: list[str]) -> str | None:
    """The live composer's text as the doorbell reads it: bottom-most match, placeholders empty."""
    assert agent.composer is not None
    for line in reversed(lines):
        found = agent.composer.search(line)
        if found:
            text = (found.group("text") or "").strip()
            return "" if any(p.search(text) for p in agent.placeholder) else text
    return None


# -- the shipped file ------------------------------------------------------------------------------------


def test_the_shipped_file_defines_every_kind_in_order() -> None:
    agents = load_agents({"HOME": "/nonexistent"})
    assert tuple(agents) == KINDS
    for kind, agent in agents.items():
        assert agent.kind == kind
        assert agent.processes, kind
        assert agent.verify and agent.lines > 0
        if agent.composer is not None:
            assert "text" in agent.composer.groupindex
    assert [k for k, a in agents.items() if a.hooks] == ["claude", "codex", "gemini"]
    assert [k for k, a in agents.items() if a.composer is None] == ["aider", "opencode"]


def test_the_send_settings_the_notes_give() -> None:
    claude, codex, gemini = shipped("claude"), shipped("codex"), shipped("gemini")
    assert (claude.paste, claude.submit, claude.enter_delay) == ("auto", "Enter", 0.3)
    assert claude.rescue == ("confirm 0.3", "Escape", "wait 0.3", "Enter")
    assert (codex.paste, codex.rescue) == ("bracketed", ("confirm 0.7", "Enter"))
    assert gemini.paste == "auto" and gemini.escape_cancels
    assert "Escape" not in gemini.rescue


SAMPLES: dict[str, dict[str, list[str]]] = {
    "claude": {
        "busy": ["✻ Whirlpooling… (ctrl+c to interrupt · 2m 44s · thinking)", "✶ Precipitating… (esc to interrupt)",
                 "  · thinking", "⎿  Running…", "✳ Befuddling… 1.2k tokens"],
        "menu": ["❯ 1. Yes", "  2. Yes, allow once", "  2. Yes, allow always",
                 "  3. No, and tell Claude what to do differently (esc)", "│ Do you want to make this edit to app.py?",
                 "Do you want to proceed?", " Do you trust the files in this folder?", "Allow this MCP server?",
                 "Esc to cancel", "Use arrow keys to navigate", "Press Enter to select",
                 "Rewind · Enter to rewind · Esc to exit", "Enter to continue · Esc to exit"],
        "placeholder": ['Try "refactor app.py"'],
    },
    "codex": {
        "busy": ["• Working (12s • esc to interrupt)", "◐ Thinking", "· Waiting for background terminal",
                 "  esc to i…", "ctrl+c to interrupt"],
        "menu": [],
        "placeholder": ["Ask Codex to do anything"],
    },
    "gemini": {
        "busy": ["⠏ Reticulating splines (esc to cancel, 5s)"],
        "menu": [],
        "placeholder": ["Type your message or @path/to/file"],
    },
    "opencode": {
        "busy": ["  esc to interrupt", "█▓▒░ working"],
        "menu": [],
        "placeholder": ["Ask anything"],
    },
    "aider": {"busy": [], "menu": [], "placeholder": []},
}
"""Screen lines shaped like the research notes' examples, by kind and by what they show."""


@pytest.mark.parametrize(("kind", "what", "line"), [
    (kind, what, line) for kind, table in SAMPLES.items() for what, lines in table.items() for line in lines])
def test_every_sample_line_is_seen(kind: str, what: str, line: str) -> None:
    assert any(p.search(line) for p in getattr(shipped(kind), what))


@pytest.mark.parametrize("kind", KINDS)
def test_every_shipped_pattern_has_a_sample(kind: str) -> None:
    agent = shipped(kind)
    for what, lines in SAMPLES[kind].items():
        for pattern in getattr(agent, what):
            assert any(pattern.search(line) for line in lines), f"{kind} {what} {pattern.pattern!r}"


@pytest.mark.parametrize("line", [
    "✻ Cooked for 1m 42s", "❯ ", f"❯{NBSP}", "  ? for shortcuts", "> an earlier prompt (a file.py)",
    "  ⏵⏵ bypass permissions on (shift+tab to cycle)",
])
def test_claude_idle_lines_are_not_busy(line: str) -> None:
    assert not busy(shipped("claude"), line)


def test_claude_composer_nbsp_placeholder_draft_and_history() -> None:
    claude = shipped("claude")
    assert composer(claude, [f"❯{NBSP}"]) == ""
    assert composer(claude, ["❯"]) == ""
    assert composer(claude, [f'❯{NBSP}Try "refactor app.py"']) == ""
    assert composer(claude, ["❯ fix the login bug"]) == "fix the login bug"
    assert composer(claude, ["│ ❯ hello world  │"]) == "hello world"
    # past prompts are echoed with '>' above; the bottom-most '❯' is live
    assert composer(claude, ["> old prompt", "● done", "❯ ", "  ? for shortcuts"]) == ""
    assert composer(claude, ["> old prompt", "● done"]) is None


@pytest.mark.parametrize("line", ["❯ fix the tests", "❯ ", "  ? for shortcuts", "✻ Cooked for 3s"])
def test_claude_composer_lines_are_not_menus(line: str) -> None:
    assert not menu(shipped("claude"), line)


def test_codex_idle_footer_is_not_busy_and_history_chevrons_are_not_live() -> None:
    codex = shipped("codex")
    assert not busy(codex, "  47% context left · ? for shortcuts")
    screen = ["› explain this repo", "", "• Explored the files", "", "› Ask Codex to do anything", "",
              "  47% context left · ? for shortcuts"]
    assert composer(codex, screen) == ""
    assert composer(codex, [*screen[:4], "› run the tests"]) == "run the tests"
    assert composer(codex, [*screen[:4], "›"]) == ""


def test_gemini_busy_composer_placeholder_and_shell_mode() -> None:
    gemini = shipped("gemini")
    assert busy(gemini, "⠏ Reticulating splines (esc to cancel, 5s)")
    assert not busy(gemini, "│ >   Type your message or @path/to/file                │")
    assert composer(gemini, ["│ >   Type your message or @path/to/file   │"]) == ""
    assert composer(gemini, ["│ > summarise the diff │"]) == "summarise the diff"
    assert composer(gemini, ["│ ! ls -la │"]) is None  # shell mode: never typed into


def test_opencode_and_aider_are_never_typed_into() -> None:
    opencode, aider = shipped("opencode"), shipped("aider")
    assert opencode.composer is None and aider.composer is None
    assert busy(opencode, "  esc to interrupt") and busy(opencode, "█▓▒░ working")
    assert any(p.search("Ask anything") for p in opencode.placeholder)


# -- the user's file -------------------------------------------------------------------------------------


def test_a_known_kind_is_overridden_key_by_key(env: dict[str, str]) -> None:
    write_user(env, "claude:\n  submit: CR\n  busy: ['WORKING']\n")
    claude = load_agents(env)["claude"]
    assert claude.submit == "CR"
    assert [p.pattern for p in claude.busy] == ["WORKING"]  # a list is replaced whole
    assert claude.composer == shipped("claude").composer  # the other keys stay
    assert load_agents({"HOME": "/nonexistent"})["claude"].submit == "Enter"  # the shipped kind is untouched


def test_a_new_kind_gets_the_defaults(env: dict[str, str]) -> None:
    write_user(env, "mycli:\n  composer: '^\\$ (?P<text>.*)$'\n  processes: [mycli]\n")
    agents = load_agents(env)
    assert tuple(agents)[: len(KINDS)] == KINDS
    mine = agents["mycli"]
    assert mine.processes == ("mycli",) and mine.busy == () and mine.paste == "auto"
    assert composer(mine, ["$ hi"]) == "hi"
    assert agent_of("mycli", env) == mine


def test_a_new_kind_may_have_no_composer(env: dict[str, str]) -> None:
    write_user(env, "quiet:\n  composer: null\n")
    assert load_agents(env)["quiet"].composer is None


def test_the_xdg_default_is_under_home(tmp_path: Path) -> None:
    path = tmp_path / ".config" / "tmms" / "agents.yml"
    path.parent.mkdir(parents=True)
    path.write_text("codex:\n  lines: 30\n")
    assert load_agents({"HOME": str(tmp_path)})["codex"].lines == 30


def test_a_changed_file_is_read_again(env: dict[str, str]) -> None:
    write_user(env, "codex:\n  lines: 30\n")
    assert load_agents(env)["codex"].lines == 30
    write_user(env, "codex:\n  lines: 120\n")
    assert load_agents(env)["codex"].lines == 120


@pytest.mark.parametrize(("text", "expected"), [
    ("mycli:\n  busy: ['x']\n", "mycli: a new agent kind must give 'composer'"),
    ("claude:\n  busyy: ['x']\n", "claude: unknown key 'busyy' (did you mean 'busy'?)"),
    ("claude:\n  busy: ['(unclosed']\n", "claude: busy[0]: bad regex '(unclosed': missing ), unterminated"),
    ("claude:\n  composer: '^> (.*)$'\n", "claude: composer: the regex needs a group named 'text'"),
    ("claude:\n  paste: bracket\n", "claude: paste must be one of bracketed, literal, auto, not 'bracket' "
                                    "(did you mean 'bracketed'?)"),
    ("claude:\n  submit: Return\n", "claude: submit must be one of Enter, C-m, CR"),
    ("claude:\n  enter_delay: 11\n", "claude: enter_delay must be a number of seconds from 0 to 10, not 11"),
    ("claude:\n  enter_delay: -1\n", "claude: enter_delay must be a number of seconds from 0 to 10"),
    ("claude:\n  enter_delay: yes\n", "claude: enter_delay must be a number of seconds from 0 to 10, not True"),
    ("claude:\n  verify: [1.0, 0.5]\n", "claude: verify must be one or more times in seconds, rising"),
    ("claude:\n  verify: []\n", "claude: verify must be one or more times"),
    ("claude:\n  lines: 0\n", "claude: lines must be a whole number from 1 to 200, not 0"),
    ("claude:\n  hooks: maybe\n", "claude: hooks must be true or false, not 'maybe'"),
    ("claude:\n  rescue: [confirm 0.3, Escape, confirm 0.3, Escape]\n", "claude: rescue: at most one Escape"),
    ("claude:\n  rescue: [wait 0.3, Escape]\n", "claude: rescue: Escape only right after a 'confirm S' step"),
    ("claude:\n  rescue: [Escape, Enter]\n", "claude: rescue: Escape only right after a 'confirm S' step"),
    ("claude:\n  rescue: [sleep 1]\n", "claude: rescue[0]: 'sleep 1' is not a step"),
    ("claude:\n  rescue: [wait 99]\n", "claude: rescue[0]: 'wait 99' is not a step"),
    ("claude:\n  processes: ['two words']\n", "claude: processes: 'two words' is not a process or package name"),
    ("Claude:\n  lines: 3\n", "'Claude' is not a kind name"),
    ("none:\n  composer: null\n", "'none' is not a kind name"),
    ("claude: 3\n", "claude: its settings must be a mapping of keys, not 3"),
    ("- claude\n", "the agents file must map kind names to settings, not a list"),
    ("claude: [unclosed\n", "malformed YAML: "),
])
def test_errors_name_the_kind_and_key_in_one_line(env: dict[str, str], text: str, expected: str) -> None:
    path = write_user(env, text)
    with pytest.raises(ConfigError) as caught:
        load_agents(env)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_an_empty_user_file_changes_nothing(env: dict[str, str]) -> None:
    write_user(env, "# nothing yet\n")
    assert load_agents(env) == load_agents({"HOME": "/nonexistent"})


def test_a_folder_in_place_of_the_file_is_a_config_error(env: dict[str, str]) -> None:
    path = Path(env["XDG_CONFIG_HOME"]) / "tmms" / "agents.yml"
    path.mkdir(parents=True)
    with pytest.raises(ConfigError, match="not a file"):
        load_agents(env)


def test_agent_of_an_unknown_kind_says_the_nearest_and_the_known(env: dict[str, str]) -> None:
    with pytest.raises(UsageError) as caught:
        agent_of("claud", env)
    assert "unknown agent kind 'claud'; did you mean 'claude'?" in str(caught.value)
    assert "claude, codex, gemini, aider, opencode" in str(caught.value)
    with pytest.raises(UsageError, match=r"^unknown agent kind 'zzz'; known kinds"):
        agent_of("zzz", env)


def test_parse_step() -> None:
    assert parse_step("x", "confirm 0.3") == ("confirm", 0.3)
    assert parse_step("x", "wait 1") == ("wait", 1.0)
    assert parse_step("x", "C-j") == ("C-j", 0.0)
    with pytest.raises(ConfigError, match=re.escape("x: 'Tab' is not a step")):
        parse_step("x", "Tab")

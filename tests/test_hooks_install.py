"""tmms hooks install|uninstall: the agents' settings files merged and unmerged, on real files in a temporary HOME."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import TmuxServer, run_main, wait_until
from tmms import hook_settings as hs

OURS = hs.hook_command(sys.executable)
CLAUDE_EVENTS = ["SessionStart", "UserPromptSubmit", "Stop", "Notification"]
FOREIGN: dict[str, Any] = {
    "model": "opus",
    "permissions": {"allow": ["Bash(ls:*)"], "deny": []},
    "hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send 'done' — ✓"}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit.sh", "timeout": 5}]}],
    },
    "zeta": [1, 2.5, None, True],
}
SIMILAR = ["tmms hook stop", "tmms hooks", "echo tmms hook", "mytmms hook", "tmms -L work hook", "tmms-hook hook",
           "python3 -m tmms hook now", "python3 -m mytmms hook"]


class Home:
    """A temporary HOME and ``tmms`` run in it (in-process, or as a real process)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME")}
        self.env["HOME"] = str(root)

    def tmms(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_main(list(args), self.env)

    def process(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tmms", *args], env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)

    def path(self, agent: str) -> Path:
        return self.root / f".{agent}" / ("hooks.json" if agent == "codex" else "settings.json")

    def write(self, agent: str, data: Any, mode: int = 0o644) -> Path:
        path = self.path(agent)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2) + "\n", encoding="utf-8")
        path.chmod(mode)
        return path

    def read(self, agent: str) -> Any:
        return json.loads(self.path(agent).read_text(encoding="utf-8"))


@pytest.fixture
def user(tmp_path: Path) -> Home:
    (tmp_path / "user").mkdir()
    return Home(tmp_path / "user")


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert (proc.returncode, proc.stderr) == (0, ""), (proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


def refused(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == "" and proc.stderr.count("\n") == 1 and proc.stderr.startswith("tmms: error: ")
    return proc.stderr


def our_groups(data: Any, event: str) -> list[Any]:
    return [g for g in data["hooks"][event] if any(h.get("command") == OURS for h in g["hooks"])]


def handler(timeout: int = 10) -> dict[str, Any]:
    return {"type": "command", "command": OURS, "timeout": timeout}


# -- install ------------------------------------------------------------------------------------------


def test_install_into_a_missing_file_creates_it_private_with_every_event(user: Home) -> None:
    out = ok(user.process("hooks", "install", "claude"))
    path = user.path("claude")
    assert out.startswith(f"--- /dev/null\n+++ {path}\n")
    assert out.splitlines()[-1] == f"{path}: installed 5 tmms hook entries for claude (running sessions: restart them)"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = user.read("claude")
    assert list(data["hooks"]) == CLAUDE_EVENTS
    for event in ("SessionStart", "UserPromptSubmit", "Stop"):
        assert data["hooks"][event] == [{"hooks": [handler()]}]
    assert data["hooks"]["Notification"] == [{"matcher": "idle_prompt", "hooks": [handler()]},
                                             {"matcher": "permission_prompt", "hooks": [handler()]}]
    assert path.read_text(encoding="utf-8") == json.dumps(data, indent=2) + "\n"


def test_install_keeps_every_other_key_and_hook_in_order(user: Home) -> None:
    user.write("claude", FOREIGN)
    ok(user.tmms("hooks", "install", "claude"))
    data = user.read("claude")
    assert list(data) == list(FOREIGN) and data["model"] == "opus" and data["zeta"] == FOREIGN["zeta"]
    assert data["permissions"] == FOREIGN["permissions"]
    assert data["hooks"]["PreToolUse"] == FOREIGN["hooks"]["PreToolUse"]
    assert data["hooks"]["Stop"] == [*FOREIGN["hooks"]["Stop"], {"hooks": [handler()]}]
    assert list(data["hooks"]) == ["Stop", "PreToolUse", "SessionStart", "UserPromptSubmit", "Notification"]
    assert "notify-send 'done' — ✓" in user.path("claude").read_text(encoding="utf-8")  # not \u-escaped


def test_a_second_install_changes_nothing_and_says_so(user: Home) -> None:
    user.write("claude", FOREIGN)
    ok(user.tmms("hooks", "install", "claude"))
    before = user.path("claude").stat()
    text = user.path("claude").read_text(encoding="utf-8")
    out = ok(user.tmms("hooks", "install", "claude"))
    assert out == f"{user.path('claude')}: the tmms hooks for claude are installed already; nothing changed\n"
    after = user.path("claude").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert user.path("claude").read_text(encoding="utf-8") == text


def test_install_replaces_an_older_tmms_entry_instead_of_adding_a_second(user: Home) -> None:
    old = {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "tmms hook"}]},
                              {"hooks": [{"type": "command", "command": "say bye"},
                                         {"type": "command", "command": "/old/venv/bin/tmms hook"}]}]}}
    user.write("claude", old)
    ok(user.tmms("hooks", "install", "claude"))
    assert user.read("claude")["hooks"]["Stop"] == [{"hooks": [{"type": "command", "command": "say bye"}]},
                                                     {"hooks": [handler()]}]


def test_the_file_keeps_its_mode(user: Home) -> None:
    user.write("claude", FOREIGN, mode=0o640)
    ok(user.tmms("hooks", "install", "claude"))
    assert stat.S_IMODE(user.path("claude").stat().st_mode) == 0o640
    ok(user.tmms("hooks", "uninstall", "claude"))
    assert stat.S_IMODE(user.path("claude").stat().st_mode) == 0o640


def test_a_symlinked_settings_file_is_written_through_the_link(user: Home, tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "claude.json"
    target.parent.mkdir()
    target.write_text(json.dumps(FOREIGN))
    user.path("claude").parent.mkdir()
    user.path("claude").symlink_to(target)
    ok(user.tmms("hooks", "install", "claude"))
    assert user.path("claude").is_symlink()
    assert json.loads(target.read_text())["hooks"]["Stop"][-1] == {"hooks": [handler()]}


def test_gemini_gets_its_events_with_timeouts_in_milliseconds(user: Home) -> None:
    ok(user.tmms("hooks", "install", "gemini"))
    data = user.read("gemini")
    assert list(data["hooks"]) == ["SessionStart", "BeforeAgent", "AfterAgent"]
    for event in data["hooks"]:
        assert data["hooks"][event] == [{"hooks": [{"name": "tmms", "type": "command", "command": OURS,
                                                    "timeout": 10000}]}]
    ok(user.tmms("hooks", "uninstall", "gemini"))
    assert user.read("gemini") == {}


def test_project_scope_writes_the_projects_file_only(user: Home, tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    for agent, name in (("claude", "settings.json"), ("codex", "hooks.json"), ("gemini", "settings.json")):
        out = ok(user.tmms("hooks", "install", agent, "--project", str(project)))
        assert json.loads((project / f".{agent}" / name).read_text())["hooks"]
        assert f"{project / f'.{agent}' / name}: installed" in out
    assert not list(user.root.iterdir())
    assert not (user.root / ".codex").exists()  # the feature flag is the user's: said, not set
    ok(user.tmms("hooks", "uninstall", "claude", "--project", str(project)))
    assert json.loads((project / ".claude" / "settings.json").read_text()) == {}


def test_the_user_scope_follows_claude_config_dir_and_codex_home(user: Home, tmp_path: Path) -> None:
    user.env.update(CLAUDE_CONFIG_DIR=str(tmp_path / "cc"), CODEX_HOME=str(tmp_path / "cx"))
    ok(user.tmms("hooks", "install", "claude", "--user"))
    ok(user.tmms("hooks", "install", "codex", "--yes"))
    assert (tmp_path / "cc" / "settings.json").is_file() and (tmp_path / "cx" / "hooks.json").is_file()
    assert "codex_hooks = true" in (tmp_path / "cx" / "config.toml").read_text()
    assert not list(user.root.iterdir())


# -- dry run, refusals ----------------------------------------------------------------------------------


def test_dry_run_prints_the_diff_and_writes_nothing(user: Home) -> None:
    out = ok(user.tmms("hooks", "install", "claude", "--dry-run"))
    assert "+++ " in out and f'"command": "{OURS}"' in out and out.endswith("dry run: nothing written\n")
    assert not user.path("claude").exists()
    user.write("claude", FOREIGN)
    ok(user.tmms("hooks", "install", "claude"))
    text = user.path("claude").read_text()
    out = ok(user.tmms("hooks", "uninstall", "claude", "--dry-run"))
    assert f'-            "command": "{OURS}",' in out and out.endswith("dry run: nothing written\n")
    assert user.path("claude").read_text() == text


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"text"', '{"hooks": []}', '{"hooks": {"Stop": {}}}',
                                  '{"a": 1} trailing'])
def test_a_file_that_is_not_a_json_object_is_refused_and_left_alone(user: Home, text: str) -> None:
    path = user.write("claude", text, mode=0o600)
    line = refused(user.tmms("hooks", "install", "claude"), 3)
    assert str(path) in line and "nothing was changed" in line
    assert path.read_text() == text and [p.name for p in path.parent.iterdir()] == ["settings.json"]


def test_an_empty_file_is_an_empty_object(user: Home) -> None:
    user.write("claude", "\n")
    ok(user.tmms("hooks", "install", "claude"))
    assert list(user.read("claude")) == ["hooks"]


@pytest.mark.parametrize("args", [("install", "aider"), ("install",), ("remove", "claude"),
                                  ("install", "claude", "--user", "--project", "."),
                                  ("uninstall", "claude", "--yes")])
def test_usage_errors_exit_2(user: Home, args: tuple[str, ...]) -> None:
    proc = user.tmms("hooks", *args)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    if args == ("install", "aider"):
        assert "aider" in proc.stderr and all(name in proc.stderr for name in ("claude", "codex", "gemini"))


def test_a_missing_project_folder_is_a_usage_error(user: Home, tmp_path: Path) -> None:
    line = refused(user.tmms("hooks", "install", "claude", "--project", str(tmp_path / "nope")), 2)
    assert "no such folder" in line


def test_a_settings_folder_in_the_files_place_is_refused(user: Home) -> None:
    user.path("claude").mkdir(parents=True)
    assert "is a folder" in refused(user.tmms("hooks", "install", "claude"), 3)


# -- uninstall ----------------------------------------------------------------------------------------


def test_uninstall_removes_exactly_ours_and_similar_foreign_commands_stay(user: Home) -> None:
    similar = [{"type": "command", "command": c} for c in SIMILAR]
    mixed = {"matcher": "", "hooks": [similar[0], {"type": "command", "command": OURS, "timeout": 10}]}
    original = {**FOREIGN,
                "hooks": {**FOREIGN["hooks"], "SubagentStop": [{"hooks": similar}], "Notification": [mixed]}}
    user.write("claude", original)
    ok(user.tmms("hooks", "install", "claude"))
    out = ok(user.tmms("hooks", "uninstall", "claude"))
    assert out.endswith(f"{user.path('claude')}: removed the tmms hook entries\n")
    data = user.read("claude")
    kept = {"matcher": "", "hooks": [similar[0]]}
    assert data == {**original, "hooks": {**original["hooks"], "Notification": [kept]}}
    assert list(data["hooks"]) == list(original["hooks"])
    out = ok(user.tmms("hooks", "uninstall", "claude"))
    assert out == f"{user.path('claude')}: no tmms hook entries; nothing changed\n"


def test_install_then_uninstall_gives_the_same_data_back(user: Home) -> None:
    for agent in ("claude", "codex", "gemini"):
        user.write(agent, FOREIGN)
        ok(user.tmms("hooks", "install", agent))
        ok(user.tmms("hooks", "uninstall", agent))
        assert user.read(agent) == FOREIGN


def test_uninstall_of_a_missing_file_changes_nothing(user: Home) -> None:
    assert ok(user.tmms("hooks", "uninstall", "codex")).endswith("no tmms hook entries; nothing changed\n")
    assert not user.path("codex").exists()


def test_which_commands_are_ours() -> None:
    for command in ("tmms hook", "/usr/local/bin/tmms hook", "'/my dir/bin/tmms' hook", "python3 -m tmms hook",
                    "/usr/bin/python3.12 -m tmms hook", OURS):
        assert hs.is_ours(command), command
    others: list[object] = [*SIMILAR, "", "tmms", "hook", "tmms 'hook", None, 7]
    for other in others:
        assert not hs.is_ours(other), other


def test_the_command_is_the_script_beside_the_interpreter_else_python_m(tmp_path: Path) -> None:
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    python = tmp_path / "venv" / "bin" / "python3"
    assert hs.hook_command(str(python)) == f"{python} -m tmms hook"
    script = tmp_path / "venv" / "bin" / "tmms"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert hs.hook_command(str(python)) == f"{script} hook"
    spaced = tmp_path / "my venv" / "python3"
    assert hs.hook_command(str(spaced)) == f"{shlex.quote(str(spaced))} -m tmms hook"
    assert hs.is_ours(hs.hook_command(str(spaced)))


def test_the_python_m_command_runs_as_a_hook(tmp_path: Path) -> None:
    command = f"{shlex.quote(sys.executable)} -m tmms hook"
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    proc = subprocess.run(["/bin/sh", "-c", command], input='{"hook_event_name": "Stop"}', capture_output=True,
                          text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")  # outside tmux: nothing to say


# -- Codex's feature flag -------------------------------------------------------------------------------


def config(user: Home) -> Path:
    return user.root / ".codex" / "config.toml"


def test_codex_without_yes_and_no_terminal_says_the_flag_is_needed(user: Home) -> None:
    out = ok(user.process("hooks", "install", "codex"))
    assert f"Codex runs hooks only with '[features] codex_hooks = true' in {config(user)}." in out
    assert "run this again with --yes" in out
    assert out.index(f"+++ {user.path('codex')}\n") < out.index("Codex runs hooks") < out.index("installed 3")
    assert user.path("codex").is_file() and not config(user).exists()


def test_codex_yes_creates_the_config_with_the_flag(user: Home) -> None:
    out = ok(user.process("hooks", "install", "codex", "--yes"))
    assert config(user).read_text() == "[features]\ncodex_hooks = true\n"
    assert stat.S_IMODE(config(user).stat().st_mode) == 0o600
    assert f"set [features] codex_hooks = true in {config(user)}" in out
    assert f"+++ {config(user)}\n" in out


@pytest.mark.parametrize(("before", "after"), [
    ('model = "o3"\n\n[features]\nother = 1\n\n[tools]\nweb = true\n',
     'model = "o3"\n\n[features]\ncodex_hooks = true\nother = 1\n\n[tools]\nweb = true\n'),
    ('model = "o3"  # mine\n[features]\ncodex_hooks = false\n[x]\ny = 1',
     'model = "o3"  # mine\n[features]\ncodex_hooks = true\n[x]\ny = 1\n'),
    ('# only a comment\n[profiles.a]\nmodel = "x"\n',
     '# only a comment\n[profiles.a]\nmodel = "x"\n\n[features]\ncodex_hooks = true\n'),
])
def test_codex_yes_edits_the_config_text_and_keeps_the_rest(user: Home, before: str, after: str) -> None:
    config(user).parent.mkdir()
    config(user).write_text(before)
    config(user).chmod(0o644)
    ok(user.tmms("hooks", "install", "codex", "--yes"))
    assert config(user).read_text() == after
    assert stat.S_IMODE(config(user).stat().st_mode) == 0o644


def test_codex_flag_already_on_is_kept(user: Home) -> None:
    config(user).parent.mkdir()
    config(user).write_text("[features]\ncodex_hooks = true  # on\n")
    out = ok(user.tmms("hooks", "install", "codex", "--yes"))
    assert f"{config(user)}: [features] codex_hooks = true is set" in out
    assert config(user).read_text() == "[features]\ncodex_hooks = true  # on\n"


@pytest.mark.parametrize("text", ["[features\ncodex_hooks = true\n", "features.codex_hooks = false\n",
                                  "features = { other = 1 }\n"])
def test_codex_yes_refuses_a_config_it_cannot_edit_and_writes_nothing(user: Home, text: str) -> None:
    config(user).parent.mkdir()
    config(user).write_text(text)
    line = refused(user.tmms("hooks", "install", "codex", "--yes"), 3)
    assert str(config(user)) in line
    assert config(user).read_text() == text and not user.path("codex").exists()


def test_codex_malformed_config_without_yes_is_a_warning_and_the_hooks_are_installed(user: Home) -> None:
    config(user).parent.mkdir()
    config(user).write_text("[features\n")
    proc = user.tmms("hooks", "install", "codex")
    assert proc.returncode == 0 and proc.stderr.startswith("tmms: warning: ") and "not valid TOML" in proc.stderr
    assert "Add it by hand" in proc.stdout
    assert user.path("codex").is_file() and config(user).read_text() == "[features\n"


def test_codex_dry_run_with_yes_shows_both_diffs_and_writes_nothing(user: Home) -> None:
    out = ok(user.tmms("hooks", "install", "codex", "--yes", "--dry-run"))
    assert f"+++ {user.path('codex')}\n" in out and f"+++ {config(user)}\n" in out and "+codex_hooks = true\n" in out
    assert not (user.root / ".codex").exists()


def test_codex_asks_on_a_terminal(tmux_server: TmuxServer, user: Home) -> None:
    pane = tmux_server.new_pane()
    done = user.root.parent / "done"
    paths = os.pathsep.join(os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in (("HOME", str(user.root)), ("PYTHONPATH", paths)))
    line = f"env {env} {shlex.quote(sys.executable)} -m tmms hooks install codex; echo $? > {done}"
    tmux_server.tmux("send-keys", "-t", pane, "-l", line)
    tmux_server.tmux("send-keys", "-t", pane, "Enter")
    wait_until(lambda: "[y/N]" in tmux_server.tmux("capture-pane", "-p", "-t", pane), timeout=30)
    tmux_server.tmux("send-keys", "-t", pane, "-l", "y")
    tmux_server.tmux("send-keys", "-t", pane, "Enter")
    wait_until(done.exists, timeout=30)
    wait_until(lambda: done.read_text().strip(), timeout=10)
    assert done.read_text().strip() == "0"
    assert config(user).read_text() == "[features]\ncodex_hooks = true\n"


# -- end to end: the installed command, as the agent runs it ---------------------------------------


def test_the_installed_command_answers_a_stop_without_tmms_on_path(tmux_server: TmuxServer, user: Home) -> None:
    from datetime import UTC, datetime

    from tmms.message import compose

    ok(user.process("hooks", "install", "claude"))
    command = user.read("claude")["hooks"]["Stop"][-1]["hooks"][0]["command"]
    pane = tmux_server.register("beta")
    mail = compose("body\n", "alpha", "beta", "Review PR 7", moment=datetime(2026, 11, 30, 12, tzinfo=UTC))
    (pane.inbox / mail.file_name).write_text(mail.text, encoding="utf-8")
    socket = tmux_server.tmux("display-message", "-p", "#{socket_path},#{pid},0").strip()
    paths = os.pathsep.join(os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    env = {**tmux_server.env(pane.pane_id), "TMUX": socket, "PATH": "/usr/bin:/bin", "PYTHONPATH": paths}
    stop = json.dumps({"hook_event_name": "Stop", "stop_hook_active": False})
    proc = subprocess.run(["/bin/sh", "-c", command], input=stop, capture_output=True, text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")
    answer = json.loads(proc.stdout)
    assert answer["decision"] == "block" and '"Review PR 7"' in answer["reason"]
    ok(user.process("hooks", "uninstall", "claude"))
    assert user.read("claude") == {}

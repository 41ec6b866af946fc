"""``tmms register NAME --agent KIND`` and detection of the agent CLI that runs in a real pane;
``unregister`` and ``peers`` with the kind."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from conftest import TmuxServer, as_json, failed, ok, wait_until
from tmms.agents import load_agents
from tmms.detect import detect

SLEEPER = "import time\ntime.sleep(600)\n"


def pane_running(server: TmuxServer, *argv: str) -> str:
    """A new pane whose shell has started ``argv`` (a job of the pane's shell, as a person would)."""
    pane = server.new_pane()
    server.tmux("send-keys", "-t", pane, "-l", " ".join(argv))
    server.tmux("send-keys", "-t", pane, "Enter")
    pane_pid = int(server.tmux("display-message", "-p", "-t", pane, "#{pane_pid}"))
    agents = load_agents({"HOME": "/nonexistent"})
    wait_until(lambda: detect(pane_pid, agents) is not None)
    return pane


def program(folder: Path, name: str, text: str) -> Path:
    """An executable ``name`` in ``folder`` run by this Python through its #! line."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!{os.path.realpath(sys.executable)}\n{text}")
    path.chmod(0o755)
    return path


def register(server: TmuxServer, name: str, *extra: str, pane: str) -> tuple[dict[str, Any], str]:
    proc = server.tmms("register", name, "--json", "--no-server", *extra, pane=pane)
    report: dict[str, Any] = as_json(proc)
    return report, proc.stderr


def agent_option(server: TmuxServer, pane: str) -> str:
    return server.tmux("show-options", "-p", "-v", "-t", pane, "@tmms_agent", check=False).strip()


def test_a_claude_on_path_is_detected(tmux_server: TmuxServer, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    program(bin_dir, "claude", SLEEPER)
    pane = pane_running(tmux_server, f"PATH={bin_dir}:$PATH", "claude")
    report, stderr = register(tmux_server, "alpha", pane=pane)
    assert (report["agent"], report["agent_source"]) == ("claude", "detected")
    assert stderr.startswith(f"register: pane {pane} runs claude (process ")
    assert stderr.endswith(" 'claude'); set @tmms_agent claude\n")
    assert stderr.count("\n") == 1
    assert agent_option(tmux_server, pane) == "claude"


def test_a_node_wrapper_running_the_codex_package_is_detected(tmux_server: TmuxServer, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(os.path.realpath(sys.executable))
    script = tmp_path / "lib" / "node_modules" / "@openai" / "codex" / "bin" / "codex.js"
    script.parent.mkdir(parents=True)
    script.write_text(SLEEPER)
    pane = pane_running(tmux_server, str(bin_dir / "node"), str(script))
    report, stderr = register(tmux_server, "coder", pane=pane)
    assert report["agent"] == "codex"
    assert "runs codex (process " in stderr
    assert agent_option(tmux_server, pane) == "codex"


def test_a_package_path_alone_names_the_kind(tmux_server: TmuxServer, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(os.path.realpath(sys.executable))
    script = tmp_path / "lib" / "@google" / "gemini-cli" / "dist" / "index.js"
    script.parent.mkdir(parents=True)
    script.write_text(SLEEPER)
    pane = pane_running(tmux_server, str(bin_dir / "node"), "-S", str(script))
    report, stderr = register(tmux_server, "gem", pane=pane)
    assert report["agent"] == "gemini"
    assert stderr.endswith(" '@google/gemini-cli'); set @tmms_agent gemini\n")


def test_a_plain_shell_pane_is_no_agent(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    report, stderr = register(tmux_server, "plain", pane=pane)
    assert (report["agent"], report["agent_source"]) == ("", "")
    assert stderr == ""
    assert agent_option(tmux_server, pane) == ""
    text = ok(tmux_server.tmms("register", "plain", "--no-server", pane=pane))
    assert "agent" not in text


def test_agent_kind_is_set_kept_and_cleared(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    report, stderr = register(tmux_server, "alpha", "--agent", "gemini", pane=pane)
    assert (report["agent"], report["agent_source"], stderr) == ("gemini", "explicit", "")
    assert agent_option(tmux_server, pane) == "gemini"
    report, _ = register(tmux_server, "alpha", pane=pane)  # no agent runs here, but the explicit kind stays
    assert (report["agent"], report["agent_source"]) == ("gemini", "kept")
    text = ok(tmux_server.tmms("register", "alpha", "--no-server", pane=pane))
    assert "  agent   gemini (kept)" in text.splitlines()
    report, _ = register(tmux_server, "alpha", "--agent", "none", pane=pane)
    assert report["agent"] == ""
    assert agent_option(tmux_server, pane) == ""
    report, _ = register(tmux_server, "alpha", pane=pane)
    assert report["agent"] == ""


def test_a_detected_kind_goes_when_the_agent_is_gone(tmux_server: TmuxServer, tmp_path: Path) -> None:
    program(tmp_path / "bin", "codex", SLEEPER)
    pane = pane_running(tmux_server, str(tmp_path / "bin" / "codex"))
    assert register(tmux_server, "coder", pane=pane)[0]["agent"] == "codex"
    tmux_server.tmux("send-keys", "-t", pane, "C-c")
    pane_pid = int(tmux_server.tmux("display-message", "-p", "-t", pane, "#{pane_pid}"))
    agents = load_agents({"HOME": "/nonexistent"})
    wait_until(lambda: detect(pane_pid, agents) is None)
    report, stderr = register(tmux_server, "coder", pane=pane)
    assert report["agent"] == ""
    assert stderr == f"register: pane {pane} no longer runs codex; unset @tmms_agent\n"
    assert agent_option(tmux_server, pane) == ""


def test_an_unknown_kind_exits_2_with_the_nearest(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    line = failed(tmux_server.main("register", "alpha", "--no-server", "--agent", "claud", pane=pane), 2)
    assert line.startswith("tmms: error: unknown agent kind 'claud'; did you mean 'claude'? known kinds: claude, ")
    assert tmux_server.tmux("show-options", "-p", "-t", pane).strip() == ""  # the pane is untouched


def test_a_kind_of_the_users_file(tmux_server: TmuxServer, home: Path) -> None:
    path = home / ".config" / "tmms" / "agents.yml"
    path.parent.mkdir(parents=True)
    path.write_text("mycli:\n  composer: '^\\$ (?P<text>.*)$'\n")
    pane = tmux_server.new_pane()
    assert register(tmux_server, "alpha", "--agent", "mycli", pane=pane)[0]["agent"] == "mycli"


def test_errors_in_the_users_agents_file_exit_3_in_one_line(tmux_server: TmuxServer, home: Path) -> None:
    path = home / ".config" / "tmms" / "agents.yml"
    path.parent.mkdir(parents=True)
    path.write_text("claude:\n  busy: ['(unclosed']\n")
    pane = tmux_server.new_pane()
    for extra in ((), ("--agent", "claude")):
        proc = tmux_server.main("register", "alpha", "--no-server", *extra, pane=pane)
        line = failed(proc, 3)
        assert line.startswith(f"tmms: error: {path}: claude: busy[0]: bad regex '(unclosed': ")
    assert tmux_server.tmux("show-options", "-p", "-t", pane).strip() == ""
    # --agent none needs no agents file
    proc = tmux_server.main("register", "alpha", "--no-server", "--agent", "none", pane=pane)
    assert proc.returncode == 0, proc.stderr


def test_unregister_clears_the_kind(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    register(tmux_server, "alpha", "--agent", "codex", pane=pane)
    assert "  agent      codex" in ok(tmux_server.main("whoami", pane=pane)).splitlines()
    assert as_json(tmux_server.main("whoami", "--json", pane=pane))["agent"] == "codex"
    ok(tmux_server.main("unregister", "-t", pane))
    assert agent_option(tmux_server, pane) == ""
    assert tmux_server.tmux("show-options", "-p", "-t", pane).strip() == ""


def test_peers_shows_the_kind(tmux_server: TmuxServer) -> None:
    register(tmux_server, "alpha", "--agent", "claude", pane=tmux_server.new_pane())
    register(tmux_server, "beta", pane=tmux_server.new_pane())
    rows = {p["name"]: p for p in as_json(tmux_server.main("peers", "--json"))}
    assert (rows["alpha"]["agent"], rows["beta"]["agent"]) == ("claude", "")
    lines = ok(tmux_server.main("peers")).splitlines()
    alpha = next(line.split() for line in lines if line.split()[0] == "alpha")
    beta = next(line.split() for line in lines if line.split()[0] == "beta")
    assert alpha[3:5] == ["0", "claude"]  # then its state, in parentheses
    assert beta[3:] == ["0", "-", "-"]

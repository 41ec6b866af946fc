"""``tmms completion bash|zsh|fish`` and the hidden ``tmms __complete`` (issue #11); bash is run for real."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TmuxServer, as_json, failed, ok, wait_until
from tmms.cli import COMMANDS


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A folder with a ``tmms`` that runs this tree's tmms (the scripts call ``tmms`` from PATH)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "tmms"
    script.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m tmms \"$@\"\n")
    script.chmod(0o755)
    return folder


def _bash(server: TmuxServer, bin_dir: Path, words: list[str], pane: str | None = None) -> list[str]:
    """What bash offers for the last of ``words`` (``tmms`` first), with the printed script loaded."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    env = server.env(pane)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    array = " ".join(shlex.quote(w) for w in words)
    program = (f"source <(tmms completion bash)\ncomplete -p tmms\nCOMP_WORDS=({array})\n"
               f"COMP_CWORD={len(words) - 1}\n_tmms_complete\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                          env=env, timeout=60, cwd=server.root)
    assert proc.returncode == 0, proc.stderr
    first, *rest = proc.stdout.splitlines()
    assert first == "complete -o bashdefault -o default -F _tmms_complete tmms"
    return [line for line in rest if line]


def test_bash_completes_commands(tmux_server: TmuxServer, bin_dir: Path) -> None:
    assert _bash(tmux_server, bin_dir, ["tmms", ""]) == [*COMMANDS, "help"]
    assert _bash(tmux_server, bin_dir, ["tmms", "re"]) == [c for c in COMMANDS if c.startswith("re")]
    assert _bash(tmux_server, bin_dir, ["tmms", "-L", tmux_server.socket, "st"]) == ["status"]


def test_bash_completes_options_and_subcommands(tmux_server: TmuxServer, bin_dir: Path) -> None:
    assert _bash(tmux_server, bin_dir, ["tmms", "post", "--s"]) == ["--subject"]
    assert _bash(tmux_server, bin_dir, ["tmms", "server", ""]) == ["init", "logs", "restart", "start", "status", "stop"]
    assert _bash(tmux_server, bin_dir, ["tmms", "server", "stop", "--"]) == ["--help", "--kill", "--timeout"]
    assert _bash(tmux_server, bin_dir, ["tmms", "completion", ""]) == ["bash", "zsh", "fish"]
    assert _bash(tmux_server, bin_dir, ["tmms", "log", "--f"]) == ["--follow", "--from"]


def test_bash_completes_names_groups_and_files(tmux_server: TmuxServer, bin_dir: Path) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    tmux_server.tmux("set-option", "-p", "-t", alpha.pane_id, "@tmms_groups", "reviewers")
    words = ["tmms", "-L", tmux_server.socket, "post", "-t", ""]
    assert _bash(tmux_server, bin_dir, words) == ["alpha", "beta", "@reviewers"]
    assert _bash(tmux_server, bin_dir, [*words[:-1], "@"]) == ["@reviewers"]
    assert _bash(tmux_server, bin_dir, ["tmms", "-L", tmux_server.socket, "log", "--to", "b"]) == ["beta"]
    assert _bash(tmux_server, bin_dir, ["tmms", "-L", tmux_server.socket, "log", "--to", "=", "b"]) == ["beta"]
    (tmux_server.root / "body.md").write_text("x")
    assert _bash(tmux_server, bin_dir, ["tmms", "post", "bod"]) == ["body.md"]


def test_bash_completes_message_ids_of_this_pane(tmux_server: TmuxServer, bin_dir: Path) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    sent = as_json(tmux_server.tmms("post", "-t", "alpha", "-s", "Hi", "--json", pane=beta.pane_id, input="x\n"))
    short = sent["id"][:8] if isinstance(sent, dict) else sent[0]["id"][:8]
    for queued in alpha.outbox.parent.parent.glob("beta/outbox/*.md"):
        queued.rename(alpha.inbox / queued.name)  # delivered, as the server would
    words = ["tmms", "-L", tmux_server.socket, "read", ""]
    assert _bash(tmux_server, bin_dir, words, pane=alpha.pane_id) == [short]
    assert _bash(tmux_server, bin_dir, ["tmms", "-L", tmux_server.socket, "reply", short[:3]],
                 pane=alpha.pane_id) == [short]


def test_complete_is_quiet_without_a_tmux_server(home: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tmms", "-L", "tmms-test-none-here", "__complete", "3", "post", "-t",
                           ""], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and proc.stdout == "" and proc.stderr == ""


def test_complete_is_hidden_from_help(tmux_server: TmuxServer) -> None:
    assert "__complete" not in ok(tmux_server.tmms("--help"))
    assert "completion" in ok(tmux_server.tmms("--help"))


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_script_calls_the_hidden_command(tmux_server: TmuxServer, shell: str) -> None:
    script = ok(tmux_server.tmms("completion", shell))
    assert "tmms __complete" in script and ":files" in script
    if shell != "bash" and shutil.which(shell):
        proc = subprocess.run([shell, "-n"], input=script, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr


def test_completion_needs_a_known_shell(tmux_server: TmuxServer) -> None:
    assert "invalid choice: 'tcsh'" in failed(tmux_server.tmms("completion", "tcsh"), 2)
    assert "required: shell" in failed(tmux_server.tmms("completion"), 2)


def test_complete_with_a_bad_word_index_exits_2(tmux_server: TmuxServer) -> None:
    proc = tmux_server.tmms("__complete", "x")
    assert proc.returncode == 2 and proc.stdout == ""


def test_bash_completes_dead_letter_ids_for_dead(tmux_server: TmuxServer, bin_dir: Path) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.start_server(recipient_grace_seconds=0)
    sent = as_json(tmux_server.tmms("post", "-t", "ghost", "-s", "Lost", "--json", pane=alpha.pane_id, input="x\n"))
    short = (sent["id"] if isinstance(sent, dict) else sent[0]["id"])[:8]
    wait_until(lambda: any((tmux_server.root / "dead").glob("*.md")))
    words = ["tmms", "-L", tmux_server.socket, "dead", "show", ""]
    assert _bash(tmux_server, bin_dir, words, pane=alpha.pane_id) == [short]


def _shell_env(server: TmuxServer, bin_dir: Path, shell: str) -> dict[str, str]:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    env = server.env()
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return env


def test_fish_completes_for_real(tmux_server: TmuxServer, bin_dir: Path) -> None:
    env = _shell_env(tmux_server, bin_dir, "fish")
    tmux_server.register("alpha")
    program = (f"tmms completion fish | source\ncomplete -C 'tmms server st'\necho ==\n"
               f"complete -C 'tmms -L {tmux_server.socket} post -t al'\necho ==\ncomplete -C 'tmms completion '\n")
    proc = subprocess.run(["fish", "--no-config", "-c", program], capture_output=True, text=True, env=env,
                          timeout=60, cwd=tmux_server.root)
    assert proc.returncode == 0, proc.stderr
    servers, names, shells = (part.split() for part in proc.stdout.split("==\n"))
    assert servers == ["start", "status", "stop"] and names == ["alpha"] and shells == ["bash", "fish", "zsh"]


def test_zsh_script_offers_the_candidates(tmux_server: TmuxServer, bin_dir: Path) -> None:
    """zsh's compadd works only inside its completion system: stand-ins print what the script offers."""
    env = _shell_env(tmux_server, bin_dir, "zsh")
    program = ("compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -l -- \"$@\"; }\n"
               "_files() { print FILES; }\nsource <(tmms completion zsh)\n"
               "words=(tmms server st); CURRENT=3; _tmms\nprint SPLIT\n"
               "words=(tmms post bo); CURRENT=3; _tmms\n")
    proc = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    subcommands, files = proc.stdout.split("SPLIT\n")
    assert subcommands.split() == ["init", "logs", "restart", "start", "status", "stop"]
    assert files == "FILES\n"


def test_bash_completes_panes_kinds_and_events(tmux_server: TmuxServer, bin_dir: Path) -> None:
    pane = tmux_server.new_pane()
    lead = ["tmms", "-L", tmux_server.socket]
    assert pane in _bash(tmux_server, bin_dir, [*lead, "inbox", "--pane", "%"])
    assert _bash(tmux_server, bin_dir, [*lead, "register", "x", "--agent", "cl"]) == ["claude"]
    assert _bash(tmux_server, bin_dir, [*lead, "register", "x", "--agent", "no"]) == ["none"]
    assert _bash(tmux_server, bin_dir, [*lead, "log", "--event", "dead"]) == ["dead-lettered"]


def test_names_with_control_characters_or_spaces_are_never_offered(tmux_server: TmuxServer, bin_dir: Path) -> None:
    tmux_server.register("alpha")
    for name in ("al\x1b[2Jx", "al pha"):
        pane = tmux_server.register("placeholder").pane_id
        tmux_server.tmux("set-option", "-p", "-t", pane, "@tmms_name", name)
    proc = tmux_server.tmms("__complete", "3", "post", "-t", "al")
    assert proc.returncode == 0 and proc.stdout == "alpha\n"

"""Errors that say what to do next (issue #11): "did you mean" for commands, choices and config keys; the
register command in every "not registered" error."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import TmuxServer, failed
from tmms import config
from tmms.errors import ConfigError


@pytest.mark.parametrize(("word", "near"), [("stauts", "status"), ("inbx", "inbox"), ("regster", "register"),
                                             ("serve", "server"), ("hlep", "help")])
def test_an_unknown_command_names_the_nearest(tmux_server: TmuxServer, word: str, near: str) -> None:
    line = failed(tmux_server.main(word), 2)
    assert line == f"tmms: error: unknown command '{word}'; did you mean '{near}'?"


def test_an_unknown_command_with_nothing_near(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.tmms("xyzzy", "--json"), 2)
    assert line == "tmms: error: unknown command 'xyzzy' (see 'tmms --help')"


def test_an_unknown_command_after_global_options(tmux_server: TmuxServer) -> None:
    assert failed(tmux_server.main("stauts", "abc"), 2).endswith("did you mean 'status'?")


def test_an_unknown_subcommand_names_the_nearest(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.main("server", "stpo"), 2)
    assert "invalid choice: 'stpo'; did you mean 'stop'?" in line
    line = failed(tmux_server.main("dead", "lst"), 2)
    assert line == "tmms: error: argument action: invalid choice: 'lst'; did you mean 'list'? (see 'tmms dead --help')"


def test_an_invalid_choice_with_nothing_near_lists_the_choices(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.main("completion", "powershell"), 2)
    assert line == ("tmms: error: argument shell: invalid choice: 'powershell'; choose from bash, zsh, fish "
                    "(see 'tmms completion --help')")


def test_an_unknown_option_names_the_commands_nearest(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.main("post", "--subjet", "Hi"), 2)
    assert line == "tmms: error: unrecognized arguments: --subjet; did you mean '--subject'? (see 'tmms --help')"
    line = failed(tmux_server.main("log", "--form=alpha"), 2)
    assert line == "tmms: error: unrecognized arguments: --form=alpha; did you mean '--from'? (see 'tmms --help')"
    line = failed(tmux_server.main("inbox", "--zzz"), 2)
    assert line == "tmms: error: unrecognized arguments: --zzz (see 'tmms --help')"


def test_help_of_an_unknown_topic_still_exits_2(tmux_server: TmuxServer) -> None:
    assert failed(tmux_server.main("help", "nope"), 2) == "tmms: error: no command 'nope'"
    assert failed(tmux_server.main("help", "stauts"), 2) == "tmms: error: no command 'stauts'; did you mean 'status'?"


# -- config keys ----------------------------------------------------------------------------------


def _parse(text: str, tmp_path: Path) -> config.Config:
    return config.parse(text.encode(), "/cfg/config.yml", {"HOME": str(tmp_path)})


@pytest.mark.parametrize(("key", "near"), [("polling_intervall", "polling_interval"),
                                           ("dead_letter", "dead_letter_dir"),
                                           ("notify_concurency", "notify_concurrency"),
                                           ("max_msg_bytes", "max_message_bytes")])
def test_a_near_miss_config_key_is_an_error_naming_the_key(tmp_path: Path, key: str, near: str) -> None:
    with pytest.raises(ConfigError) as info:
        _parse(f"{key}: 5\n", tmp_path)
    assert str(info.value) == f"/cfg/config.yml: unknown key '{key}'; did you mean '{near}'?"


def test_a_far_key_stays_a_warning(tmp_path: Path) -> None:
    assert _parse("notify_cmd: x\n", tmp_path).warnings == ("/cfg/config.yml: unknown key 'notify_cmd' ignored",)


def test_the_server_refuses_a_near_miss_key_with_exit_3(tmux_server: TmuxServer) -> None:
    path = tmux_server.root / "typo.yml"
    path.write_text("poling_interval: 5\n")
    line = failed(tmux_server.tmms("server", "-c", str(path)), 3)
    assert line == f"tmms: error: {path}: unknown key 'poling_interval'; did you mean 'polling_interval'?"


# -- not registered -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["inbox"], ["whoami"], ["read", "--next"]])
def test_not_registered_shows_the_register_command(tmux_server: TmuxServer, command: list[str]) -> None:
    pane = tmux_server.new_pane()
    line = failed(tmux_server.tmms(*command, pane=pane), 5)
    assert line.startswith(f"tmms: error: pane {pane} is not a tmms mailbox: missing @tmms_enabled")
    assert line.endswith(f"; make it one with 'tmms register NAME --pane {pane}'")


def test_the_register_command_shown_works(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    line = failed(tmux_server.tmms("inbox", pane=pane), 5)
    shown = line.rsplit("make it one with '", 1)[1].rstrip("'")
    argv = shown.split()[1:]  # after 'tmms'
    argv[argv.index("NAME")] = "alpha"
    proc = tmux_server.tmms(*argv, "--no-server")
    assert proc.returncode == 0, proc.stderr
    assert tmux_server.tmux("show-options", "-p", "-v", "-t", pane, "@tmms_name").strip() == "alpha"

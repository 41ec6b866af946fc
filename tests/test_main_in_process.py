"""``tmux_server.main`` (in this process) answers exactly as ``tmux_server.tmms`` (a subprocess) does."""

from __future__ import annotations

import os
import sys
from typing import NamedTuple

import pytest

from conftest import TmuxServer


class Case(NamedTuple):
    test_id: str
    args: list[str]
    in_pane: bool = False
    input: str = ""


CASES = [
    Case("unknown-option", ["post", "--bogus"]),
    Case("outside-tmux", ["whoami"]),
    Case("unregistered-pane", ["inbox"], in_pane=True),
    Case("bad-action", ["dead", "frobnicate"]),
    Case("no-recipient", ["post"], in_pane=True, input="hi\n"),
    Case("help-of-a-command", ["help", "post"]),
    Case("help-option", ["read", "--help"]),
    Case("version", ["--version"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_in_process_and_subprocess_give_the_same_exit_code_and_output(tmux_server: TmuxServer, case: Case) -> None:
    pane = tmux_server.new_pane() if case.in_pane else None
    child = tmux_server.tmms(*case.args, pane=pane, input=case.input)
    here = tmux_server.main(*case.args, pane=pane, input=case.input)
    assert (here.returncode, here.stdout, here.stderr) == (child.returncode, child.stdout, child.stderr)


def test_main_leaves_the_environment_and_streams_as_they_were(tmux_server: TmuxServer) -> None:
    before = (dict(os.environ), sys.stdin, sys.stdout, sys.stderr)
    tmux_server.main("whoami", pane=tmux_server.new_pane())
    assert (dict(os.environ), sys.stdin, sys.stdout, sys.stderr) == before

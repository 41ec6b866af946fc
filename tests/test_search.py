"""tmms search TEXT: subject and body, any case, across unread, read, archived and sent mail; bounded reads that hostile
files never hang; every error one line and its exit code. Real tmux, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Pane, TmuxServer, as_json, failed, ok
from tmms.search import SEARCH_BYTES


def send(server: TmuxServer, sender: Pane, to: Pane, subject: str, text: str) -> Path:
    """Post from ``sender`` and do the server's job by hand: the file in ``to``'s inbox."""
    path = Path(ok(server.tmms("post", "-t", to.name, "-s", subject, pane=sender.pane_id, input=text)).strip())
    target = to.inbox / path.name
    os.rename(path, target)
    return target


@pytest.fixture
def mail(tmux_server: TmuxServer) -> tuple[Pane, Pane]:
    """alpha and beta: beta has one read and two unread messages, and a sent one."""
    alpha, beta = tmux_server.register("alpha"), tmux_server.register("beta")
    first = send(tmux_server, alpha, beta, "Deploy plan", "We ship on Friday.\n")
    send(tmux_server, alpha, beta, "Lunch", "The DEPLOY party is at noon.\n")
    send(tmux_server, alpha, beta, "Other", "nothing to see\n")
    ok(tmux_server.tmms("read", first.name.rsplit("_", 1)[1][:8], pane=beta.pane_id))
    ok(tmux_server.tmms("post", "-t", "alpha", "-s", "Re: plans", pane=beta.pane_id, input="deploy is fine by me\n"))
    return alpha, beta


def test_search_finds_subject_and_body_in_any_case_across_folders(tmux_server: TmuxServer,
                                                                  mail: tuple[Pane, Pane]) -> None:
    _, beta = mail
    found = as_json(tmux_server.tmms("search", "deploy", "--json", pane=beta.pane_id))
    assert [(m["subject"], m["state"]) for m in found] == [("Deploy plan", "read"), ("Lunch", "unread"),
                                                           ("Re: plans", "sent")]
    lines = ok(tmux_server.tmms("search", "DePloY", pane=beta.pane_id)).splitlines()
    assert lines[0].split() == ["ID", "STATE", "AGE", "FROM", "SUBJECT", "THREAD"]
    assert [line.split()[1] for line in lines[1:]] == ["read", "unread", "sent"]


def test_search_in_some_folders_and_with_filters(tmux_server: TmuxServer, mail: tuple[Pane, Pane]) -> None:
    _, beta = mail

    def subjects(*args: str) -> list[str]:
        return [m["subject"] for m in as_json(tmux_server.tmms("search", "deploy", *args, "--json",
                                                               pane=beta.pane_id))]

    assert subjects("--in", "inbox") == ["Lunch"]
    assert subjects("--in", "read,sent") == ["Deploy plan", "Re: plans"]
    assert subjects("--from", "alpha") == ["Deploy plan", "Lunch"]
    assert subjects("--subject", "plan") == ["Deploy plan", "Re: plans"]
    assert subjects("--since", "1h", "--in", "sent") == ["Re: plans"]


def test_search_without_a_match_exits_1(tmux_server: TmuxServer, mail: tuple[Pane, Pane]) -> None:
    _, beta = mail
    proc = tmux_server.tmms("search", "zanzibar", pane=beta.pane_id)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "")
    proc = tmux_server.tmms("search", "zanzibar", "--json", pane=beta.pane_id)
    assert (proc.returncode, json.loads(proc.stdout)) == (1, [])
    proc = tmux_server.tmms("search", "alpha", pane=beta.pane_id)  # a name in the front matter only
    assert proc.returncode == 1


@pytest.mark.parametrize("args, message", [
    (["search", "x", "--in", "outbox"], "tmms: error: --in: 'outbox' is not a folder (inbox, read, archive, sent)"),
    (["search", "x", "--in", ","], "tmms: error: --in: ',' is not a folder (inbox, read, archive, sent)"),
    (["search", "  "], "tmms: error: give some TEXT to search for"),
    (["search", "x", "--since", "soon"], "tmms: error: --since: 'soon' is not an age such as 90s, 10m, 2h, 3d, 2w"),
])
def test_search_errors_are_one_line_and_exit_2(tmux_server: TmuxServer, mail: tuple[Pane, Pane], args: list[str],
                                               message: str) -> None:
    _, beta = mail
    assert failed(tmux_server.tmms(*args, pane=beta.pane_id), 2) == message


def test_search_outside_a_registered_pane_exits_5(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.tmms("search", "x", pane=tmux_server.new_pane()), 5)
    assert "tmms register" in line or "not registered" in line or "not a tmms mailbox" in line


def test_hostile_files_never_hang_a_search(tmux_server: TmuxServer, mail: tuple[Pane, Pane]) -> None:
    alpha, beta = mail
    os.mkfifo(beta.inbox / "20260101-000000_x_to_beta_fifo0000.md")  # a reader that opened it would block
    os.symlink("/dev/zero", beta.inbox / "20260101-000000_x_to_beta_zero0000.md")
    big = send(tmux_server, alpha, beta, "Big", "x" * (SEARCH_BYTES + 10) + " needle-far\n")
    near = send(tmux_server, alpha, beta, "Near \x1b]52;c;aGk=\x07 \u202e", "needle-near\n")
    proc = subprocess.run([sys.executable, "-m", "tmms", "-L", tmux_server.socket, "search", "needle"],
                          capture_output=True, text=True, env=tmux_server.env(beta.pane_id), timeout=20)
    lines = ok(proc).splitlines()
    assert len(lines) == 2 and near.name.rsplit("_", 1)[1][:8] in lines[1]  # read bounded: the far one is not seen
    assert "\x1b" not in proc.stdout and "\u202e" not in proc.stdout and "^[" in proc.stdout  # shown visibly
    assert big.exists()
    found = as_json(tmux_server.tmms("search", "needle", "--json", pane=beta.pane_id))
    assert [m["path"] for m in found] == [str(near)]


def test_search_looks_in_archived_mail_too(tmux_server: TmuxServer, mail: tuple[Pane, Pane]) -> None:
    _, beta = mail
    (lunch,) = as_json(tmux_server.tmms("search", "party", "--json", pane=beta.pane_id))
    os.makedirs(beta.inbox / "archive")
    os.rename(lunch["path"], beta.inbox / "archive" / Path(lunch["path"]).name)  # as tmms archive does
    (found,) = as_json(tmux_server.tmms("search", "party", "--json", pane=beta.pane_id))
    assert (found["state"], found["folder"]) == ("archived", "archive")
    assert tmux_server.tmms("search", "party", "--in", "inbox,read,sent", pane=beta.pane_id).returncode == 1

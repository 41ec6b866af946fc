"""Mail management (issue #11): ``tmms archive`` and ``tmms unread``, ``reply`` marking the original read,
and ``@tmms_unread`` exact after every read, archive and unread tmms does; inbox/archive/ is guarded
like inbox/read/ (never an outbox); the unread count in the status line (``bind --install --status``);
the alert naming the recipient pane for ``alert_seconds``; register's ``--pane`` (``-t`` hidden),
``--group`` adding and ``--set-groups`` replacing. Real tmux, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import Pane, TmuxServer, failed, messages, ok, wait_until
from tmms.alert import RECIPIENT, alert_seconds, alert_text
from tmms.config import load
from tmms.errors import ConfigError
from tmms.keys import STATUS_SEGMENT, config_lines
from tmms.message import compose
from tmms.registration import FolderClash, check_folders
from tmms.registry import Folders, Registry, registration_problem
from tmms.tmux import OPTION_NAMES, PaneRecord

NO_SUCH_MESSAGE = 11


def letter(to: Pane, subject: str, sender: str = "alpha", minute: int = 0) -> Path:
    """A message from ``sender`` delivered straight into ``to``'s inbox, written at ``minute`` past noon."""
    moment = datetime(2026, 11, 30, 12, minute, tzinfo=UTC)
    composed = compose(f"about {subject}\n", sender, to.name, subject, moment=moment)
    path = to.inbox / composed.file_name
    path.write_text(composed.text, encoding="utf-8")
    return path


def short(path: Path) -> str:
    """The eight hex digits of a message file's name."""
    return path.stem.rsplit("_", 1)[-1][:8]


def unread_option(server: TmuxServer, pane: Pane) -> str:
    return server.tmux("show-options", "-p", "-v", "-t", pane.pane_id, "@tmms_unread", check=False).strip()


@pytest.fixture
def beta(tmux_server: TmuxServer) -> Pane:
    tmux_server.register("alpha")
    return tmux_server.register("beta")


def test_archive_moves_unread_and_read_mail_into_inbox_archive(tmux_server: TmuxServer, beta: Pane) -> None:
    first, second = letter(beta, "one"), letter(beta, "two")
    ok(tmux_server.tmms("read", short(second), pane=beta.pane_id))
    out = ok(tmux_server.tmms("archive", short(first), short(second), pane=beta.pane_id))
    assert out.splitlines() == [f"archived {short(first)} (one)", f"archived {short(second)} (two)"]
    assert sorted(p.name for p in (beta.inbox / "archive").iterdir()) == sorted([first.name, second.name])
    assert messages(beta.inbox) == [] and list((beta.inbox / "read").iterdir()) == []
    assert unread_option(tmux_server, beta) == "0"
    listed = ok(tmux_server.tmms("inbox", "--all", "--json", pane=beta.pane_id))
    assert json.loads(listed) == []  # archived mail leaves the inbox lists


def test_unread_brings_mail_back_from_read_and_from_archive(tmux_server: TmuxServer, beta: Pane) -> None:
    first, second = letter(beta, "one"), letter(beta, "two")
    ok(tmux_server.tmms("read", short(first), pane=beta.pane_id))
    ok(tmux_server.tmms("archive", short(second), pane=beta.pane_id))
    assert unread_option(tmux_server, beta) == "0"
    records = json.loads(ok(tmux_server.tmms("unread", short(first), short(second), "--json", pane=beta.pane_id)))
    assert [(r["subject"], r["folder"], r["state"]) for r in records] == [("one", "inbox", "unread"),
                                                                          ("two", "inbox", "unread")]
    assert messages(beta.inbox) == sorted([first, second])
    assert unread_option(tmux_server, beta) == "2"


def test_archive_and_unread_are_journaled_and_tmms_log_filters_them(tmux_server: TmuxServer, beta: Pane) -> None:
    path = letter(beta, "one")
    ok(tmux_server.tmms("archive", short(path), pane=beta.pane_id))
    ok(tmux_server.tmms("unread", short(path), pane=beta.pane_id))
    for event in ("archived", "unread"):
        proc = tmux_server.tmms("log", "--event", event, "--json")
        records = json.loads(ok(proc))
        assert [(r["event"], r["mailbox"]) for r in records] == [(event, "beta")] and proc.stderr == ""


def test_status_finds_archived_mail(tmux_server: TmuxServer, beta: Pane) -> None:
    path = letter(beta, "one")
    ok(tmux_server.tmms("archive", short(path), pane=beta.pane_id))
    report = json.loads(ok(tmux_server.tmms("status", short(path), "--json")))
    assert report["state"] == "archived"
    assert [p["path"] for p in report["places"]] == [str(beta.inbox / "archive" / path.name)]


def test_a_message_already_there_is_said_so_and_left(tmux_server: TmuxServer, beta: Pane) -> None:
    path = letter(beta, "one")
    assert ok(tmux_server.tmms("unread", short(path), pane=beta.pane_id)) == f"{short(path)} is unread already\n"
    ok(tmux_server.tmms("archive", short(path), pane=beta.pane_id))
    assert ok(tmux_server.tmms("archive", short(path), pane=beta.pane_id)) == f"{short(path)} is archived already\n"


def test_archive_never_replaces_a_file_of_the_same_name(tmux_server: TmuxServer, beta: Pane) -> None:
    path = letter(beta, "one")
    (beta.inbox / "archive").mkdir()
    (beta.inbox / "archive" / path.name).write_text("someone else's\n")
    ok(tmux_server.tmms("archive", short(path), pane=beta.pane_id))
    kept = sorted((beta.inbox / "archive").iterdir())
    assert len(kept) == 2 and (beta.inbox / "archive" / path.name).read_text() == "someone else's\n"


def test_an_unknown_id_exits_11_with_one_line_and_moves_nothing(tmux_server: TmuxServer, beta: Pane) -> None:
    path = letter(beta, "one")
    for command in ("archive", "unread"):
        proc = tmux_server.tmms(command, short(path), "zzzz", pane=beta.pane_id)
        assert failed(proc, NO_SUCH_MESSAGE) == ("tmms: error: no message matches 'zzzz' in the inbox of beta "
                                                 "(unread, read or archived)")
    assert messages(beta.inbox) == [path]


def test_a_file_that_is_no_message_is_left_where_it_is_with_exit_6(tmux_server: TmuxServer, beta: Pane) -> None:
    fifo = beta.inbox / "20261130-120000_alpha_to_beta_deadbeef.md"
    os.mkfifo(fifo)
    line = failed(tmux_server.tmms("archive", "deadbeef", pane=beta.pane_id), 6)
    assert line == f"tmms: error: cannot read {fifo}: not a regular file (a FIFO)"
    assert fifo.is_fifo() and not (beta.inbox / "archive").exists()


def test_archive_needs_an_id(tmux_server: TmuxServer, beta: Pane) -> None:
    proc = tmux_server.tmms("archive", pane=beta.pane_id)
    assert failed(proc, 2).startswith("tmms: error: the following arguments are required: ID")


def test_read_and_reply_keep_the_unread_count_exact(tmux_server: TmuxServer, beta: Pane) -> None:
    tmux_server.tmux("set-option", "-p", "-t", beta.pane_id, "@tmms_unread", "7")  # stale, as the issue saw it
    first, second, third = (letter(beta, "one", minute=1), letter(beta, "two", minute=2),
                            letter(beta, "three", minute=3))
    ok(tmux_server.tmms("read", "--next", pane=beta.pane_id))
    assert unread_option(tmux_server, beta) == "2"
    ok(tmux_server.tmms("reply", short(second), pane=beta.pane_id, input="answer\n"))
    assert messages(beta.inbox) == [third]  # the original is read now
    assert (beta.inbox / "read" / second.name).exists() and (beta.inbox / "read" / first.name).exists()
    assert unread_option(tmux_server, beta) == "1"
    ok(tmux_server.tmms("read", short(third), "--keep", pane=beta.pane_id))
    assert unread_option(tmux_server, beta) == "1"


def test_reply_to_mail_already_read_leaves_it_read(tmux_server: TmuxServer, beta: Pane) -> None:
    path = letter(beta, "one")
    ok(tmux_server.tmms("read", short(path), pane=beta.pane_id))
    ok(tmux_server.tmms("reply", short(path), pane=beta.pane_id, input="late\n"))
    assert (beta.inbox / "read" / path.name).exists() and messages(beta.inbox) == []


# -- inbox/archive/ is guarded as inbox/read/ is ------------------------------------------------------------


def record(pane_id: str, name: str, inbox: Path, outbox: Path) -> PaneRecord:
    options = dict.fromkeys(OPTION_NAMES, "")
    options.update({"@tmms_enabled": "true", "@tmms_name": name, "@tmms_inbox": str(inbox),
                    "@tmms_outbox": str(outbox)})
    return PaneRecord(pane_id, "main", "1", "0", "100", "1", options)


def test_an_outbox_that_is_an_archive_folder_is_never_routed_or_registered(tmp_path: Path) -> None:
    for sub in ("beta/inbox/archive", "beta/outbox", "gamma/inbox"):
        (tmp_path / sub).mkdir(parents=True)
    beta = record("%2", "beta", tmp_path / "beta/inbox", tmp_path / "beta/outbox")
    others = Registry.from_panes([beta])
    archive = str(tmp_path / "beta/inbox/archive")
    assert Folders(others.mailboxes).outbox_problem(archive) == "it is the archive folder of pane %2 ('beta')"
    with pytest.raises(FolderClash, match="archive folder of pane %2"):
        check_folders(str(tmp_path / "gamma/inbox"), archive, others)
    own = registration_problem(str(tmp_path / "gamma/inbox"), str(tmp_path / "gamma/inbox/archive"), [])
    assert own == "the outbox is the inbox's archive folder"
    other = Registry.from_panes([record("%4", "e", tmp_path / "e/in", tmp_path / "delta/inbox/archive")])
    problem = registration_problem(str(tmp_path / "delta/inbox"), str(tmp_path / "w"), other.mailboxes)
    assert problem.endswith("it or its read or archive folder is the outbox of pane %4 ('e')")


# -- the status line: tmms bind --install --status ------------------------------------------------------------


def status_right(server: TmuxServer) -> str:
    return server.tmux("show-options", "-gv", "status-right").removesuffix("\n")


def test_bind_status_puts_the_unread_count_in_front_of_status_right_once(tmux_server: TmuxServer,
                                                                         beta: Pane) -> None:
    before = status_right(tmux_server)
    out = ok(tmux_server.tmms("bind", "--install", "--status"))
    assert out.startswith("added the unread count to status-right on ")
    assert status_right(tmux_server) == STATUS_SEGMENT + before
    assert out.splitlines()[1] == f"set-option -g status-right '{STATUS_SEGMENT + before}'"
    assert ok(tmux_server.tmms("bind", "--install", "--status")).startswith("the unread count is already in")
    assert status_right(tmux_server) == STATUS_SEGMENT + before  # twice installed is once
    letter(beta, "one")
    letter(beta, "two", minute=1)
    ok(tmux_server.tmms("read", "--next", "--keep", pane=beta.pane_id))
    ok(tmux_server.tmms("archive", short(letter(beta, "three", minute=2)), pane=beta.pane_id))
    shown = tmux_server.tmux("display-message", "-p", "-t", beta.pane_id, "#{E:status-right}")
    assert shown.startswith("[tmms 2] ")
    tmux_server.tmux("set-option", "-p", "-t", beta.pane_id, "@tmms_unread", "0")
    assert not tmux_server.tmux("display-message", "-p", "-t", beta.pane_id, "#{E:status-right}").startswith("[")
    out = ok(tmux_server.tmms("bind", "--uninstall", "--status"))
    assert out.startswith("took the unread count out of status-right")
    assert status_right(tmux_server) == before
    assert ok(tmux_server.tmms("bind", "--uninstall", "--status")).startswith("the unread count was not in")


def test_bind_status_without_install_only_prints_the_line(tmux_server: TmuxServer) -> None:
    before = status_right(tmux_server)
    out = ok(tmux_server.tmms("bind", "--status"))
    assert out == f"set-option -g status-right '{STATUS_SEGMENT + before}'\n"
    assert status_right(tmux_server) == before


@pytest.mark.parametrize(("args", "says"), [
    (["--uninstall"], "tmms: error: --uninstall takes the unread count out of the status line: add --status"),
    (["--install", "--uninstall", "--status"], "tmms: error: give --install or --uninstall, not both"),
])
def test_bind_refuses_what_it_cannot_do_in_one_line(tmux_server: TmuxServer, args: list[str], says: str) -> None:
    assert failed(tmux_server.tmms("bind", *args), 2) == says


def test_a_status_right_holding_single_quotes_is_printed_in_double_quotes() -> None:
    assert config_lines([["set-option", "-g", "status-right", "it's $HOME \"x\""]]) == (
        'set-option -g status-right "it\'s \\$HOME \\"x\\""\n')


# -- the alert: the recipient pane, for alert_seconds ------------------------------------------------------------


def test_alert_seconds_come_from_the_environment_the_server_gives() -> None:
    assert alert_seconds({}) == 4.0
    assert alert_seconds({"TMMS_ALERT_SECONDS": "7.5"}) == 7.5
    assert alert_seconds({"TMMS_ALERT_SECONDS": "0"}) == 0.0  # until a key is pressed
    assert alert_seconds({"TMMS_ALERT_SECONDS": "soon"}) == 4.0
    assert alert_seconds({"TMMS_ALERT_SECONDS": "-1"}) == 4.0


def test_the_alert_text_names_the_recipient_pane_as_tmux_expands_it(tmux_server: TmuxServer, beta: Pane) -> None:
    text = alert_text("alpha", "50% #done", RECIPIENT)
    assert text == "tmms: mail for " + RECIPIENT + " from alpha: 50%% ##done"
    where = tmux_server.tmux("display-message", "-p", "-t", beta.pane_id, text.replace("%%", "%"))
    assert where.startswith("tmms: mail for beta (main:") and where.endswith(" from alpha: 50% #done\n")


def test_the_server_passes_alert_seconds_to_notify_commands(tmux_server: TmuxServer, tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    gamma = tmux_server.register("gamma", notify=f"echo $TMMS_ALERT_SECONDS > {seen}")
    alpha = tmux_server.register("alpha2")
    tmux_server.start_server(alert_seconds=7)
    ok(tmux_server.tmms("post", "-t", gamma.name, pane=alpha.pane_id, input="hi\n"))
    wait_until(lambda: seen.exists() and seen.read_text().strip())
    assert seen.read_text() == "7\n"


def test_tmms_alert_runs_with_a_duration_and_sets_the_count(tmux_server: TmuxServer, beta: Pane) -> None:
    path = letter(beta, "one")
    env = tmux_server.env(beta.pane_id)
    socket_path, pid = tmux_server.tmux("display-message", "-p", "#{socket_path} #{pid}").split()
    env.update(TMUX=f"{socket_path},{pid},0", TMMS_ALERT_SECONDS="0.5")
    proc = subprocess.run([sys.executable, "-m", "tmms", "alert", str(path)], env=env, capture_output=True,
                          text=True, timeout=30)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert unread_option(tmux_server, beta) == "1"  # the text it shows: tests/test_panes_cli.py (a client sees it)


def test_alert_seconds_is_a_config_key(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("alert_seconds: 10\n")
    assert load(str(good)).alert_seconds == 10.0 and load(str(good)).warnings == ()
    bad = tmp_path / "bad.yml"
    bad.write_text("alert_seconds: -2\n")
    with pytest.raises(ConfigError, match="alert_seconds"):
        load(str(bad))


# -- names: --pane everywhere, -t hidden; --group adds, --set-groups replaces --------------------------------------


def groups_of(server: TmuxServer, pane: str) -> str:
    return server.tmux("show-options", "-p", "-v", "-t", pane, "@tmms_groups", check=False).strip()


def test_register_takes_pane_and_still_takes_a_hidden_t(tmux_server: TmuxServer) -> None:
    first, second = tmux_server.new_pane(), tmux_server.new_pane()
    report = json.loads(ok(tmux_server.tmms("register", "one", "--pane", first, "--no-server", "--json")))
    assert report["pane_id"] == first
    report = json.loads(ok(tmux_server.tmms("register", "two", "-t", second, "--no-server", "--json")))
    assert report["pane_id"] == second
    ok(tmux_server.tmms("unregister", "--pane", first))
    ok(tmux_server.tmms("unregister", "-t", second))
    for command in ("register", "unregister"):
        help_text = ok(tmux_server.tmms(command, "--help"))
        assert "--pane PANE" in help_text and "-t PANE" not in help_text and "--target" not in help_text


def test_group_adds_and_set_groups_replaces(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    ok(tmux_server.tmms("register", "rev", "--pane", pane, "--group", "reviewers", "--no-server"))
    ok(tmux_server.tmms("register", "rev", "--pane", pane, "--group", "@leads", "--group", "reviewers",
                        "--no-server"))
    assert groups_of(tmux_server, pane) == "reviewers,leads"
    report = json.loads(ok(tmux_server.tmms("register", "rev", "--pane", pane, "--set-groups", "ops, @qa",
                                            "--no-server", "--json")))
    assert (groups_of(tmux_server, pane), report["groups"]) == ("ops,qa", ["ops", "qa"])
    ok(tmux_server.tmms("register", "rev", "--pane", pane, "--no-server"))
    assert groups_of(tmux_server, pane) == "ops,qa"  # neither option: kept
    ok(tmux_server.tmms("register", "rev", "--pane", pane, "--set-groups", "", "--no-server"))
    assert groups_of(tmux_server, pane) == ""

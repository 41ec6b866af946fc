"""Mail management (issue #11): ``tmms archive`` and ``tmms unread``, ``reply`` marking the original read,
and ``@tmms_unread`` exact after every read, archive and unread tmms does; inbox/archive/ is guarded
like inbox/read/ (never an outbox). Real tmux, real files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import Pane, TmuxServer, failed, messages, ok
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

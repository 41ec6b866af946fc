"""End-to-end tests of the mail commands: post (groups, '*', --thread, --json), reply, ask, inbox, read,
thread and wait.

Every command runs as a real process (``python -m tmms``) against a private tmux server. Most tests
place mail by moving a posted outbox file into the recipient's inbox themselves; the tests where
delivery itself matters (wait for new mail, ask) run a real ``tmms server``.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from conftest import Pane, TmuxServer, checked_json, failed, messages, split_message, wait_until, without_no_server
from tmms.message import compose

NOTHING = 1
USAGE = 2
TMUX = 4
NOT_REGISTERED = 5
NO_SUCH_MESSAGE = 11


# -- helpers -------------------------------------------------------------------------------------------


def front(path: Path) -> dict[str, Any]:
    """The loaded front matter of a message file."""
    return split_message(path)[0]


def body(path: Path) -> str:
    """The text after a message's front matter."""
    return path.read_text(encoding="utf-8")[4:].partition("\n---\n")[2]


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    return proc


def send(server: TmuxServer, sender: Pane, *args: str, text: str = "hello\n") -> list[Path]:
    """``tmms post`` from ``sender``; the outbox files it wrote."""
    proc = ok(server.tmms("post", *args, pane=sender.pane_id, input=text))
    return [Path(line) for line in proc.stdout.splitlines()]


def deliver(path: Path, to: Pane) -> Path:
    """Do the server's job by hand: move an outbox file into the recipient's inbox."""
    target = to.inbox / path.name
    os.rename(path, target)
    return target


def mail(server: TmuxServer, sender: Pane, to: Pane, *args: str, text: str = "hello\n") -> Path:
    """Post one message from ``sender`` to ``to`` and put it in ``to``'s inbox."""
    (path,) = send(server, sender, "-t", to.name, *args, text=text)
    return deliver(path, to)


def crafted(to: Pane, message_id: str, sender: str = "alpha", subject: str = "crafted", seconds: int = 0) -> Path:
    """A message with a chosen id, written straight into ``to``'s inbox (for id-prefix clashes)."""
    moment = datetime(2026, 3, 22, 14, 30, 5, tzinfo=UTC) + timedelta(seconds=seconds)
    composed = compose("crafted body\n", sender, to.name, subject, message_id=message_id, moment=moment)
    path = to.inbox / composed.file_name
    path.write_text(composed.text, encoding="utf-8")
    return path


def short(path: Path) -> str:
    """The short id of a message file (the first eight hex digits of its tmms_id)."""
    return str(front(path)["tmms_id"]).replace("-", "")[:8]


def journal(home: Path) -> list[dict[str, Any]]:
    """Every journal record the commands wrote (HOME is the test's own; XDG_STATE_HOME is unset)."""
    path = home / ".local" / "state" / "tmms" / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def read_dir(pane: Pane) -> list[Path]:
    return messages(pane.inbox / "read")


def arrived(pane: Pane) -> Path:
    """The one message the server delivers to ``pane``'s inbox (waits for it)."""
    wait_until(lambda: messages(pane.inbox))
    (path,) = messages(pane.inbox)
    return path


@pytest.fixture
def panes(tmux_server: TmuxServer) -> tuple[Pane, Pane, Pane]:
    """alpha, beta and gamma, registered."""
    return tmux_server.register("alpha"), tmux_server.register("beta"), tmux_server.register("gamma")


class Spawned:
    """``tmms`` processes started in the background; the fixture ends every one by pid."""

    def __init__(self, server: TmuxServer) -> None:
        self.server = server
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, pane: Pane, text: str = "") -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "tmms", "-L", self.server.socket, *args],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self.server.env(pane.pane_id))
        self.procs.append(proc)
        assert proc.stdin is not None
        proc.stdin.write(text.encode())
        proc.stdin.close()
        return proc

    @staticmethod
    def finish(proc: subprocess.Popen[bytes], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
        code = proc.wait(timeout=timeout)
        return checked_json(subprocess.CompletedProcess(proc.args, code, out.decode(errors="replace"),
                                                        err.decode(errors="replace")))


@pytest.fixture
def spawned(tmux_server: TmuxServer) -> Iterator[Spawned]:
    processes = Spawned(tmux_server)
    try:
        yield processes
    finally:
        for proc in processes.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def watching_inbox(proc: subprocess.Popen[bytes]) -> bool:
    """Whether a waiting process has its inotify watch in place (so what arrives now, arrives after)."""
    try:
        infos = list(Path(f"/proc/{proc.pid}/fdinfo").iterdir())
    except FileNotFoundError:
        return False
    for info in infos:
        try:
            if "inotify wd:" in info.read_text():
                return True
        except OSError:
            continue
    return proc.poll() is not None  # it ended: let the caller see why


# -- post: several recipients, groups, everyone ----------------------------------------------------------


def test_post_json_lists_one_record_per_copy_and_each_carries_all_recipients(
        tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, _, _ = panes
    proc = ok(tmux_server.tmms("post", "-t", "beta,gamma", "-s", "Both", "--json", pane=alpha.pane_id,
                               input="to both\n"))
    records = json.loads(proc.stdout)
    assert [r["to"] for r in records] == ["beta", "gamma"]
    assert [r["thread_id"] for r in records] == [r["id"] for r in records]  # each copy is the root of its thread
    paths = [Path(r["path"]) for r in records]
    assert sorted(paths) == messages(alpha.outbox)
    for record, path in zip(records, paths, strict=True):
        data = front(path)
        assert data["tmms_id"] == record["id"]
        assert data["tmms_to"] == record["to"]
        assert data["tmms_recipients"] == ["beta", "gamma"]
        assert (alpha.outbox / "sent" / path.name).read_bytes() == path.read_bytes()
    assert len({r["id"] for r in records}) == 2


def test_post_to_one_recipient_has_no_recipient_list(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, _, _ = panes
    (path,) = send(tmux_server, alpha, "-t", "beta")
    assert "tmms_recipients" not in front(path)


def test_post_to_a_group_writes_a_copy_per_member_but_not_to_the_sender(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    tmux_server.register("gamma")
    tmux_server.register("delta")
    groups = {"alpha": "reviewers", "beta": "reviewers", "gamma": "ops", "delta": "ops,reviewers"}
    for pane_id, name in (line.split() for line in tmux_server.tmux("list-panes", "-a", "-F",
                                                                    "#{pane_id} #{@tmms_name}").splitlines()
                          if len(line.split()) == 2):
        tmux_server.tmux("set-option", "-p", "-t", pane_id, "@tmms_groups", groups[name])
    paths = send(tmux_server, alpha, "-t", "@reviewers", "-s", "PR 7")
    heads = [front(p) for p in paths]
    assert [h["tmms_to"] for h in heads] == ["beta", "delta"]
    assert all(h["tmms_recipients"] == ["beta", "delta"] for h in heads)
    assert all(h["tmms_subject"] == "PR 7" for h in heads)


def test_post_to_everyone_reaches_every_other_registered_pane(tmux_server: TmuxServer,
                                                              panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, _, _ = panes
    tmux_server.new_pane()  # a pane that is not registered gets nothing
    proc = ok(tmux_server.tmms("post", "-t", "*", "-s", "Build is red", pane=alpha.pane_id, input="red\n"))
    assert without_no_server(proc.stderr) == ""
    heads = [front(Path(line)) for line in proc.stdout.splitlines()]
    assert sorted(h["tmms_to"] for h in heads) == ["beta", "gamma"]
    assert all(sorted(h["tmms_recipients"]) == ["beta", "gamma"] for h in heads)


def test_post_to_an_empty_group_exits_2(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, _, _ = panes
    proc = tmux_server.main("post", "-t", "@nobody", pane=alpha.pane_id, input="hi\n")
    assert failed(proc, USAGE) == ("tmms: error: no recipient: group '@nobody' has no members "
                                   "(set @tmms_groups on their panes)")
    assert list(alpha.outbox.iterdir()) == []


def test_post_to_everyone_with_nobody_else_registered_exits_2(tmux_server: TmuxServer) -> None:
    alone = tmux_server.register("alone")
    tmux_server.new_pane()
    proc = tmux_server.main("post", "-t", "*", pane=alone.pane_id, input="hi\n")
    assert failed(proc, USAGE) == ("tmms: error: no recipient: '*' means every other registered pane, "
                                   "and there is none")
    assert list(alone.outbox.iterdir()) == []


def test_post_writes_a_journal_record_per_copy(tmux_server: TmuxServer, home: Path,
                                               panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, _, _ = panes
    paths = send(tmux_server, alpha, "-t", "beta", "-t", "gamma", "-s", "Logged")
    posted = [r for r in journal(home) if r["event"] == "posted"]
    assert [(r["from"], r["to"], r["path"], r["subject"]) for r in posted] == [
        ("alpha", "beta", str(paths[0]), "Logged"), ("alpha", "gamma", str(paths[1]), "Logged")]
    assert [r["id"] for r in posted] == [front(p)["tmms_id"] for p in paths]
    assert all(r["at"].endswith("Z") for r in posted)


def test_post_thread_joins_the_thread(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    root = mail(tmux_server, alpha, beta, "-s", "Plan")
    root_id = front(root)["tmms_id"]
    proc = ok(tmux_server.tmms("post", "-t", "alpha", "--thread", root_id, "--json", pane=beta.pane_id,
                               input="joining\n"))
    (record,) = json.loads(proc.stdout)
    assert record["thread_id"] == root_id
    assert front(Path(record["path"]))["tmms_thread_id"] == root_id


def test_post_thread_with_a_short_id_joins_the_thread_of_that_message(
        tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    root = mail(tmux_server, alpha, beta, "-s", "Plan")
    root_id, root_short = front(root)["tmms_id"], short(root)
    ok(tmux_server.tmms("reply", root_short, pane=beta.pane_id, input="first answer\n"))
    (answer,) = messages(beta.outbox)
    # the short id `tmms inbox` shows, of a message in the middle of the thread: the thread's root is used
    (path,) = send(tmux_server, beta, "-t", "alpha", "--thread", short(answer), text="more\n")
    assert front(path)["tmms_thread_id"] == root_id
    thread = json.loads(ok(tmux_server.tmms("thread", root_short, "--json", pane=beta.pane_id)).stdout)
    assert [m["body"] for m in thread] == ["hello\n", "first answer\n", "more\n"]


# -- inbox ----------------------------------------------------------------------------------------------


def test_inbox_of_an_empty_mailbox_prints_nothing_and_exits_0(tmux_server: TmuxServer,
                                                              panes: tuple[Pane, Pane, Pane]) -> None:
    _, beta, _ = panes
    proc = ok(tmux_server.tmms("inbox", pane=beta.pane_id))
    assert (proc.stdout, proc.stderr) == ("", "")
    assert json.loads(ok(tmux_server.tmms("inbox", "--json", pane=beta.pane_id)).stdout) == []


def test_inbox_on_a_terminal_says_when_there_is_no_mail(tmux_server: TmuxServer,
                                                       panes: tuple[Pane, Pane, Pane]) -> None:
    _, beta, _ = panes
    assert on_terminal(tmux_server, beta, "inbox") == "no unread mail for beta\n"
    assert on_terminal(tmux_server, beta, "inbox", "--all") == "no mail for beta\n"


def test_inbox_lists_unread_mail_one_line_each_oldest_first(tmux_server: TmuxServer,
                                                            panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, gamma = panes
    first = mail(tmux_server, alpha, beta, "-s", "First thing")
    second = mail(tmux_server, gamma, beta, "-s", "Second", "--thread", str(front(first)["tmms_id"]))
    (beta.inbox / "notes.txt").write_text("not mail")
    lines = ok(tmux_server.tmms("inbox", pane=beta.pane_id)).stdout.splitlines()
    assert len(lines) == 3
    head, one, two = (line.split() for line in lines)
    assert head == ["ID", "AGE", "FROM", "SUBJECT", "THREAD"]
    assert [one[0], *one[2:]] == [short(first), "alpha", "First", "thing", "-"]
    assert [two[0], *two[2:]] == [short(second), "gamma", "Second", short(first)]
    assert one[1].endswith("s") and two[1].endswith("s")  # an age such as 0s


def test_inbox_all_adds_read_mail_with_its_folder(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    done = short(mail(tmux_server, alpha, beta, "-s", "Done"))
    waiting = short(mail(tmux_server, alpha, beta, "-s", "Waiting"))
    ok(tmux_server.tmms("read", done, pane=beta.pane_id))
    unread_lines = ok(tmux_server.tmms("inbox", pane=beta.pane_id)).stdout.splitlines()
    assert [line.split()[0] for line in unread_lines[1:]] == [waiting]
    all_lines = ok(tmux_server.tmms("inbox", "--all", pane=beta.pane_id)).stdout.splitlines()
    assert all_lines[0].split()[:3] == ["ID", "STATE", "AGE"]
    assert [tuple(line.split()[:2]) for line in all_lines[1:]] == [(waiting, "unread"), (done, "read")]


def test_inbox_json_describes_each_message(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    path = mail(tmux_server, alpha, beta, "-s", "Status")
    data = front(path)
    (record,) = json.loads(ok(tmux_server.tmms("inbox", "--json", pane=beta.pane_id)).stdout)
    assert record == {"id": data["tmms_id"], "from": "alpha", "to": "beta", "recipients": ["beta"],
                      "subject": "Status", "created_at": data["tmms_created_at"], "thread_id": data["tmms_id"],
                      "in_reply_to": None, "state": "unread", "path": str(path), "folder": "inbox",
                      "front_matter": {}}
    ok(tmux_server.tmms("read", "--next", pane=beta.pane_id))
    assert json.loads(ok(tmux_server.tmms("inbox", "--json", pane=beta.pane_id)).stdout) == []
    (again,) = json.loads(ok(tmux_server.tmms("inbox", "--all", "--json", pane=beta.pane_id)).stdout)
    assert (again["folder"], again["path"]) == ("read", str(beta.inbox / "read" / path.name))


def test_inbox_pane_lists_another_panes_mailbox(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    path = mail(tmux_server, alpha, beta)
    proc = ok(tmux_server.tmms("inbox", "--pane", beta.pane_id, "--json", pane=alpha.pane_id))
    assert [r["path"] for r in json.loads(proc.stdout)] == [str(path)]


class PaneError(NamedTuple):
    test_id: str
    args: list[str]
    code: int
    message: str


PANE_ERRORS = [
    PaneError("not-inside-tmux", [], TMUX,
              "tmms: error: not inside a tmux pane ($TMUX_PANE is not set); run this in a tmux pane"),
    PaneError("unknown-pane", ["--pane", "%9999"], TMUX, "tmms: error: pane %9999 does not exist on this tmux server"),
    PaneError("unregistered-pane", ["--pane", "<bare>"], NOT_REGISTERED, "tmms: error: pane <bare> is not a tmms "
              "mailbox: missing @tmms_enabled, @tmms_name, @tmms_inbox, @tmms_outbox; make it one with "
              "'tmms register NAME --pane <bare>'"),
]
MAILBOX_COMMANDS = [["inbox"], ["read", "--next"], ["thread", "1a2b"], ["wait", "--timeout", "0"],
                    ["reply", "1a2b"], ["ask", "-t", "beta", "--timeout", "0"], ["post", "-t", "beta"]]


@pytest.mark.parametrize("case", PANE_ERRORS, ids=[c.test_id for c in PANE_ERRORS])
@pytest.mark.parametrize("command", MAILBOX_COMMANDS, ids=[c[0] for c in MAILBOX_COMMANDS])
def test_mail_commands_need_a_registered_pane(tmux_server: TmuxServer, case: PaneError, command: list[str]) -> None:
    tmux_server.register("beta")
    bare = tmux_server.new_pane()
    args = [a.replace("<bare>", bare) for a in case.args]
    proc = tmux_server.main(*command, *args, pane=None, input="hi\n")
    assert failed(proc, case.code) == case.message.replace("<bare>", bare)


# -- read -----------------------------------------------------------------------------------------------


def test_read_prints_the_file_as_stored_and_moves_it_into_read(tmux_server: TmuxServer, home: Path,
                                                               panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    path = mail(tmux_server, alpha, beta, "-s", "Report", text="# Report\n\n**all** green\n")
    stored = path.read_text()
    proc = ok(tmux_server.tmms("read", short(path)[:5], pane=beta.pane_id))
    assert proc.stdout == stored  # piped: the raw file
    assert proc.stderr == ""
    assert messages(beta.inbox) == []
    assert read_dir(beta) == [beta.inbox / "read" / path.name]
    reads = [r for r in journal(home) if r["event"] == "read"]
    assert [(r["id"], r["mailbox"], r["path"]) for r in reads] == [
        (front(beta.inbox / "read" / path.name)["tmms_id"], "beta", str(beta.inbox / "read" / path.name))]


def test_read_keep_leaves_the_message_unread(tmux_server: TmuxServer, home: Path,
                                             panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    path = mail(tmux_server, alpha, beta)
    proc = ok(tmux_server.tmms("read", short(path), "--keep", pane=beta.pane_id))
    assert proc.stdout == path.read_text()
    assert messages(beta.inbox) == [path]
    assert read_dir(beta) == []
    assert [r for r in journal(home) if r["event"] == "read"] == []


def test_read_next_takes_the_oldest_until_none_is_left_then_exits_1(tmux_server: TmuxServer,
                                                                     panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    first = mail(tmux_server, alpha, beta, text="one\n")
    second = mail(tmux_server, alpha, beta, text="two\n")
    assert body(first) == "one\n"
    assert ok(tmux_server.tmms("read", "--next", pane=beta.pane_id)).stdout.endswith("\none\n")
    assert ok(tmux_server.tmms("read", pane=beta.pane_id)).stdout.endswith("\ntwo\n")  # no ID means --next
    assert read_dir(beta) == sorted([beta.inbox / "read" / first.name, beta.inbox / "read" / second.name])
    proc = tmux_server.tmms("read", "--next", pane=beta.pane_id)
    assert proc.returncode == NOTHING
    assert (proc.stdout, proc.stderr) == ("", "tmms: no unread mail for beta\n")


def test_read_next_passes_over_an_unreadable_file(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    (beta.inbox / "00000000-000000_x_to_beta_0badf00d.md").write_bytes(b"no front matter\n")
    good = mail(tmux_server, alpha, beta, text="good\n")
    proc = ok(tmux_server.tmms("read", "--next", "--json", pane=beta.pane_id))
    assert json.loads(proc.stdout)["path"] == str(beta.inbox / "read" / good.name)


def test_read_json_is_one_record_with_the_body(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    path = mail(tmux_server, alpha, beta, "-s", "Data", text="payload\n")
    record = json.loads(ok(tmux_server.tmms("read", short(path), "--json", pane=beta.pane_id)).stdout)
    assert record["id"] == front(beta.inbox / "read" / path.name)["tmms_id"]
    assert (record["from"], record["subject"], record["body"], record["folder"]) == ("alpha", "Data", "payload\n",
                                                                                     "read")
    assert record["path"] == str(beta.inbox / "read" / path.name)


def test_read_of_a_read_message_prints_it_again_and_leaves_it_in_read(tmux_server: TmuxServer,
                                                                      panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    path = mail(tmux_server, alpha, beta, text="again\n")
    ref = short(path)
    ok(tmux_server.tmms("read", ref, pane=beta.pane_id))
    proc = ok(tmux_server.tmms("read", ref, pane=beta.pane_id))
    assert proc.stdout.endswith("\nagain\n")
    assert read_dir(beta) == [beta.inbox / "read" / path.name]


def on_terminal(server: TmuxServer, pane: Pane, *args: str) -> str:
    """Run tmms with its stdout on a pseudo-terminal; what it printed there (it must exit 0)."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "tmms", "-L", server.socket, *args],
                              stdin=subprocess.DEVNULL, stdout=follower, stderr=subprocess.PIPE,
                              env={**server.env(pane.pane_id), "COLUMNS": "100", "PAGER": "cat"}, timeout=30)
        os.close(follower)
        follower = -1
        assert proc.returncode == 0, proc.stderr
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal has no writer left
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode().replace("\r\n", "\n")
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)


def test_read_on_a_terminal_renders_markdown_and_raw_prints_the_file(tmux_server: TmuxServer,
                                                                      panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    path = mail(tmux_server, alpha, beta, "-s", "Pretty", text="# Title\n\n**bold** words\n")
    stored = path.read_text()
    pretty = on_terminal(tmux_server, beta, "read", short(path), "--keep")
    assert "\x1b[" in pretty
    assert "Subject:" in pretty and "Pretty" in pretty and "Title" in pretty and "bold" in pretty
    assert "**bold**" not in pretty and "tmms_id:" not in pretty
    assert on_terminal(tmux_server, beta, "read", short(path), "--keep", "--raw") == stored
    assert messages(beta.inbox) == [path]


def test_read_an_id_and_next_together_exits_2(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    path = mail(tmux_server, alpha, beta)
    proc = tmux_server.main("read", short(path), "--next", pane=beta.pane_id)
    assert failed(proc, USAGE) == "tmms: error: give an ID or --next, not both"
    assert messages(beta.inbox) == [path]


def test_read_an_unknown_id_exits_11(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    mail(tmux_server, alpha, beta)
    proc = tmux_server.main("read", "zzzz", pane=beta.pane_id)
    assert failed(proc, NO_SUCH_MESSAGE) == "tmms: error: no message matches 'zzzz' in the inbox of beta"


def test_a_longer_prefix_resolves_what_a_short_one_could_not(tmux_server: TmuxServer,
                                                             panes: tuple[Pane, Pane, Pane]) -> None:
    _, beta, _ = panes
    crafted(beta, "abcd1111-0000-4000-8000-000000000001", seconds=1)
    two = crafted(beta, "abcd2222-0000-4000-8000-000000000002", seconds=2)
    assert tmux_server.tmms("read", "abcd", pane=beta.pane_id).returncode == NO_SUCH_MESSAGE
    record = json.loads(ok(tmux_server.tmms("read", "abcd2", "--json", pane=beta.pane_id)).stdout)
    assert record["id"] == "abcd2222-0000-4000-8000-000000000002"
    assert record["path"] == str(beta.inbox / "read" / two.name)
    by_dashed_id = json.loads(ok(tmux_server.tmms("read", "ABCD1111-0000", "--json", "--keep",
                                                  pane=beta.pane_id)).stdout)
    assert by_dashed_id["id"] == "abcd1111-0000-4000-8000-000000000001"


# -- reply ----------------------------------------------------------------------------------------------


def test_reply_goes_to_the_sender_in_the_thread_with_re_subject(tmux_server: TmuxServer,
                                                                 panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    original = mail(tmux_server, alpha, beta, "-s", "Status?")
    root = front(original)
    proc = ok(tmux_server.tmms("reply", short(original), pane=beta.pane_id, input="all green\n"))
    (path,) = (Path(line) for line in proc.stdout.splitlines())
    assert messages(beta.outbox) == [path]
    data = front(path)
    assert (data["tmms_from"], data["tmms_to"], data["tmms_subject"]) == ("beta", "alpha", "Re: Status?")
    assert data["tmms_thread_id"] == root["tmms_id"]
    assert data["tmms_in_reply_to"] == root["tmms_id"]
    assert body(path) == "all green\n"
    assert messages(beta.inbox) == []  # replying marks the original read (issue #11)
    assert front(beta.inbox / "read" / original.name) == root


def test_reply_down_a_thread_keeps_the_root_and_does_not_double_re(tmux_server: TmuxServer,
                                                                   panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    original = mail(tmux_server, alpha, beta, "-s", "Plan")
    root_id = front(original)["tmms_id"]
    ok(tmux_server.tmms("reply", short(original), pane=beta.pane_id, input="ok\n"))
    (answer,) = messages(beta.outbox)
    answer = deliver(answer, alpha)
    answer_id = front(answer)["tmms_id"]
    ok(tmux_server.tmms("reply", short(answer), pane=alpha.pane_id, input="thanks\n"))
    (again,) = messages(alpha.outbox)
    data = front(again)
    assert data["tmms_subject"] == "Re: Plan"
    assert data["tmms_thread_id"] == root_id  # the thread's first message
    assert data["tmms_in_reply_to"] == answer_id  # the message answered


def test_reply_subject_option_and_body_file(tmux_server: TmuxServer, tmp_path: Path,
                                            panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    original = mail(tmux_server, alpha, beta, "-s", "Plan")
    root_id = front(original)["tmms_id"]
    result = tmp_path / "result.md"
    result.write_text("from a file\n")
    proc = ok(tmux_server.tmms("reply", short(original), "-s", "Results", str(result), "--json",
                               pane=beta.pane_id, input="stdin is ignored\n"))
    (record,) = json.loads(proc.stdout)
    assert (record["to"], record["thread_id"]) == ("alpha", root_id)
    path = Path(record["path"])
    assert front(path)["tmms_subject"] == "Results"
    assert front(path)["tmms_id"] == record["id"]
    assert body(path) == "from a file\n"


def test_reply_to_a_read_message(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    original = mail(tmux_server, alpha, beta, "-s", "Old")
    ref = short(original)
    ok(tmux_server.tmms("read", ref, pane=beta.pane_id))
    ok(tmux_server.tmms("reply", ref, pane=beta.pane_id, input="late answer\n"))
    (path,) = messages(beta.outbox)
    assert front(path)["tmms_in_reply_to"] == front(beta.inbox / "read" / original.name)["tmms_id"]


def test_reply_all_goes_to_the_sender_and_the_other_recipients(tmux_server: TmuxServer,
                                                                panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, gamma = panes
    tmux_server.register("delta")
    to_beta, _, _ = send(tmux_server, alpha, "-t", "beta,gamma,delta", "-s", "Retro")
    original = deliver(to_beta, beta)
    root = front(original)
    proc = ok(tmux_server.tmms("reply", short(original), "--all", pane=beta.pane_id, input="to all\n"))
    heads = [front(Path(line)) for line in proc.stdout.splitlines()]
    assert [h["tmms_to"] for h in heads] == ["alpha", "gamma", "delta"]
    assert all(h["tmms_recipients"] == ["alpha", "gamma", "delta"] for h in heads)
    assert all(h["tmms_thread_id"] == root["tmms_id"] for h in heads)
    assert all(h["tmms_subject"] == "Re: Retro" for h in heads)
    assert gamma.name in root["tmms_recipients"]


def test_reply_without_all_goes_to_the_sender_only(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    to_beta, _ = send(tmux_server, alpha, "-t", "beta,gamma", "-s", "Retro")
    original = deliver(to_beta, beta)
    ok(tmux_server.tmms("reply", short(original), pane=beta.pane_id, input="just you\n"))
    (path,) = messages(beta.outbox)
    assert front(path)["tmms_to"] == "alpha"
    assert "tmms_recipients" not in front(path)


def test_reply_to_an_unknown_id_exits_11_and_writes_nothing(tmux_server: TmuxServer,
                                                            panes: tuple[Pane, Pane, Pane]) -> None:
    _, beta, _ = panes
    proc = tmux_server.main("reply", "zzzz", pane=beta.pane_id, input="?\n")
    assert failed(proc, NO_SUCH_MESSAGE) == "tmms: error: no message matches 'zzzz' in the inbox of beta"
    assert list(beta.outbox.iterdir()) == []


@pytest.mark.parametrize("command", [["reply"], ["thread"], ["read", "--keep"]], ids=lambda c: c[0])
def test_an_ambiguous_prefix_exits_11_and_lists_the_matches(tmux_server: TmuxServer, command: list[str],
                                                            panes: tuple[Pane, Pane, Pane]) -> None:
    _, beta, _ = panes
    one = crafted(beta, "abcd1111-0000-4000-8000-000000000001", seconds=1)
    two = crafted(beta, "abcd2222-0000-4000-8000-000000000002", seconds=2)
    proc = tmux_server.main(command[0], "abcd", *command[1:], pane=beta.pane_id, input="?\n")
    assert failed(proc, NO_SUCH_MESSAGE) == (
        f"tmms: error: 'abcd' matches 2 messages: abcd1111 (inbox: {one.name}), abcd2222 (inbox: {two.name}); "
        "give more of the id")
    assert list(beta.outbox.iterdir()) == []
    assert messages(beta.inbox) == [one, two]


class BadBody(NamedTuple):
    test_id: str
    args: list[str]
    stdin: bytes
    code: int
    message: str


BAD_BODIES = [
    BadBody("binary-stdin", [], b"ab\x00cd\n", 6, "tmms: error: cannot read <stdin>: binary content (NUL bytes); "
            "a message is text"),
    BadBody("not-utf8", [], b"caf\xe9\n", 6, "tmms: error: cannot read <stdin>: not UTF-8 text (bad byte at offset 3)"),
    BadBody("missing-file", ["-f", "/nonexistent/body.md"], b"", 6,
            "tmms: error: cannot read /nonexistent/body.md: No such file or directory"),
    BadBody("file-and-f", ["a.md", "-f", "b.md"], b"", USAGE, "tmms: error: give the body as [file] or -f, not both"),
]


@pytest.mark.parametrize("case", BAD_BODIES, ids=[c.test_id for c in BAD_BODIES])
@pytest.mark.parametrize("command", ["reply", "ask"])
def test_reply_and_ask_refuse_a_bad_body_and_post_nothing(tmux_server: TmuxServer, command: str, case: BadBody,
                                                          panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    original = mail(tmux_server, alpha, beta)
    head = ["reply", short(original)] if command == "reply" else ["ask", "-t", "alpha", "--timeout", "5"]
    proc = tmux_server.main(*head, *case.args, pane=beta.pane_id, input=case.stdin)
    assert failed(proc, case.code) == case.message
    assert list(beta.outbox.iterdir()) == []


class BadArgs(NamedTuple):
    test_id: str
    args: list[str]
    message: str


BAD_ARGS = [
    BadArgs("wait-timeout-not-a-number", ["wait", "--timeout", "soon"],
            "tmms: error: argument --timeout: invalid float value: 'soon' (see 'tmms wait --help')"),
    BadArgs("ask-timeout-not-a-number", ["ask", "-t", "beta", "--timeout", "soon"],
            "tmms: error: argument --timeout: invalid float value: 'soon' (see 'tmms ask --help')"),
    BadArgs("reply-without-id", ["reply"], "tmms: error: the following arguments are required: ID "
            "(see 'tmms reply --help')"),
    BadArgs("thread-without-id", ["thread"], "tmms: error: the following arguments are required: ID "
            "(see 'tmms thread --help')"),
    BadArgs("read-two-ids", ["read", "a", "b"], "tmms: error: unrecognized arguments: b (see 'tmms --help')"),
]


@pytest.mark.parametrize("case", BAD_ARGS, ids=[c.test_id for c in BAD_ARGS])
def test_bad_arguments_exit_2(tmux_server: TmuxServer, case: BadArgs, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, _, _ = panes
    assert failed(tmux_server.main(*case.args, pane=alpha.pane_id), USAGE) == case.message
    assert list(alpha.outbox.iterdir()) == []


def test_reply_to_a_message_without_a_sender_exits_2(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    _, beta, _ = panes
    (beta.inbox / "20260322-143005_x_to_beta_5e4d0000.md").write_text(
        "---\ntmms_id: 5e4d0000-0000-4000-8000-000000000000\ntmms_to: beta\n---\nwho sent this?\n")
    proc = tmux_server.main("reply", "5e4d", pane=beta.pane_id, input="?\n")
    assert failed(proc, USAGE) == "tmms: error: message 5e4d0000 has no sender to reply to"
    assert list(beta.outbox.iterdir()) == []


# -- thread ----------------------------------------------------------------------------------------------


def conversation(server: TmuxServer, alpha: Pane, beta: Pane) -> list[Path]:
    """alpha asks (beta reads it), beta answers (sent), alpha follows up (unread): beta's paths, in order."""
    question = mail(server, alpha, beta, "-s", "Q", text="question\n")
    ref = short(question)
    ok(server.tmms("read", ref, pane=beta.pane_id))
    ok(server.tmms("reply", ref, pane=beta.pane_id, input="answer\n"))
    (answer,) = messages(beta.outbox)
    at_alpha = deliver(answer, alpha)
    ok(server.tmms("reply", short(at_alpha), pane=alpha.pane_id, input="follow-up\n"))
    (follow,) = messages(alpha.outbox)
    return [beta.inbox / "read" / question.name, beta.outbox / "sent" / answer.name, deliver(follow, beta)]


def test_thread_shows_the_conversation_in_order_across_read_sent_and_inbox(
        tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    expected = conversation(tmux_server, alpha, beta)
    mail(tmux_server, alpha, beta, "-s", "Unrelated")
    for ref in (short(p) for p in expected):  # any message of the thread names it
        records = json.loads(ok(tmux_server.tmms("thread", ref, "--json", pane=beta.pane_id)).stdout)
        assert [(r["path"], r["folder"], r["body"]) for r in records] == [
            (str(expected[0]), "read", "question\n"), (str(expected[1]), "sent", "answer\n"),
            (str(expected[2]), "inbox", "follow-up\n")]
    text = ok(tmux_server.tmms("thread", short(expected[0]), pane=beta.pane_id)).stdout
    headings = [line for line in text.splitlines() if line.startswith("──")]
    assert len(headings) == 3
    assert "alpha → you  Q" in headings[0] and "you → alpha  Re: Q" in headings[1]
    assert "alpha → you  Re: Q" in headings[2]
    assert text.index("question") < text.index("answer") < text.index("follow-up")
    assert "Unrelated" not in text


def test_thread_includes_mail_still_queued_in_the_outbox(tmux_server: TmuxServer,
                                                         panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    question = mail(tmux_server, alpha, beta, "-s", "Q")
    ref = short(question)
    ok(tmux_server.tmms("reply", ref, pane=beta.pane_id, input="queued\n"))
    records = json.loads(ok(tmux_server.tmms("thread", ref, "--json", pane=beta.pane_id)).stdout)
    assert [r["folder"] for r in records] == ["read", "outbox"]  # queued and sent copies count once; replying read it


def test_thread_of_an_unknown_id_exits_11(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    _, beta, _ = panes
    proc = tmux_server.main("thread", "zzzz", pane=beta.pane_id)
    assert failed(proc, NO_SUCH_MESSAGE) == "tmms: error: no message matches 'zzzz' in the mail of beta"


# -- wait -----------------------------------------------------------------------------------------------


def test_wait_prints_a_waiting_message_and_marks_it_read(tmux_server: TmuxServer, home: Path,
                                                         panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    path = mail(tmux_server, alpha, beta, text="here already\n")
    stored = path.read_text()
    proc = ok(tmux_server.tmms("wait", "--timeout", "5", pane=beta.pane_id))
    assert proc.stdout == stored
    assert read_dir(beta) == [beta.inbox / "read" / path.name]
    assert [r["mailbox"] for r in journal(home) if r["event"] == "read"] == ["beta"]


def test_wait_times_out_with_exit_1(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    _, beta, _ = panes
    proc = tmux_server.tmms("wait", "--timeout", "0.2", pane=beta.pane_id)
    assert proc.returncode == NOTHING
    assert (proc.stdout, proc.stderr) == ("", "tmms: no matching message within 0.2s\n")


def test_wait_from_ignores_other_senders(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, gamma = panes
    from_gamma = mail(tmux_server, gamma, beta, text="gamma here\n")
    proc = tmux_server.tmms("wait", "--from", "alpha", "--timeout", "0.2", pane=beta.pane_id)
    assert (proc.returncode, proc.stdout) == (NOTHING, "")
    assert messages(beta.inbox) == [from_gamma]
    from_alpha = mail(tmux_server, alpha, beta, text="alpha here\n")
    record = json.loads(ok(tmux_server.tmms("wait", "--from", "alpha", "--json", pane=beta.pane_id)).stdout)
    assert (record["from"], record["body"]) == ("alpha", "alpha here\n")
    assert record["path"] == str(beta.inbox / "read" / from_alpha.name)
    assert messages(beta.inbox) == [from_gamma]
    record = json.loads(ok(tmux_server.tmms("wait", "--from", "zed", "--from", "gamma", "--json",
                                            pane=beta.pane_id)).stdout)
    assert record["from"] == "gamma"


def test_wait_thread_takes_only_mail_of_that_thread(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    question = mail(tmux_server, beta, alpha, "-s", "Q")
    root_id, ref = front(question)["tmms_id"], short(question)
    other = mail(tmux_server, alpha, beta, "-s", "Other")
    ok(tmux_server.tmms("reply", ref, pane=alpha.pane_id, input="in the thread\n"))
    (answer,) = messages(alpha.outbox)
    answer = deliver(answer, beta)
    proc = ok(tmux_server.tmms("wait", "--thread", ref, "--keep", "--json", pane=beta.pane_id))
    record = json.loads(proc.stdout)
    assert (record["thread_id"], record["path"], record["folder"]) == (root_id, str(answer), "inbox")  # --keep
    assert messages(beta.inbox) == sorted([other, answer])
    # a thread id this mailbox has never seen is taken as given
    proc = tmux_server.tmms("wait", "--thread", "0000dead", "--timeout", "0.2", pane=beta.pane_id)
    assert proc.returncode == NOTHING


def test_wait_returns_a_message_that_arrives_after_it_started(tmux_server: TmuxServer, spawned: Spawned,
                                                              panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    tmux_server.start_server()
    waiter = spawned.start("wait", "--from", "alpha", "--timeout", "30", "--json", pane=beta)
    wait_until(lambda: watching_inbox(waiter))
    assert waiter.poll() is None
    send(tmux_server, alpha, "-t", "beta", "-s", "Late", text="just now\n")
    proc = spawned.finish(waiter)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert (record["from"], record["subject"], record["body"], record["folder"]) == ("alpha", "Late", "just now\n",
                                                                                     "read")
    assert messages(beta.inbox) == []


def test_two_waiters_never_get_the_same_message(tmux_server: TmuxServer, spawned: Spawned,
                                                panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    waiters = [spawned.start("wait", "--timeout", "30", "--json", pane=beta) for _ in range(2)]
    wait_until(lambda: all(watching_inbox(w) for w in waiters))
    paths = send(tmux_server, alpha, "-t", "beta", text="one\n") + send(tmux_server, alpha, "-t", "beta", text="two\n")
    for path in paths:
        deliver(path, beta)
    results = [spawned.finish(w) for w in waiters]
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    bodies = sorted(json.loads(r.stdout)["body"] for r in results)
    assert bodies == ["one\n", "two\n"]
    assert messages(beta.inbox) == []
    assert len(read_dir(beta)) == 2


# -- ask ------------------------------------------------------------------------------------------------


def test_ask_posts_then_prints_the_reply(tmux_server: TmuxServer, spawned: Spawned, home: Path,
                                         panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    tmux_server.start_server()
    asker = spawned.start("ask", "-t", "beta", "-s", "Is main green?", "--timeout", "30", pane=alpha,
                          text="please check\n")
    question = arrived(beta)
    data = front(question)
    assert data["tmms_thread_id"] == data["tmms_id"]  # ask starts a thread
    send(tmux_server, beta, "-t", "alpha", "-s", "Unrelated", text="not the answer\n")  # not in the thread
    ok(tmux_server.tmms("reply", short(question), pane=beta.pane_id, input="yes, green\n"))
    proc = spawned.finish(asker)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    (taken,) = read_dir(alpha)
    assert proc.stdout == taken.read_text()  # the reply, as stored
    assert (front(taken)["tmms_subject"], body(taken)) == ("Re: Is main green?", "yes, green\n")
    assert front(taken)["tmms_in_reply_to"] == data["tmms_id"]
    assert front(arrived(alpha))["tmms_subject"] == "Unrelated"  # left unread
    assert any(r["event"] == "read" and r["id"] == front(taken)["tmms_id"] for r in journal(home))


def test_ask_several_recipients_waits_for_every_reply(tmux_server: TmuxServer, spawned: Spawned,
                                                      panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, gamma = panes
    tmux_server.start_server()
    asker = spawned.start("ask", "-t", "beta", "-t", "gamma", "-s", "Vote", "--timeout", "30", "--json", pane=alpha,
                          text="yes or no?\n")
    to_beta, to_gamma = arrived(beta), arrived(gamma)
    thread_id = front(to_beta)["tmms_thread_id"]
    assert thread_id == front(to_gamma)["tmms_thread_id"]
    ok(tmux_server.tmms("reply", short(to_beta), pane=beta.pane_id, input="yes\n"))
    assert asker.poll() is None  # one answer is not all of them
    ok(tmux_server.tmms("reply", short(to_gamma), pane=gamma.pane_id, input="no\n"))
    proc = spawned.finish(asker)
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    assert sorted((r["from"], r["body"]) for r in records) == [("beta", "yes\n"), ("gamma", "no\n")]
    assert {r["thread_id"] for r in records} == {thread_id}


def test_ask_prints_the_replies_that_came_and_exits_1_naming_who_did_not_answer(
        tmux_server: TmuxServer, spawned: Spawned, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, beta, _ = panes
    asker = spawned.start("ask", "-t", "beta,gamma", "-s", "Vote", "--timeout", "5", "--json", pane=alpha,
                          text="yes or no?\n")
    wait_until(lambda: len(messages(alpha.outbox)) == 2)
    to_beta = deliver(next(p for p in messages(alpha.outbox) if front(p)["tmms_to"] == "beta"), beta)
    thread = str(front(to_beta)["tmms_thread_id"]).replace("-", "")[:8]
    ok(tmux_server.tmms("reply", short(to_beta), pane=beta.pane_id, input="yes\n"))
    (answer,) = messages(beta.outbox)
    deliver(answer, alpha)
    proc = spawned.finish(asker)
    assert proc.returncode == NOTHING
    (record,) = json.loads(proc.stdout)
    assert (record["from"], record["body"], record["folder"]) == ("beta", "yes\n", "read")
    assert without_no_server(proc.stderr) == f"tmms: no reply from gamma within 5s (thread {thread})\n"


def test_ask_without_a_reply_times_out_with_exit_1(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, _, _ = panes
    proc = tmux_server.tmms("ask", "-t", "beta", "-s", "Anyone?", "--timeout", "0.3", pane=alpha.pane_id,
                            input="hello?\n")
    assert proc.returncode == NOTHING
    (question,) = messages(alpha.outbox)  # the question was posted all the same
    thread = short(question)
    expected = f"tmms: no reply from beta within 0.3s (thread {thread})\n"
    assert (proc.stdout, without_no_server(proc.stderr)) == ("", expected)
    assert front(question)["tmms_thread_id"] == front(question)["tmms_id"]


def test_ask_timeout_json_prints_an_empty_list(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, _, _ = panes
    proc = tmux_server.tmms("ask", "-t", "beta,gamma", "--timeout", "0.1", "--json", pane=alpha.pane_id,
                            input="?\n")
    assert proc.returncode == NOTHING
    assert json.loads(proc.stdout) == []
    assert without_no_server(proc.stderr).startswith("tmms: no reply from beta, gamma within 0.1s (thread ")


def test_ask_without_a_recipient_exits_2(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, _, _ = panes
    proc = tmux_server.main("ask", "-s", "x", pane=alpha.pane_id, input="?\n")
    assert failed(proc, USAGE) == ("tmms: error: the following arguments are required: -t/--to "
                                   "(see 'tmms ask --help')")
    assert list(alpha.outbox.iterdir()) == []


def test_ask_an_empty_group_exits_2(tmux_server: TmuxServer, panes: tuple[Pane, Pane, Pane]) -> None:
    alpha, _, _ = panes
    proc = tmux_server.main("ask", "-t", "@nobody", "--timeout", "1", pane=alpha.pane_id, input="?\n")
    assert failed(proc, USAGE) == ("tmms: error: no recipient: group '@nobody' has no members "
                                   "(set @tmms_groups on their panes)")


# -- help -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["post", "reply", "ask", "inbox", "read", "thread", "wait"])
def test_every_mail_command_help_has_an_example(tmux_server: TmuxServer, command: str) -> None:
    proc = ok(tmux_server.tmms(command, "--help"))
    assert proc.stdout.startswith(f"usage: tmms {command}")
    examples = proc.stdout.split("examples:\n", 1)[1]
    assert f"tmms {command}" in examples
    assert proc.stderr == ""

"""``tmms ui`` in Textual's own test pilot: each key and state of the mailbox, the reader and the traffic tab.

The app runs headless on a real mailbox of a real tmux server; mail is real files, the journal a
real file, file events real inotify, and $EDITOR a real script.
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from rich.console import Console
from textual.pilot import Pilot

from conftest import Pane, TmuxServer, messages, split_message
from test_cli_startup import _modules_after
from test_terminal_safety import hostile_file
from tmms import api, journal
from tmms.message import compose
from tmms.tmux import Tmux
from tmms.tui.app import MailApp
from tmms.tui.reader import Reader

pytestmark = pytest.mark.anyio
GUARD = 20  # seconds: only so that a broken build fails instead of hanging; nothing is timed
SIZE = (120, 32)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def pair(tmux_server: TmuxServer) -> Iterator[tuple[Pane, Pane]]:
    """alpha (whose mailbox the ui shows) and beta, registered; no tmms server."""
    yield tmux_server.register("alpha"), tmux_server.register("beta")


def letter(inbox: Path, subject: str, minute: int, body: str = "", sender: str = "beta", *,
           thread: str | None = None, message_id: str | None = None) -> Path:
    """A message from ``sender`` to alpha, created ``minute`` minutes after a fixed moment."""
    moment = datetime(2026, 3, 22, 14, 0, tzinfo=UTC) + timedelta(minutes=minute)
    composed = compose(body or f"body of {subject}\n", sender, "alpha", subject, moment=moment, thread_id=thread,
                       message_id=message_id)
    path = inbox / composed.file_name
    path.write_text(composed.text, encoding="utf-8")
    return path


def screen_text(app: MailApp) -> str:
    """What the screen shows, as plain text (the same render the SVG screenshot is made of)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def until(pilot: Pilot[int], predicate: Callable[[], object]) -> None:
    """Let the app run until ``predicate`` holds (GUARD bounds it, so a broken build fails)."""
    with anyio.fail_after(GUARD):
        while not predicate():
            await pilot.pause(0.02)


@asynccontextmanager
async def running(tmux_server: TmuxServer, pane: Pane, *, watch: bool = True) -> AsyncIterator[
        tuple[MailApp, Pilot[int]]]:
    """The ui of ``pane``, headless, with all its mail read and drawn."""
    at = api.here(Tmux(socket_name=tmux_server.socket, env=tmux_server.env()), pane.pane_id)
    app = MailApp(at, watch=watch)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        yield app, pilot


def editor(tmp_path: Path, script: str) -> str:
    """A scripted $EDITOR: a shell script run with the file to edit as $1."""
    path = tmp_path / f"editor-{len(list(tmp_path.glob('editor-*')))}.sh"
    path.write_text("#!/bin/sh\nset -e\n" + script)
    path.chmod(0o755)
    return str(path)


# -- the list ------------------------------------------------------------------------------------


async def test_the_list_has_column_headers_stable_ids_and_unread_marks_newest_first(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    older = letter(alpha.inbox, "Older", 1)
    newer = letter(alpha.inbox, "Newer", 2)
    (alpha.inbox / "read").mkdir()
    done = letter(alpha.inbox / "read", "Done before", 0)
    async with running(tmux_server, alpha) as (app, _):
        shown = screen_text(app)
        assert "tmms · alpha" in shown and "2 unread · 3 messages" in shown
        header = next(line for line in shown.splitlines() if " Id " in line)
        assert header.split() == ["Id", "From", "Subject", "Date", "Thread"]
        rows = [line for line in shown.splitlines() if "beta" in line]
        assert [r.split()[0] for r in rows] == ["●", "●", split_message(done)[0]["tmms_id"][:8]]
        assert [split_message(p)[0]["tmms_id"][:8] in r for p, r in zip((newer, older, done), rows, strict=True)]
        assert "Newer" in rows[0] and "Older" in rows[1] and "Done before" in rows[2]
        assert app.mail.current is not None and app.mail.current.headers.subject == "Newer"


async def test_arrows_and_j_k_move_the_cursor(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    for minute, subject in enumerate(("One", "Two", "Three")):
        letter(alpha.inbox, subject, minute)
    async with running(tmux_server, alpha) as (app, pilot):
        seen = []
        for key in ("j", "down", "k", "up"):
            await pilot.press(key)
            seen.append(app.mail.current.headers.subject if app.mail.current else "")
        assert seen == ["Two", "One", "Two", "Three"]


async def test_a_long_list_pages_jumps_and_keeps_the_cursor_in_view(tmux_server: TmuxServer,
                                                                   pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    for minute in range(100):
        letter(alpha.inbox, f"Report {minute:03d}", minute)
    async with running(tmux_server, alpha) as (app, pilot):
        assert "Report 099" in screen_text(app) and "Report 000" not in screen_text(app)
        await pilot.press("end")
        await until(pilot, lambda: "Report 000" in screen_text(app))
        assert app.mail.cursor_row == 99 and "Report 099" not in screen_text(app)
        await pilot.press("pageup")
        assert app.mail.cursor_row < 99 and app.mail.current is not None
        assert app.mail.current.headers.subject in screen_text(app)
        await pilot.press("home", "pagedown")
        assert 0 < app.mail.cursor_row < 99
        await pilot.press("home")
        await until(pilot, lambda: "Report 099" in screen_text(app))
        await pilot.double_click(app.mail, offset=(20, 3))  # the third row: read at once
        await until(pilot, lambda: isinstance(app.screen, Reader) and "body of Report 097" in screen_text(app))


async def test_a_sender_cannot_style_the_screen_or_reach_the_terminal(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    letter(alpha.inbox, "[bold red]x[/] [link=http://evil]y[/link]", 1, body="[red]body[/red]\n", sender="b[i]e[/i]")
    hostile_file(alpha.inbox, "7e57ab1e-0000-4000-8000-000000000001", recipient="alpha")
    async with running(tmux_server, alpha) as (app, pilot):
        shown = screen_text(app)
        assert "[bold red]x[/] [link=http://evil]y[/link]" in shown and "b[i]e[/i]" in shown
        assert "^[]0;PWNED-TITLE^G^[[2J^[[HForged line<U+009B>31m<U+202E>evil<U+202C>"[:40] in shown
        assert "\x1b" not in shown.replace("\x1b[", "")  # no raw ESC other than rich's own styling
        await pilot.press("enter")  # the hostile one is the newest
        await until(pilot, lambda: isinstance(app.screen, Reader) and "FORGED" in screen_text(app))
        shown = screen_text(app)
        assert "ok^MFORGED" in shown and "mallory<U+2067>^[[8m" in shown
        await pilot.press("escape", "j", "enter")
        await until(pilot, lambda: isinstance(app.screen, Reader) and "[red]body[/red]" in screen_text(app))


async def test_a_hostile_mailbox_name_and_sender_show_visibly_in_the_bar_and_notices(
        tmux_server: TmuxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    odd = tmux_server.register("delta\x1b[8m")
    hostile_file(odd.inbox, "7e57ab1e-0000-4000-8000-000000000002", recipient="delta\x1b[8m")
    monkeypatch.setenv("VISUAL", editor(tmp_path, 'printf "ok\\n" > "$1"\n'))
    async with running(tmux_server, odd) as (app, pilot):
        assert "tmms · delta^[[8m" in screen_text(app)
        await pilot.press("r")
        await until(pilot, lambda: "reply sent to mallory<U+2067>^[[8m" in screen_text(app))
    assert len(messages(odd.outbox)) == 1


# -- reading -------------------------------------------------------------------------------------


async def test_enter_reads_marks_read_and_journals_and_escape_returns_to_the_same_letter(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    first = letter(alpha.inbox, "First", 1)
    letter(alpha.inbox, "Second", 2)
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.press("j", "enter")
        await until(pilot, lambda: isinstance(app.screen, Reader))
        shown = screen_text(app)
        assert "Subject:     First" in shown and "From:        beta" in shown and "body of First" in shown
        assert not first.exists() and (alpha.inbox / "read" / first.name).exists()
        events = list(journal.read(api.journal(app.at)))
        assert [(e["event"], e["mailbox"]) for e in events] == [("read", "alpha")]
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, Reader))
        assert "1 unread · 2 messages" in screen_text(app)
        assert app.mail.current is not None and app.mail.current.headers.subject == "First"
        assert app.mail.current.folder == "read"


async def test_a_long_message_scrolls_under_headers_that_stay(tmux_server: TmuxServer,
                                                              pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    body = "".join(f"{n}. line number {n}\n" for n in range(1, 161))
    letter(alpha.inbox, "Long", 1, body=body)
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Reader) and "line number 1" in screen_text(app))
        assert "line number 160" not in screen_text(app)
        await pilot.press("end")
        await until(pilot, lambda: "line number 160" in screen_text(app))
        assert "Subject:     Long" in screen_text(app)
        await pilot.press("home")
        await until(pilot, lambda: "line number 160" not in screen_text(app))
        await pilot.press("space", "space")
        await until(pilot, lambda: "line number 1." not in screen_text(app))
        assert "Subject:     Long" in screen_text(app)


async def test_t_shows_the_whole_thread(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    root = "a0000000-0000-4000-8000-000000000001"
    letter(alpha.inbox, "Plan", 1, body="the plan\n", message_id=root)
    letter(alpha.inbox, "Re: Plan", 2, body="a change to it\n", thread=root)
    letter(alpha.inbox, "Other", 3)
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.press("j", "t")
        await until(pilot, lambda: isinstance(app.screen, Reader))
        shown = screen_text(app)
        assert "Thread: Re: Plan · 2 message(s)" in shown
        assert "the plan" in shown and "a change to it" in shown and "body of Other" not in shown
        await pilot.press("q")
        await until(pilot, lambda: not isinstance(app.screen, Reader))


async def test_a_archives_and_u_marks_unread_again_from_the_list_and_the_reader(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    keep = letter(alpha.inbox, "Keep", 1)
    put_away = letter(alpha.inbox, "Put away", 2)
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.press("a")  # the newest, from the list
        await until(pilot, lambda: "1 unread · 1 messages" in screen_text(app))
        assert (alpha.inbox / "archive" / put_away.name).exists() and "archived" in screen_text(app)
        await pilot.press("enter")  # read Keep, then mark it unread from the reader
        await until(pilot, lambda: isinstance(app.screen, Reader))
        assert (alpha.inbox / "read" / keep.name).exists()
        await pilot.press("u")
        await until(pilot, lambda: not isinstance(app.screen, Reader) and "1 unread · 1 messages" in screen_text(app))
        assert keep.exists() and "marked unread" in screen_text(app)
        await pilot.press("u")  # already unread: nothing to do
        assert keep.exists()
        events = [(e["event"], e["mailbox"]) for e in journal.read(api.journal(app.at))]
        assert events == [("archived", "alpha"), ("read", "alpha"), ("unread", "alpha")]


# -- live ----------------------------------------------------------------------------------------


async def test_the_list_follows_file_events_mail_arriving_and_taken_elsewhere(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    letter(alpha.inbox, "First", 1)
    async with running(tmux_server, alpha) as (app, pilot):
        assert app.live is not None and app.live.available
        late = letter(alpha.inbox, "Late arrival", 2)
        await until(pilot, lambda: "Late arrival" in screen_text(app))
        assert "2 unread · 2 messages" in screen_text(app)
        (alpha.inbox / "read").mkdir()
        late.rename(alpha.inbox / "read" / late.name)  # another reader takes it (tmms read in another pane)
        await until(pilot, lambda: "1 unread · 2 messages" in screen_text(app))
        late.with_name("gone").touch()  # not a message: nothing changes
        (alpha.inbox / "read" / late.name).unlink()
        await until(pilot, lambda: "1 unread · 1 messages" in screen_text(app))


# -- writing -------------------------------------------------------------------------------------


async def test_r_replies_through_editor_in_the_thread(tmux_server: TmuxServer, pair: tuple[Pane, Pane],
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alpha, _ = pair
    original = letter(alpha.inbox, "Question", 1, body="are we there yet?\n")
    original_id = split_message(original)[0]["tmms_id"]
    seen = tmp_path / "template.txt"
    script = f'cp "$1" {seen}\n{{ printf "# Yes\\n\\nalmost there\\n"; cat "$1"; }} > "$1.new"\nmv "$1.new" "$1"\n'
    monkeypatch.setenv("EDITOR", editor(tmp_path, script))
    monkeypatch.delenv("VISUAL", raising=False)
    async with running(tmux_server, alpha) as (_, pilot):
        await pilot.press("r")
        await until(pilot, lambda: messages(alpha.outbox))
    head, _, body = split_message(messages(alpha.outbox)[0])
    assert head["tmms_to"] == "beta" and head["tmms_in_reply_to"] == original_id
    assert head["tmms_thread_id"] == original_id and head["tmms_subject"] == "Re: Question"
    assert body == "# Yes\n\nalmost there\n"  # a Markdown heading stays; the scissors part is gone
    template = seen.read_text()
    assert "Replying to beta: Question" in template and "> are we there yet?" in template


async def test_an_empty_reply_or_compose_sends_nothing(tmux_server: TmuxServer, pair: tuple[Pane, Pane],
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alpha, _ = pair
    letter(alpha.inbox, "Question", 1)
    monkeypatch.setenv("VISUAL", editor(tmp_path, 'touch "$1"\n'))  # leaves the template as it is
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.press("r")
        await until(pilot, lambda: "empty reply: nothing sent" in screen_text(app))
        await pilot.press("c")
        await until(pilot, lambda: "empty message: nothing sent" in screen_text(app))
    assert messages(alpha.outbox) == []


async def test_c_composes_a_new_message_to_the_names_given(tmux_server: TmuxServer, pair: tuple[Pane, Pane],
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alpha, _ = pair
    script = 'printf "To: beta\\nSubject: [b]plans[/b]\\n\\nlet us meet\\n" > "$1"\n'
    monkeypatch.setenv("EDITOR", editor(tmp_path, script))
    monkeypatch.delenv("VISUAL", raising=False)
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.press("c")
        await until(pilot, lambda: "sent to beta" in screen_text(app))
    head, _, body = split_message(messages(alpha.outbox)[0])
    assert (head["tmms_to"], head["tmms_subject"], body) == ("beta", "[b]plans[/b]", "let us meet\n")


async def test_an_editor_that_cannot_start_is_a_notice(tmux_server: TmuxServer, pair: tuple[Pane, Pane],
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alpha, _ = pair
    monkeypatch.setenv("VISUAL", str(tmp_path / "no-such-editor"))
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.press("c")
        await until(pilot, lambda: "cannot run the editor no-such-editor: No such file" in screen_text(app))
    assert messages(alpha.outbox) == []


# -- search, help, tabs, mouse -------------------------------------------------------------------


async def test_slash_searches_and_escape_clears(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    letter(alpha.inbox, "Build is green", 1)
    letter(alpha.inbox, "Lunch?", 2, sender="gamma", body="the pasta place? it has green chairs\n")
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.press("slash", *"green")
        await until(pilot, lambda: app.mail.row_count == 1)
        assert "1 match 'green'" in screen_text(app) and "Lunch?" not in screen_text(app)
        await pilot.press("enter")  # the bodies too (tmms search), the filter kept, back in the list
        await until(pilot, lambda: app.mail.row_count == 2)
        assert app.mail.has_focus and "2 match 'green'" in screen_text(app)
        await pilot.press("slash", *"gree")  # the field's text is selected: typing replaces it
        await until(pilot, lambda: app.mail.row_count == 1)  # typing again: headers only until Enter
        await pilot.press("slash", *"gamma", "escape")
        await until(pilot, lambda: app.mail.row_count == 2)
        assert app.mail.has_focus and "match" not in screen_text(app)


async def test_question_mark_shows_the_keys(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    kept = letter(alpha.inbox, "Keep me", 1)
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.press("question_mark")
        await until(pilot, lambda: "tmms ui: keys" in screen_text(app))
        shown = screen_text(app)
        for key in ("Enter", "reply in $EDITOR", "archive (into inbox/archive/)", "search", "mark unread"):
            assert key in shown
        await pilot.press("a", "r", "2")  # over the help, the mail keys do nothing
        assert app.tabs.active == "mail-tab" and kept.exists() and messages(alpha.outbox) == []
        await pilot.press("escape")
        await until(pilot, lambda: "tmms ui: keys" not in screen_text(app))


async def test_the_mouse_picks_a_row_and_a_tab(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    letter(alpha.inbox, "One", 1)
    letter(alpha.inbox, "Two", 2)
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.click(app.mail, offset=(20, 2))  # the second row, under the header
        await until(pilot, lambda: app.mail.current is not None and app.mail.current.headers.subject == "One")
        await pilot.click("Tab#--content-tab-traffic-tab")
        await until(pilot, lambda: app.tabs.active == "traffic-tab" and app.traffic.has_focus)
        await pilot.press("1")
        await until(pilot, lambda: app.tabs.active == "mail-tab" and app.mail.has_focus)


async def test_q_and_ctrl_c_quit(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    for key in ("q", "ctrl+c"):
        async with running(tmux_server, alpha) as (app, pilot):
            assert app.is_running
            await pilot.press(key)
            await until(pilot, lambda: not app.is_running)
        assert app.return_code == 0, key


async def test_an_empty_mailbox_says_so(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    async with running(tmux_server, alpha) as (app, pilot):
        assert "0 unread · 0 messages" in screen_text(app)
        await pilot.press("enter", "r", "t", "u", "a")  # nothing to act on: nothing happens
        assert not isinstance(app.screen, Reader) and messages(alpha.outbox) == []


# -- traffic -------------------------------------------------------------------------------------


def record(journal_path: str, event: str, at: str, **fields: str) -> None:
    """A journal line with a chosen time."""
    line = journal.json_object({"at": at, "event": event, **fields}) + "\n"
    with open(journal_path, "a", encoding="utf-8") as handle:
        handle.write(line)


async def test_the_traffic_tab_shows_each_message_and_its_times_as_the_journal_grows(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane], tmp_path: Path) -> None:
    alpha, beta = pair
    at = api.here(Tmux(socket_name=tmux_server.socket, env=tmux_server.env()), alpha.pane_id)
    path = api.journal(at)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    one = "11111111-0000-4000-8000-000000000001"
    record(path, "posted", "2026-03-22T14:00:00.000Z", id=one, to="beta", subject="[b]hi[/b]",
           path=f"{alpha.outbox}/x.md", **{"from": "alpha"})
    record(path, "delivered", "2026-03-22T14:00:00.120Z", id=one, path=f"{beta.inbox}/x.md", mailbox="beta")
    record(path, "posted", "2026-03-22T14:00:01.000Z", id="22222222-0000-4000-8000-000000000002", to="zed",
           subject="elsewhere", path=str(tmp_path / "other-server" / "outbox" / "y.md"), **{"from": "zed"})
    async with running(tmux_server, alpha) as (app, pilot):
        await pilot.press("2")
        await until(pilot, lambda: app.traffic.row_count == 1)
        shown = screen_text(app)
        header = next(line for line in shown.splitlines() if "Posted" in line)
        assert header.split() == ["Posted", "From", "To", "Subject", "Inbox", "Notify", "Doorbell", "Read", "Id"]
        row = next(line for line in shown.splitlines() if "11111111" in line)
        assert row.split()[1:8] == ["alpha", "beta", "[b]hi[/b]", "+120ms", "-", "-", "-"]
        assert "elsewhere" not in shown  # another tmux server's mailbox
        record(path, "notified", "2026-03-22T14:00:00.200Z", id=one, path=f"{beta.inbox}/x.md", mailbox="beta")
        record(path, "typed", "2026-03-22T14:00:01.000Z", id=one, mailbox="beta", pane=beta.pane_id)
        await until(pilot, lambda: "+1.0s…" in screen_text(app))
        record(path, "submitted", "2026-03-22T14:00:01.500Z", id=one, mailbox="beta", pane=beta.pane_id)
        record(path, "read", "2026-03-22T14:02:00.000Z", id=one, mailbox="beta", path=f"{beta.inbox}/read/x.md")
        await until(pilot, lambda: "+2m" in screen_text(app))
        row = next(line for line in screen_text(app).splitlines() if "11111111" in line)
        assert row.split()[4:8] == ["+120ms", "+200ms", "+1.5s", "+2m"]
        assert app.traffic.row_count == 1
        await pilot.press("k", "j")  # the table takes the keys, the mail list stays where it was
        assert app.traffic.has_focus and app.traffic.cursor_row == 0


# -- Textual only for ui -------------------------------------------------------------------------


def test_post_and_inbox_never_import_textual_or_the_ui(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    for argv in (("post", "-t", "beta", "-s", "Hi"), ("inbox",)):
        code, modules = _modules_after(tmux_server, alpha.pane_id, *argv)
        assert code == 0, argv
        assert [m for m in modules if m.split(".")[0] == "textual" or m.startswith("tmms.tui")] == [], argv

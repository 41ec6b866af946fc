"""``tmms ui`` (the prefix+M popup) acts on the message shown with the number typed (issue #7, item 18).

Numbers stay bound to the list on the screen: reading, replying, mail arriving and mail taken by
another reader renumber nothing until the list is redrawn (``g``, Enter or ``a``). Each test runs
the real ui on a real terminal: in the popup of a tmux client attached from a second private
server, or in a tmux pane; replies are checked in the outbox by ``tmms_in_reply_to``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import Pane, TmuxServer, messages, ok, wait_until
from test_panes_cli import client, first_pane, front_matter, register, screen  # noqa: F401 - client: fixture
from test_terminal_safety import FORBIDDEN, SGR, hostile_file
from tmms.message import compose

FIRST, SECOND, THIRD, LATE = (f"{n}0000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3, 4))


def letter(inbox: Path, message_id: str, subject: str, minute: int, sender: str = "beta") -> Path:
    """A message from ``sender`` with a chosen id and creation time, written into ``inbox``."""
    moment = datetime(2026, 3, 22, 14, 0, tzinfo=UTC) + timedelta(minutes=minute)
    composed = compose(f"body of {subject}\n", sender, "alpha", subject, message_id=message_id, moment=moment)
    path = inbox / composed.file_name
    path.write_text(composed.text, encoding="utf-8")
    return path


def replies(outbox: Path) -> list[str]:
    """The ``tmms_in_reply_to`` of every reply in the outbox, oldest first."""
    found = [front_matter(path) for path in messages(outbox)]
    return [str(data["tmms_in_reply_to"]) for data in sorted(found, key=lambda d: str(d["tmms_created_at"]))]


def typist(send: Callable[..., str], target: str) -> Callable[..., None]:
    """Type each line into ``target`` and press Enter after it."""
    def keys(*lines: str) -> None:
        for line in lines:
            send("send-keys", "-t", target, "-l", line)
            send("send-keys", "-t", target, "Enter")
    return keys


@pytest.fixture
def alpha_on_first_pane(tmux_server: TmuxServer) -> Pane:
    """alpha registered on the pane the attached client looks at (where prefix+M opens its popup)."""
    report = register(tmux_server, "alpha", "--no-server", pane=first_pane(tmux_server))
    tmux_server.register("beta")
    return Pane(report["pane_id"], "alpha", Path(report["inbox"]), Path(report["outbox"]))


def test_popup_reply_after_a_read_answers_the_message_shown_with_that_number(
        tmux_server: TmuxServer, client: TmuxServer, alpha_on_first_pane: Pane) -> None:  # noqa: F811
    alpha = alpha_on_first_pane
    for minute, (message_id, subject) in enumerate(((FIRST, "First"), (SECOND, "Second"), (THIRD, "Third"))):
        letter(alpha.inbox, message_id, subject, minute)
    ok(tmux_server.tmms("bind", "--install"))
    keys = typist(client.tmux, "outer")
    client.tmux("send-keys", "-t", "outer", "C-b", "M")
    wait_until(lambda: "3 unread" in screen(client) and "Third" in screen(client))
    keys("1")
    wait_until(lambda: "body of First" in screen(client))
    keys("r 2")
    wait_until(lambda: "reply to beta: type the message" in screen(client))
    keys("on it", ".")
    wait_until(lambda: len(messages(alpha.outbox)) == 1)
    assert replies(alpha.outbox) == [SECOND]  # before the fix: THIRD, the second of what was left unread
    keys("2")
    wait_until(lambda: "body of Second" in screen(client))
    assert "body of Third" not in screen(client)
    keys("r 1", "done", ".")  # the first message, read and moved into read/, is still number 1
    wait_until(lambda: len(messages(alpha.outbox)) == 2)
    assert replies(alpha.outbox) == [SECOND, FIRST]
    assert [front_matter(path)["tmms_id"] for path in messages(alpha.inbox)] == [THIRD]
    keys("q")
    wait_until(lambda: "tmms · alpha" not in screen(client))


def test_mail_arriving_or_taken_while_the_list_is_shown_renumbers_nothing_until_a_redraw(
        tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    first = letter(alpha.inbox, FIRST, "First", 10)
    second = letter(alpha.inbox, SECOND, "Second", 20)
    ui = tmux_server.tmux("new-window", "-d", "-P", "-F", "#{pane_id}",
                          f"{sys.executable} -m tmms -L {tmux_server.socket} ui --pane {alpha.pane_id}").strip()

    def shown() -> str:
        return tmux_server.tmux("capture-pane", "-p", "-J", "-S", "-500", "-t", ui)

    keys = typist(tmux_server.tmux, ui)
    wait_until(lambda: "2 unread" in shown())
    letter(alpha.inbox, LATE, "Late", 0)  # arrives now, and sorts first on the next list
    keys("1")
    wait_until(lambda: "body of First" in shown())
    assert "body of Late" not in shown()
    keys("r 2", "reply to second", ".")
    wait_until(lambda: len(messages(alpha.outbox)) == 1)
    assert replies(alpha.outbox) == [SECOND]
    ok(tmux_server.tmms("read", SECOND[:8], pane=alpha.pane_id))  # another reader takes message 2
    keys("2")
    wait_until(lambda: "that message was moved meanwhile" in shown())
    assert "body of Late" not in shown() and (alpha.inbox / "read" / second.name).exists()
    keys("r 2", "still the second", ".")  # the reply needs only what was shown: it still answers message 2
    wait_until(lambda: len(messages(alpha.outbox)) == 2)
    keys("1")  # read before, now in read/: shown again, not the late one
    wait_until(lambda: shown().count("body of First") == 2)
    assert (alpha.inbox / "read" / first.name).exists()
    keys("g")  # the redraw numbers the late message
    wait_until(lambda: "1 unread" in shown())
    keys("r 1", "late answer", ".")
    wait_until(lambda: len(messages(alpha.outbox)) == 3)
    assert replies(alpha.outbox) == [SECOND, SECOND, LATE]
    keys("a")  # all mail, the unread first: numbers follow this new list
    wait_until(lambda: shown().count("tmms · alpha") == 3)
    keys("3")
    wait_until(lambda: "body of Second" in shown())
    keys("q")
    wait_until(lambda: ui not in tmux_server.tmux("list-panes", "-a", "-F", "#{pane_id}").split())


def test_popup_shows_a_hostile_message_visibly(tmux_server: TmuxServer, client: TmuxServer,  # noqa: F811
                                              alpha_on_first_pane: Pane) -> None:
    alpha = alpha_on_first_pane
    hostile_file(alpha.inbox, FIRST, recipient="alpha")
    tmux_server.tmux("set-option", "-g", "set-clipboard", "on")
    ok(tmux_server.tmms("bind", "--install"))
    keys = typist(client.tmux, "outer")
    client.tmux("send-keys", "-t", "outer", "C-b", "M")
    wait_until(lambda: "^[]0;PWNED-TITLE^G" in screen(client))
    keys("1")
    wait_until(lambda: "^[]52;c;cm0gLXJmIH4=^Gclipboard" in screen(client))
    styled = client.tmux("capture-pane", "-e", "-p", "-t", "outer")
    assert FORBIDDEN.findall(SGR.sub("", styled)) == [], ascii(styled)
    assert "tmms · alpha" in screen(client)  # no clear-screen ran: the list is still above the message
    assert "ok^MFORGED" in screen(client) and "^[[2J" in screen(client)
    titles = tmux_server.tmux("list-panes", "-a", "-F", "#{pane_title}")
    assert "PWNED" not in titles and tmux_server.tmux("list-buffers") == ""
    keys("q")
    wait_until(lambda: "tmms · alpha" not in screen(client))

"""``tmms ui`` for real: prefix+M in a tmux client attached to a real tmux server opens the Textual mailbox.

The client runs in a pane of a second private tmux server, so keys typed there reach it as a
person's would, and capture-pane shows what the client shows, the popup included. Replies go
through a scripted $EDITOR (set in the tmux server's global environment, which the popup gets).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import Pane, TmuxServer, failed, messages, ok, wait_until
from test_panes_cli import client, first_pane, front_matter, register, screen  # noqa: F401 - client: fixture
from test_terminal_safety import FORBIDDEN, SGR, hostile_file
from tmms.message import compose

LONG = "a0000000-0000-4000-8000-000000000001"


def letter(inbox: Path, message_id: str, subject: str, body: str, minute: int = 0) -> Path:
    """A message from beta to alpha with a chosen id, written into ``inbox``."""
    moment = datetime(2026, 3, 22, 14, 0, tzinfo=UTC) + timedelta(minutes=minute)
    composed = compose(body, "beta", "alpha", subject, message_id=message_id, moment=moment)
    path = inbox / composed.file_name
    path.write_text(composed.text, encoding="utf-8")
    return path


@pytest.fixture
def alpha_on_first_pane(tmux_server: TmuxServer) -> Pane:
    """alpha registered on the pane the attached client looks at (where prefix+M opens its popup)."""
    report = register(tmux_server, "alpha", "--no-server", pane=first_pane(tmux_server))
    tmux_server.register("beta")
    return Pane(report["pane_id"], "alpha", Path(report["inbox"]), Path(report["outbox"]))


def scripted_editor(server: TmuxServer, text: str) -> None:
    """$EDITOR for what the tmux server starts: a script that puts the line ``text`` above the template."""
    script = server.root / "editor.sh"
    script.write_text(f'#!/bin/sh\n{{ printf "%s\\n" "{text}"; cat "$1"; }} > "$1.new" && mv "$1.new" "$1"\n')
    script.chmod(0o755)
    server.tmux("set-environment", "-g", "EDITOR", str(script))
    server.tmux("set-environment", "-g", "-u", "VISUAL", check=False)


def test_popup_reads_a_long_message_to_its_end_and_replies_through_the_editor(
        tmux_server: TmuxServer, client: TmuxServer, alpha_on_first_pane: Pane) -> None:  # noqa: F811
    alpha = alpha_on_first_pane
    body = "".join(f"{n}. line number {n}\n" for n in range(1, 160)) + "160. the very last line\n"
    letter(alpha.inbox, LONG, "A long one", body)
    scripted_editor(tmux_server, "Read it all; agreed.")
    ok(tmux_server.tmms("bind", "--install"))
    client.tmux("send-keys", "-t", "outer", "C-b", "M")
    wait_until(lambda: "tmms · alpha" in screen(client) and "A long one" in screen(client))
    assert "1 unread" in screen(client) and " Id " in screen(client) and "●" in screen(client)
    client.tmux("send-keys", "-t", "outer", "Enter")
    wait_until(lambda: "line number 1" in screen(client))
    assert "the very last line" not in screen(client) and "Subject:" in screen(client)
    client.tmux("send-keys", "-t", "outer", "End")
    wait_until(lambda: "the very last line" in screen(client))
    assert "Subject:     A long one" in screen(client)  # the headers stay while the body scrolls
    assert (alpha.inbox / "read").is_dir() and messages(alpha.inbox) == []
    client.tmux("send-keys", "-t", "outer", "r")
    wait_until(lambda: messages(alpha.outbox))
    (reply,) = messages(alpha.outbox)
    data = front_matter(reply)
    assert (data["tmms_to"], data["tmms_subject"]) == ("beta", "Re: A long one")
    assert data["tmms_in_reply_to"] == data["tmms_thread_id"] == LONG
    assert reply.read_text().endswith("\n---\nRead it all; agreed.\n")
    wait_until(lambda: "the very last line" in screen(client))  # back in the message after the editor
    client.tmux("send-keys", "-t", "outer", "q")
    wait_until(lambda: "0 unread" in screen(client))
    client.tmux("send-keys", "-t", "outer", "q")
    wait_until(lambda: "tmms · alpha" not in screen(client))


def test_popup_shows_a_hostile_message_visibly(tmux_server: TmuxServer, client: TmuxServer,  # noqa: F811
                                              alpha_on_first_pane: Pane) -> None:
    alpha = alpha_on_first_pane
    hostile_file(alpha.inbox, LONG, recipient="alpha")
    tmux_server.tmux("set-option", "-g", "set-clipboard", "on")
    ok(tmux_server.tmms("bind", "--install"))
    client.tmux("send-keys", "-t", "outer", "C-b", "M")
    wait_until(lambda: "^[]0;PWNED-TITLE^G" in screen(client))
    client.tmux("send-keys", "-t", "outer", "Enter")
    wait_until(lambda: "ok^MFORGED" in screen(client))
    styled = client.tmux("capture-pane", "-e", "-p", "-t", "outer")
    assert FORBIDDEN.findall(SGR.sub("", styled)) == [], ascii(styled)
    assert "^[[2J" in screen(client)
    titles = tmux_server.tmux("list-panes", "-a", "-F", "#{pane_title}")
    assert "PWNED" not in titles and tmux_server.tmux("list-buffers") == ""
    client.tmux("send-keys", "-t", "outer", "q")
    client.tmux("send-keys", "-t", "outer", "q")
    wait_until(lambda: "tmms · alpha" not in screen(client))


def test_ui_without_a_terminal_says_what_to_use_and_exits_2(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    assert failed(tmux_server.tmms("ui", "--pane", alpha.pane_id, input="q\n"), 2) == (
        "tmms: error: tmms ui needs a terminal (stdin and stdout); in scripts use tmms inbox, tmms read, "
        "tmms reply and tmms log")


def test_ui_in_a_pane_of_an_unregistered_pane_exits_5_and_outside_tmux_exits_4(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    assert failed(tmux_server.main("ui", "--pane", pane), 5).startswith(
        f"tmms: error: pane {pane} is not a tmms mailbox")
    assert failed(tmux_server.main("ui"), 4).startswith("tmms: error: not inside a tmux pane")


def test_ui_runs_in_a_plain_pane_and_quits(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    ui = tmux_server.tmux("new-window", "-d", "-P", "-F", "#{pane_id}",
                          f"{sys.executable} -m tmms -L {tmux_server.socket} ui --pane {alpha.pane_id}").strip()
    wait_until(lambda: "0 unread · 0 messages" in tmux_server.tmux("capture-pane", "-p", "-t", ui))
    tmux_server.tmux("send-keys", "-t", ui, "q")
    wait_until(lambda: ui not in tmux_server.tmux("list-panes", "-a", "-F", "#{pane_id}").split())

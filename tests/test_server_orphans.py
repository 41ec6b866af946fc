"""An outbox whose pane has closed is drained, not left queued: its files reach an inbox (sent as
its last owner) or dead letter, also when the pane closed while no server ran (issue 7, item 19)."""

from __future__ import annotations

import json
import os
import signal
import stat
import uuid
from pathlib import Path

import pytest

from conftest import TmuxServer, messages, wait_until
from test_server_events import Served, StartServer, ids_in, reason_of, start_server
from tmms import store
from tmms.message import read_headers
from tmms.server.router import Status

__all__ = ["start_server"]  # the fixture, shared with test_server_events

TRIALS = 24


def _write(outbox: Path, claimed: str, to: str) -> str:
    """A message as tmms post writes it (a dot file, then a link); its id."""
    message_id = str(uuid.uuid4())
    text = (f"---\ntmms_id: {message_id}\ntmms_from: {claimed}\ntmms_to: {to}\n"
            f"tmms_created_at: '2026-03-22T14:30:05.000Z'\n---\nbody\n")
    store.write_new(str(outbox), f"{claimed}-{message_id}.md", text.encode())
    return message_id


def _served(served: Served, outbox: Path) -> bool:
    return str(outbox) in served.server.registry.by_outbox


def _senders(folder: Path) -> dict[str, str]:
    return {(h := read_headers(p.read_text())).message_id: h.sender for p in messages(folder)}


def test_a_message_written_just_before_its_pane_closes_is_delivered_as_from_that_pane(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    beta = tmux_server.register("beta")
    served = start_server(polling_interval=0.5)
    sent: dict[str, str] = {}
    for n in range(TRIALS):
        pane = tmux_server.register(f"s{n}")
        wait_until(lambda pane=pane: _served(served, pane.outbox))  # type: ignore[misc]
        claimed = "someone-else" if n % 3 == 0 else pane.name  # a wrong claim is corrected all the same
        sent[_write(pane.outbox, claimed, "beta")] = pane.name
        tmux_server.tmux("kill-pane", "-t", pane.pane_id)
    wait_until(lambda: len(messages(beta.inbox)) == TRIALS, timeout=60)
    served.settle()
    served.stop()
    assert _senders(beta.inbox) == sent
    left = [p for n in range(TRIALS) for p in messages(tmux_server.root / "mail" / f"s{n}" / "outbox")]
    assert (len(left), messages(tmux_server.root / "dead")) == (0, [])


def test_tmms_post_then_kill_pane_is_delivered_each_time(tmux_server: TmuxServer, start_server: StartServer) -> None:
    beta = tmux_server.register("beta")
    served = start_server(polling_interval=0.5)
    names = []
    for n in range(5):
        pane = tmux_server.register(f"p{n}")
        wait_until(lambda pane=pane: _served(served, pane.outbox))  # type: ignore[misc]
        done = tmux_server.tmms("post", "-t", "beta", "-s", f"last words {n}", input="bye\n", pane=pane.pane_id)
        assert done.returncode == 0, done.stderr
        tmux_server.tmux("kill-pane", "-t", pane.pane_id)
        names.append(pane.name)
    wait_until(lambda: len(messages(beta.inbox)) == len(names), timeout=30)
    served.stop()
    assert sorted(_senders(beta.inbox).values()) == sorted(names)


LEAVINGS = {
    "pane-killed": ["kill-pane", "-t", "{pane}"],
    "pane-disabled": ["set-option", "-p", "-t", "{pane}", "@tmms_enabled", "false"],
    "outbox-moved": ["set-option", "-p", "-t", "{pane}", "@tmms_outbox", "{moved}"],
}


@pytest.mark.parametrize("leaving", list(LEAVINGS))
def test_a_file_that_lands_in_an_outbox_after_its_pane_left_it_is_drained_on_its_event(
    tmux_server: TmuxServer, start_server: StartServer, leaving: str
) -> None:
    beta = tmux_server.register("beta")
    alpha = tmux_server.register("alpha")
    served = start_server(polling_interval=3600)  # no scan: only the watch of the former outbox finds it
    wait_until(lambda: _served(served, alpha.outbox))
    moved = tmux_server.root / "elsewhere"
    moved.mkdir()
    tmux_server.tmux(*[a.format(pane=alpha.pane_id, moved=moved) for a in LEAVINGS[leaving]])
    wait_until(lambda: str(alpha.outbox) in served.server.router.former_owners)
    late = _write(alpha.outbox, "forged", "beta")  # a background job of the closed pane, say
    wait_until(lambda: ids_in(beta.inbox) == [late])
    served.stop()
    assert _senders(beta.inbox) == {late: "alpha"}
    assert messages(alpha.outbox) == []


def test_a_message_for_an_unknown_recipient_whose_pane_closed_goes_to_dead_letter(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    served = start_server(recipient_grace_seconds=1, polling_interval=0.3)
    wait_until(lambda: _served(served, alpha.outbox))
    ghost = _write(alpha.outbox, "alpha", "ghost")
    wait_until(lambda: ghost in served.ids(Status.HELD))
    tmux_server.tmux("kill-pane", "-t", alpha.pane_id)
    [dead] = wait_until(lambda: messages(tmux_server.root / "dead"), timeout=15)
    served.settle()
    served.stop()
    assert "unknown recipient 'ghost'" in reason_of(dead)
    assert read_headers(dead.read_text()).message_id == ghost
    assert messages(alpha.outbox) == []
    assert str(alpha.outbox) not in served.server.router.former_owners  # drained, then forgotten


def test_a_held_message_whose_pane_closed_still_reaches_a_recipient_registered_in_its_grace(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    served = start_server(recipient_grace_seconds=30, polling_interval=0.3)
    wait_until(lambda: _served(served, alpha.outbox))
    late = _write(alpha.outbox, "alpha", "late")
    wait_until(lambda: late in served.ids(Status.HELD))
    tmux_server.tmux("kill-pane", "-t", alpha.pane_id)
    wait_until(lambda: str(alpha.outbox) in served.server.router.former_owners)
    recipient = tmux_server.register("late")
    wait_until(lambda: ids_in(recipient.inbox) == [late])
    served.stop()
    assert _senders(recipient.inbox) == {late: "alpha"}


def test_an_outbox_whose_pane_closed_while_no_server_ran_is_drained_by_the_next_server(
    tmux_server: TmuxServer,
) -> None:
    old = os.umask(0o022)
    try:
        beta = tmux_server.register("beta")
        alpha = tmux_server.register("alpha")
        first = tmux_server.start_server()
        seen = _write(alpha.outbox, "alpha", "beta")  # proof that this server serves alpha's outbox
        wait_until(lambda: ids_in(beta.inbox) == [seen])
        tmux_server.stop(first, signal.SIGKILL)
        queued = [_write(alpha.outbox, "alpha", "beta"), _write(alpha.outbox, "mallory", "beta")]
        tmux_server.tmux("kill-pane", "-t", alpha.pane_id)
        second = tmux_server.start_server()
        wait_until(lambda: sorted(ids_in(beta.inbox)) == sorted([seen, *queued]))
        wait_until(lambda: b"drained (no pane owns it)" in tmux_server.server_log(second))
        tmux_server.stop(second)
    finally:
        os.umask(old)
    assert _senders(beta.inbox) == {seen: "alpha", queued[0]: "alpha", queued[1]: "alpha"}
    assert messages(alpha.outbox) == []
    [record] = (tmux_server.root / "home" / ".local" / "state" / "tmms").glob("outboxes-*.json")
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert str(alpha.outbox) not in json.loads(record.read_text())  # forgotten once empty
    assert str(beta.outbox) in json.loads(record.read_text())

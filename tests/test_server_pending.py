"""Messages that cannot go yet are revisited by the server on its own: held for an unknown
recipient during a grace period, or looked at again when a writer still had them open."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from conftest import TmuxServer, messages, wait_until
from test_server_events import StartServer, ids_in, message_text, reason_of, start_server, write_message
from tmms import config, store
from tmms.errors import ConfigError
from tmms.server.router import Status

__all__ = ["start_server"]  # the fixture, shared with test_server_events


# -- config ---------------------------------------------------------------------------------------


def test_recipient_grace_seconds_defaults_to_2_and_is_in_the_template(tmp_path: Path) -> None:
    assert config.Config().recipient_grace_seconds == 2.0
    assert "\nrecipient_grace_seconds: 2\n" in config.TEMPLATE
    loaded = config.parse(b"recipient_grace_seconds: 0.5\n", str(tmp_path / "c.yml"), {"HOME": str(tmp_path)})
    assert (loaded.recipient_grace_seconds, loaded.warnings) == (0.5, ())


@pytest.mark.parametrize(("text", "message"), [
    ("recipient_grace_seconds: -1\n", "recipient_grace_seconds must be >= 0.0"),
    ("recipient_grace_seconds: soon\n", "recipient_grace_seconds must be a number"),
], ids=["negative", "text"])
def test_a_bad_recipient_grace_seconds_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.parse(text.encode(), str(tmp_path / "c.yml"), {"HOME": str(tmp_path)})


# -- unknown recipients ---------------------------------------------------------------------------


def test_a_message_held_for_an_unknown_recipient_is_delivered_when_its_pane_appears(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    served = start_server(recipient_grace_seconds=60, polling_interval=3600)
    message_id = write_message(alpha.outbox, "alpha", "late")
    wait_until(lambda: message_id in served.ids(Status.HELD))  # seen, and the panes re-read: unknown
    late = tmux_server.register("late")
    wait_until(lambda: ids_in(late.inbox) == [message_id])
    served.stop()
    assert messages(alpha.outbox) == []
    assert messages(tmux_server.root / "dead") == []


def test_a_held_message_is_dead_lettered_after_the_grace_without_waiting_for_a_scan(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    served = start_server(recipient_grace_seconds=0.5, polling_interval=3600)
    message_id = write_message(alpha.outbox, "alpha", "ghost")
    [dead] = wait_until(lambda: messages(tmux_server.root / "dead"))
    served.stop()
    assert "unknown recipient 'ghost'" in reason_of(dead)
    assert served.ids(Status.DEAD) == [message_id]
    assert message_id in served.ids(Status.HELD)
    assert messages(alpha.outbox) == []


def test_a_backlog_of_10000_messages_for_an_unknown_recipient_reads_the_panes_rarely(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    backlog = {write_message(alpha.outbox, "alpha", "late") for _ in range(10_000)}
    served = start_server(recipient_grace_seconds=3600, polling_interval=3600)
    wait_until(lambda: set(served.ids(Status.HELD)) >= backlog, timeout=120)
    late = tmux_server.register("late")
    wait_until(lambda: len(served.ids(Status.DELIVERED)) >= len(backlog), timeout=120)
    served.stop()
    assert set(ids_in(late.inbox)) == backlog
    assert messages(tmux_server.root / "dead") == []
    # Each file was routed twice (held, then delivered); the panes were read a few times a second
    # at most, never once per file.
    assert served.server.counters.refreshes < len(backlog) // 20, served.server.counters.refreshes


# -- files that were not ready ------------------------------------------------------------------------


def test_a_file_whose_close_is_reported_under_another_name_is_delivered_without_a_scan(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    served = start_server(polling_interval=3600)
    message_id = str(uuid.uuid4())
    temp, final = alpha.outbox / ".writing", alpha.outbox / "linked-while-open.md"
    with open(temp, "w") as writer:
        writer.write(message_text("alpha", "beta", message_id))
        writer.flush()
        os.link(temp, final)  # a Maildir-style writer that links before it closes
        os.unlink(temp)
        wait_until(lambda: any(o.source == str(final) and o.status is Status.PENDING for o in list(served.outcomes)))
    # The close is reported as '.writing', which the server ignores: it must look again by itself.
    wait_until(lambda: ids_in(beta.inbox) == [message_id])
    served.stop()


def test_an_inbox_file_written_in_place_is_notified_once_it_is_complete(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    out = tmux_server.root / "notified"
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify=f"cat ${{{{filepath}}}} >> {out}; echo '#end' >> {out}")
    served = start_server(polling_interval=3600)
    in_place = str(uuid.uuid4())
    text = message_text("alpha", "beta", in_place, body="first half\n")
    with open(beta.inbox / "in-place.md", "w") as writer:
        writer.write(text)  # a complete front matter already, and more to come
        writer.flush()
        # A message routed after this file appeared: once it is notified, the server has seen
        # the file above (one inotify queue, in order) and must have left it alone.
        barrier = write_message(alpha.outbox, "alpha", "beta")
        wait_until(lambda: served.notified == [barrier])
        writer.write("second half\n")
    wait_until(lambda: sorted(served.notified) == sorted([barrier, in_place]))
    served.settle()
    served.stop()
    assert sorted(served.notified) == sorted([barrier, in_place])
    notified = out.read_text()
    assert notified.count("#end") == 2
    assert text + "second half\n#end\n" in notified


def test_an_unparseable_file_is_dead_lettered_once_settled_without_a_scan(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    served = start_server(settle_seconds=0.3, polling_interval=3600)
    store.write_new(str(alpha.outbox), "broken.md", b"---\ntmms_to: [unclosed\n---\n")
    [dead] = wait_until(lambda: messages(tmux_server.root / "dead"))
    served.stop()
    assert dead.name == "broken.md"
    assert reason_of(dead)

"""The server under load and change: bursts, a changing set of panes, event storms, lost events.

These tests run a ``Server`` in a thread of the test (real tmux on a private socket, real files,
real notify commands), so they can read what it reported through ``on_outcome`` and ``on_notify``
and wait until it is idle before counting.
"""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import TmuxServer, messages, wait_until
from tmms import store
from tmms.config import Config
from tmms.message import read_headers
from tmms.server.loop import Server
from tmms.server.router import Outcome, Status
from tmms.server.runner import Detail, Event, Job
from tmms.tmux import Tmux
from tmms.watch import Batch, Watcher


def message_text(sender: str, to: str, message_id: str, body: str = "body\n") -> str:
    """A complete message as TMMS writes it."""
    return (f"---\ntmms_id: {message_id}\ntmms_from: {sender}\ntmms_to: {to}\n"
            f"tmms_created_at: '2026-03-22T14:30:05.000Z'\n---\n{body}")


def write_message(outbox: Path, sender: str, to: str, message_id: str | None = None) -> str:
    """Write one message the way ``tmms post`` does (temporary dot-file, then rename); its id."""
    message_id = message_id or str(uuid.uuid4())
    name = f"20260322-143005_{sender}_to_{to}_{message_id.replace('-', '')[:8]}.md"
    store.write_new(str(outbox), name, message_text(sender, to, message_id).encode(), durable=False)
    return message_id


def ids_in(folder: Path) -> list[str]:
    """The tmms_id of every message in a folder."""
    return [read_headers(path.read_text()).message_id for path in messages(folder)]


class Served:
    """A Server running in a thread, with what it reported."""

    def __init__(self, tmux: Tmux, config: Config, env: dict[str, str], watcher: Watcher | None) -> None:
        self.outcomes: list[Outcome] = []
        self.notified: list[str] = []  # the TMMS_ID of every notify command started
        self.errors: list[BaseException] = []
        self.server = Server(tmux, config, env=env, on_outcome=self.outcomes.append, on_notify=self._on_notify,
                             watcher=watcher)
        self.thread = threading.Thread(target=self._run, name="tmms-test-server", daemon=True)

    def _on_notify(self, event: Event, job: Job, _detail: Detail) -> None:
        if event == "started":
            self.notified.append(job.env.get("TMMS_ID", ""))

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # reported by stop(), which every test reaches
            self.errors.append(exc)

    def ids(self, status: Status) -> list[str]:
        """The message ids of the outcomes with ``status``."""
        return [o.headers.message_id for o in list(self.outcomes) if o.status is status and o.headers]

    def settle(self) -> None:
        """Wait until no notify runs or waits and a few more full scans have found nothing to do."""
        wait_until(lambda: self.server.notifier.pending() == 0, timeout=60)
        reads = self.server.counters.refreshes
        # The panes are read every second in the same loop that scans: two reads later, every
        # test's polling_interval (at most 0.5 s) has come round at least twice.
        wait_until(lambda: self.server.counters.refreshes >= reads + 2, timeout=30)
        wait_until(lambda: self.server.notifier.pending() == 0, timeout=60)

    def stop(self) -> None:
        self.server.request_stop()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "the server did not stop"
        assert self.errors == []


class LogRecords(logging.Handler):
    """Collects the messages the server logs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


StartServer = Callable[..., Served]


@pytest.fixture
def start_server(tmux_server: TmuxServer) -> Iterator[StartServer]:
    """Starts Servers in threads (waiting until each serves); stops them all at the end."""
    logger = logging.getLogger("tmms")
    records = LogRecords()
    level = logger.level
    logger.addHandler(records)
    logger.setLevel(logging.INFO)
    sigio = signal.signal(signal.SIGIO, signal.SIG_IGN)  # as `tmms server` does: lease breaks
    running: list[Served] = []

    def start(watcher: Watcher | None = None, **values: object) -> Served:
        values.setdefault("dead_letter_dir", str(tmux_server.root / "dead"))
        values.setdefault("polling_interval", 0.5)
        values.setdefault("recipient_grace_seconds", 0.3)
        env = tmux_server.env()
        served = Served(Tmux(socket_name=tmux_server.socket, env=env), Config(**values), env,  # type: ignore[arg-type]
                        watcher)
        served.thread.start()
        running.append(served)
        wait_until(lambda: served.errors or any(line.startswith("serving") for line in records.lines))
        assert served.errors == []
        records.lines.clear()
        return served

    try:
        yield start
    finally:
        try:
            for served in running:
                served.server.request_stop()
                served.thread.join(timeout=15)
        finally:
            logger.removeHandler(records)
            logger.setLevel(level)
            signal.signal(signal.SIGIO, sigio)


def reason_of(dead: Path) -> str:
    """The reason recorded next to a dead letter."""
    import json

    reason = dead.parent / (dead.name + ".reason.json")
    wait_until(reason.exists, timeout=5)
    text = json.loads(reason.read_text())["reason"]
    assert isinstance(text, str)
    return text


# -- a burst ---------------------------------------------------------------------------------------


def test_a_burst_of_1000_messages_runs_each_notify_once_and_at_most_notify_concurrency_at_once(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    out, peaks, markers = tmux_server.root / "notified", tmux_server.root / "peaks", tmux_server.root / "running"
    markers.mkdir()
    # Each notify command marks itself as running, counts the running ones, then unmarks itself.
    notify = (f'm={markers}/$$; : > "$m"; set -- {markers}/*; echo $# >> {peaks}; '
              f'echo ${{{{tmms_id}}}} >> {out}; sleep 0.01; rm -f "$m"')
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify=notify)
    waiting = [write_message(alpha.outbox, "alpha", "beta") for _ in range(500)]  # found by the first scan
    served = start_server(notify_concurrency=4, polling_interval=0.3)
    arriving = [write_message(alpha.outbox, "alpha", "beta") for _ in range(500)]  # found by file events
    sent = waiting + arriving
    wait_until(lambda: len(served.notified) >= len(sent), timeout=60)
    served.settle()
    served.stop()
    assert sorted(ids_in(beta.inbox)) == sorted(sent)
    assert sorted(served.ids(Status.DELIVERED)) == sorted(sent)
    assert sorted(served.notified) == sorted(sent)
    assert sorted(out.read_text().split()) == sorted(sent)  # every command ran to the end, once
    peak = max(int(n) for n in peaks.read_text().split())
    assert 1 < peak <= 4, peak  # commands did overlap, never more than notify_concurrency
    assert served.server.notifier.peak_running <= 4
    assert list(markers.iterdir()) == []


# -- the panes change while the server runs --------------------------------------------------------------


def test_a_pane_registered_after_start_gets_mail_and_its_outbox_is_routed(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    served = start_server()
    late = tmux_server.register("late")
    to_late = write_message(alpha.outbox, "alpha", "late")
    wait_until(lambda: ids_in(late.inbox) == [to_late])
    from_late = write_message(late.outbox, "late", "alpha")  # its outbox is watched too
    wait_until(lambda: ids_in(alpha.inbox) == [from_late])
    served.stop()
    assert messages(tmux_server.root / "dead") == []


def test_a_renamed_pane_gets_mail_under_its_new_name_and_its_old_name_is_unknown(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    served = start_server()
    tmux_server.tmux("set-option", "-p", "-t", beta.pane_id, "@tmms_name", "gamma")
    to_gamma = write_message(alpha.outbox, "alpha", "gamma")
    wait_until(lambda: ids_in(beta.inbox) == [to_gamma])
    # Delivering to 'gamma' took panes read after the rename, so 'beta' is unknown from now on.
    to_beta = write_message(alpha.outbox, "alpha", "beta")
    [dead] = wait_until(lambda: messages(tmux_server.root / "dead"))
    assert "unknown recipient 'beta'" in reason_of(dead)
    assert read_headers(dead.read_text()).message_id == to_beta
    assert ids_in(beta.inbox) == [to_gamma]
    served.stop()


def test_a_pane_whose_inbox_changes_gets_mail_and_notifications_in_the_new_inbox(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    out = tmux_server.root / "notified"
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify=f"echo ${{{{tmms_id}}}} >> {out}")
    served = start_server()
    before = write_message(alpha.outbox, "alpha", "beta")
    wait_until(lambda: ids_in(beta.inbox) == [before])
    new_inbox = tmux_server.root / "mail" / "beta" / "new-inbox"
    new_inbox.mkdir()
    tmux_server.tmux("set-option", "-p", "-t", beta.pane_id, "@tmms_inbox", str(new_inbox))
    wait_until(lambda: served.server.registry.inboxes_for("beta") == [str(new_inbox)])
    after = write_message(alpha.outbox, "alpha", "beta")
    wait_until(lambda: ids_in(new_inbox) == [after])
    dropped = str(uuid.uuid4())  # a file put straight into the new inbox: it is watched
    store.write_new(str(new_inbox), "dropped.md", message_text("alpha", "beta", dropped).encode())
    wait_until(lambda: sorted(served.notified) == sorted([before, after, dropped]))
    served.settle()
    served.stop()
    assert ids_in(beta.inbox) == [before]
    assert sorted(served.notified) == sorted([before, after, dropped])


def test_a_killed_panes_name_becomes_unknown(tmux_server: TmuxServer, start_server: StartServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    served = start_server()
    tmux_server.tmux("kill-pane", "-t", beta.pane_id)
    wait_until(lambda: "beta" not in served.server.registry.by_name)
    message_id = write_message(alpha.outbox, "alpha", "beta")
    [dead] = wait_until(lambda: messages(tmux_server.root / "dead"))
    assert read_headers(dead.read_text()).message_id == message_id
    assert "unknown recipient 'beta'" in reason_of(dead)
    assert messages(beta.inbox) == []
    served.stop()


def test_options_set_for_a_window_or_globally_are_inherited_by_its_panes(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    out = tmux_server.root / "notified"
    alpha = tmux_server.register("alpha")
    window = tmux_server.tmux("new-window", "-d", "-P", "-F", "#{window_id}").strip()
    pane = tmux_server.tmux("list-panes", "-t", window, "-F", "#{pane_id}").strip()
    inbox, outbox = tmux_server.root / "mail" / "win" / "inbox", tmux_server.root / "mail" / "win" / "outbox"
    inbox.mkdir(parents=True)
    outbox.mkdir(parents=True)
    for key, value in (("@tmms_enabled", "true"), ("@tmms_name", "win"), ("@tmms_inbox", str(inbox)),
                       ("@tmms_outbox", str(outbox))):
        tmux_server.tmux("set-option", "-w", "-t", window, key, value)
    # alpha's own (empty) pane option hides the global one from alpha.
    tmux_server.tmux("set-option", "-g", "@tmms_notify_cmd", f'echo "${{{{tmms_id}}}} $TMUX_PANE" >> {out}')
    served = start_server()
    to_win = write_message(alpha.outbox, "alpha", "win")
    wait_until(lambda: ids_in(inbox) == [to_win])
    from_win = write_message(outbox, "win", "alpha")
    wait_until(lambda: ids_in(alpha.inbox) == [from_win])
    wait_until(lambda: out.exists() and out.read_text())
    served.settle()
    served.stop()
    assert out.read_text().splitlines() == [f"{to_win} {pane}"]


# -- event storms ----------------------------------------------------------------------------------------


def _write_with_open_file(outbox: Path, sender: str, to: str) -> str:
    """Write a message in place, the way `cat >` or an editor does: visible while unfinished."""
    message_id = str(uuid.uuid4())
    text = message_text(sender, to, message_id, body="first line\n" + "more\n" * 50)
    with open(outbox / f"direct-{message_id}.md", "w") as handle:
        handle.write(text[:len(text) // 2])
        handle.flush()
        handle.write(text[len(text) // 2:])
    return message_id


def test_concurrent_writers_and_frequent_scans_deliver_and_notify_each_message_once(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    senders = [tmux_server.register(name) for name in ("s1", "s2", "s3")]
    out = tmux_server.root / "notified"
    recipients = {name: tmux_server.register(name, notify=f"echo ${{{{tmms_id}}}} >> {out}")
                  for name in ("r1", "r2")}
    served = start_server(polling_interval=0.2, notify_concurrency=8)
    sent: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        sender = senders[n % len(senders)]
        mine = []
        for k in range(120):
            to = "r1" if (n + k) % 2 else "r2"
            if k % 4 == 0:
                mine.append(_write_with_open_file(sender.outbox, sender.name, to))
            else:
                mine.append(write_message(sender.outbox, sender.name, to))
        with lock:
            sent.extend(mine)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    assert len(sent) == 6 * 120
    wait_until(lambda: len(served.notified) >= len(sent), timeout=60)
    served.settle()
    served.stop()
    delivered = ids_in(recipients["r1"].inbox) + ids_in(recipients["r2"].inbox)
    assert sorted(delivered) == sorted(sent)
    assert sorted(served.ids(Status.DELIVERED)) == sorted(sent)
    assert sorted(served.notified) == sorted(sent)
    assert sorted(out.read_text().split()) == sorted(sent)
    assert all(messages(s.outbox) == [] for s in senders)
    assert messages(tmux_server.root / "dead") == []


class LossyWatcher(Watcher):
    """Real inotify, but every third batch of file events is thrown away and reported as a queue
    overflow instead, which is what the kernel does when its event queue fills up."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0
        self.overflows = 0

    def wait(self, timeout: float | None) -> Batch:
        batch = super().wait(timeout)
        if batch.paths:
            self.batches += 1
            if self.batches % 3 == 0:
                self.overflows += 1
                return Batch(overflow=True, woken=batch.woken)
        return batch


def test_an_event_queue_overflow_loses_and_repeats_nothing(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    out = tmux_server.root / "notified"
    beta = tmux_server.register("beta", notify=f"echo ${{{{tmms_id}}}} >> {out}")
    watcher = LossyWatcher()
    # No periodic scan comes to the rescue: only the overflow's full scan can find what was lost.
    served = start_server(watcher=watcher, polling_interval=3600)
    sent = []
    for _ in range(10):
        burst = [write_message(alpha.outbox, "alpha", "beta") for _ in range(30)]
        sent += burst
        wait_until(lambda b=burst: set(b) <= set(served.ids(Status.DELIVERED)), timeout=30)  # type: ignore[misc]
    wait_until(lambda: len(served.notified) >= len(sent), timeout=60)
    wait_until(lambda: served.server.notifier.pending() == 0, timeout=60)
    more = [write_message(alpha.outbox, "alpha", "beta") for _ in range(5)]  # events flow again
    sent += more
    wait_until(lambda: len(served.notified) >= len(sent), timeout=30)
    wait_until(lambda: served.server.notifier.pending() == 0, timeout=60)
    served.stop()
    assert watcher.overflows > 0
    assert sorted(ids_in(beta.inbox)) == sorted(sent)
    assert Counter(served.ids(Status.DELIVERED)) == Counter(sent)
    assert Counter(served.notified) == Counter(sent)
    assert sorted(out.read_text().split()) == sorted(sent)

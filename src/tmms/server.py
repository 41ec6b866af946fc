"""The server loop: file events and a periodic safety-net scan drive routing and notification."""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from . import store
from .config import Config
from .errors import StorageError, TmuxServerNotRunning
from .journal import Journal
from .journal import default_path as journal_path
from .ledger import NotifyLedger, identity, identity_of
from .lock import ServerLock, lock_path
from .message import Headers
from .notify import Job, Notifier, build_job
from .paths import runtime_dir, state_dir
from .registry import Mailbox, Registry
from .router import RECHECK_INTERVAL, Outcome, Router, Status
from .tmux import Tmux
from .watch import Batch, Watcher

log = logging.getLogger("tmms.server")
REGISTRY_REFRESH = 1.0
LOG_EACH = 20  # a burst of more deliveries is logged as one line
NOTIFY_DELAY = 0.5  # longest a delivered message's notify command waits for the routing of a burst
NOTIFY_BATCH = 1000  # ... or this many deliveries, whichever comes first (memory stays bounded)


@dataclass
class Counters:
    """What the server has done since it started."""

    delivered: int = 0
    dead: int = 0
    notified: int = 0
    refreshes: int = 0


class Server:
    """Routes outboxes to inboxes and runs notify commands for one tmux server."""

    def __init__(
        self,
        tmux: Tmux,
        config: Config,
        env: Mapping[str, str] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        on_notify: Callable[[str, Job, Mapping[str, object]], None] | None = None,
        watcher: Watcher | None = None,
    ) -> None:
        self.tmux = tmux
        self.config = config
        self.env: dict[str, str] = dict(os.environ if env is None else env)
        self.on_outcome = on_outcome
        self.on_notify = on_notify
        self.watcher = watcher or Watcher()
        self.counters = Counters()
        self.lock = ServerLock(lock_path(runtime_dir(self.env), tmux.socket_path))
        key = os.path.basename(self.lock.path).removeprefix("server-").removesuffix(".lock")
        self.ledger = NotifyLedger(os.path.join(state_dir(self.env), f"notified-{key}.log"))
        self.journal = Journal(journal_path(self.env))
        self._journal_failed = False
        self.notifier = Notifier(config.notify_concurrency, config.notify_timeout, self._notify_event)
        self.registry = Registry([])
        self.router = Router(config, self.registry, self._read_registry, state_dir=state_dir(self.env),
                             ids_file=os.path.join(state_dir(self.env), f"ids-{key}.log"))
        self._stop = False
        self._last_notified: dict[str, float] = {}
        self._unfinished: dict[str, tuple[str, float]] = {}  # inbox file still being written: (inbox, when)
        self._delivered: list[tuple[Outcome, Mailbox]] = []  # to notify once routing pauses
        self._delivered_since = 0.0

    # -- life cycle -------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the loop to finish (safe from a signal handler or another thread)."""
        self._stop = True
        self.watcher.wake()

    def install_signal_handlers(self) -> None:
        """SIGINT and SIGTERM stop the loop; SIGIO (lease breaks) is ignored. Main thread only."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda _s, _f: self.request_stop())
        signal.signal(signal.SIGIO, signal.SIG_IGN)

    def run(self) -> Counters:
        """Serve until ``request_stop``; raise AlreadyRunning or tmux errors at start."""
        self.lock.acquire()
        try:
            self._serve()
        finally:
            self.notifier.stop()
            self.journal.close()
            self.ledger.close()
            self.watcher.close()
            self.lock.release()
        return self.counters

    def _serve(self) -> None:
        self.registry = self.router.refresh_registry()
        self._warn_dead_letter()
        self.ledger.open()
        self.notifier.start()
        log.info(
            "serving %d mailbox(es) on %s; %s, full scan every %gs",
            len(self.registry.mailboxes), self.tmux.socket_path,
            "file events" if self.watcher.available else "polling only (no inotify)",
            self.config.polling_interval,
        )
        self._sync_watches()
        self._full_scan()
        self._adopt_registry()
        self._notify_delivered()
        self._loop()

    def _loop(self) -> None:
        """Wait for file events, the periodic re-read and scan, and files due for another look."""
        now = time.monotonic()
        next_scan = now + self.config.polling_interval
        next_refresh = now + REGISTRY_REFRESH
        while not self._stop:
            wake = min(next_scan, next_refresh, self.router.next_reread(), self._next_recheck())
            batch = self.watcher.wait(wake - time.monotonic())
            if self._stop:
                break
            self._handle(batch)
            self._notify_delivered()  # before the re-read of the panes below, which takes a few ms
            now = time.monotonic()
            if now >= next_refresh or now >= self.router.next_reread():
                next_refresh = now + REGISTRY_REFRESH
                self._refresh()
                self._record_all(self.router.retry_held())
            if now >= self._next_recheck():
                self._recheck(now)
            if now >= next_scan:
                next_scan = now + self.config.polling_interval
                self._full_scan()
            self._notify_delivered()
            self._adopt_registry()

    # -- registry and watches ---------------------------------------------------------------

    def _read_registry(self) -> Registry:
        self.counters.refreshes += 1
        return Registry.from_panes(self.tmux.list_panes(), self.env)

    def _refresh(self) -> None:
        try:
            self.router.refresh_registry()
        except TmuxServerNotRunning:
            raise
        except Exception as exc:  # a passing tmux hiccup must not stop the server
            log.warning("could not read panes: %s", exc)
            return
        self._adopt_registry()

    def _adopt_registry(self) -> None:
        """Take up the panes the router read last (it also re-reads them for unknown recipients)."""
        while self.router.registry is not self.registry:
            old, fresh = self.registry, self.router.registry
            self.registry = fresh
            if fresh.signature() == old.signature():
                continue
            log.info("panes changed: serving %d mailbox(es)", len(fresh.mailboxes))
            self._sync_watches()
            for outbox in set(fresh.outboxes()) - set(old.outboxes()):
                self._route_outbox(outbox)
            self._scan_inboxes({b.inbox for b in fresh.mailboxes} - {b.inbox for b in old.mailboxes})

    def _sync_watches(self) -> None:
        wanted = set(self.registry.outboxes()) | {b.inbox for b in self.registry.mailboxes}
        for directory in self.watcher.watched() - wanted:
            self.watcher.unwatch(directory)
        for directory in wanted:
            if os.path.isdir(directory):
                self.watcher.watch(directory)
                store.sweep_temp_files(directory)

    # -- routing ------------------------------------------------------------------------------

    def _handle(self, batch: Batch) -> None:
        if batch.overflow:
            self._full_scan()
            return
        outboxes = self.registry.by_outbox
        inboxes = self.registry.by_inbox
        for path in batch.paths:
            directory, name = os.path.split(path)
            if name.startswith(".") or not name.endswith(store.SUFFIX):
                continue
            if directory in outboxes:
                self._record(self.router.route_path(path))
            if directory in inboxes:
                self._notify_file(path, directory)
        for directory in batch.rescan:
            if directory in outboxes:
                self._route_outbox(directory)
        if batch.rescan:
            self._sync_watches()

    def _full_scan(self) -> None:
        self._sync_watches()
        for outbox in self.registry.outboxes():
            self._route_outbox(outbox)
        self._scan_inboxes({b.inbox for b in self.registry.mailboxes}, complete=True)

    def _route_outbox(self, outbox: str) -> None:
        self._record_all(self.router.route_outbox(outbox))

    def _record_all(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            self._record(outcome)

    def _next_recheck(self) -> float:
        unfinished = min((at for _inbox, at in self._unfinished.values()), default=math.inf)
        return min(self.router.next_recheck(), unfinished)

    def _recheck(self, now: float) -> None:
        """Look again at outbox files that were not ready and inbox files that were being written."""
        self._record_all(self.router.recheck())
        for path, (inbox, at) in list(self._unfinished.items()):
            if at <= now:
                del self._unfinished[path]
                self._notify_file(path, inbox)

    def _record(self, outcome: Outcome) -> None:
        if outcome.status is Status.DELIVERED and outcome.recipient is not None:
            self._adopt_registry()  # the router may have read a new pane for this very message
            self.counters.delivered += 1
            h = outcome.headers
            log.debug("delivered %s: %s -> %s", os.path.basename(outcome.path), h.sender if h else "?",
                      outcome.recipient.name)
            self._journal("delivered", h, outcome.path, mailbox=outcome.recipient.name,
                          claimed_from=outcome.extra.get("claimed_from"), original_id=outcome.extra.get("original_id"))
            if not self._delivered:
                self._delivered_since = time.monotonic()
            self._delivered.append((outcome, outcome.recipient))
            if len(self._delivered) >= NOTIFY_BATCH or time.monotonic() - self._delivered_since >= NOTIFY_DELAY:
                self._notify_delivered()
        elif outcome.status is Status.DEAD:
            self.counters.dead += 1
            log.warning("dead letter %s: %s", os.path.basename(outcome.path), outcome.reason)
            self._journal("dead-lettered", outcome.headers, outcome.path, reason=outcome.reason,
                          source=outcome.source)
        elif outcome.status is Status.FAILED:
            log.error("%s: %s (will retry)", outcome.source, outcome.reason)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    # -- notification -------------------------------------------------------------------------

    def _scan_inboxes(self, inboxes: set[str], *, complete: bool = False) -> None:
        """Notify what is new in ``inboxes``; a scan of every inbox also forgets removed messages."""
        present: set[str] = set()
        for inbox in inboxes:
            for entry in store.messages(inbox):
                present.update(self._notify_file(entry.path, inbox, identity(entry.inode, entry.mtime_ns)))
        if complete:
            self.ledger.forget_missing(inboxes, present)
        for key in [k for k in self._last_notified if k not in present]:
            if os.path.dirname(NotifyLedger.path_of(key)) in inboxes:
                del self._last_notified[key]

    def _notify_delivered(self) -> None:
        """Notify what was just delivered. Routing a burst comes first: its notify commands start
        when the burst is routed (or after NOTIFY_DELAY), not one by one in between."""
        delivered, self._delivered = self._delivered, []
        if len(delivered) > LOG_EACH:
            log.info("delivered %d messages in %.3fs (the journal lists each)", len(delivered),
                     time.monotonic() - self._delivered_since)
        for outcome, recipient in delivered:
            if len(delivered) <= LOG_EACH:
                log.info("delivered %s to %s", os.path.basename(outcome.path), recipient.name)
            self._notify_file(outcome.path, recipient.inbox, headers=outcome.headers)

    def _notify_file(self, path: str, inbox: str, file_identity: str | None = None,
                     headers: Headers | None = None) -> list[str]:
        """Notify every mailbox of ``inbox`` about one file (once each); return the file's keys.

        ``headers``: the router's, for a file it has just moved in whole (not read again).
        """
        file_identity = file_identity or identity_of(path)
        if file_identity is None:
            return []
        keys = []
        for box in self.registry.by_inbox.get(inbox, ()):
            key = NotifyLedger.key(path, box.name, file_identity)
            keys.append(key)
            if box.notify_cmd.strip():
                self._notify(box, path, key, headers)
        return keys

    def _notify(self, box: Mailbox, path: str, key: str, headers: Headers | None) -> None:
        repeat = self.config.notify_repeat_interval
        last = self._last_notified.get(key)
        if key in self.ledger and not (repeat and (last is None or time.monotonic() - last >= repeat)):
            return
        values = _values(path, headers) if headers is not None else _values_of(path)
        if values is None:
            return
        if not values:  # still being written in place: notified once it is closed
            self._unfinished[path] = (box.inbox, time.monotonic() + RECHECK_INTERVAL)
            return
        if repeat:
            self._last_notified[key] = time.monotonic()
        extra = self.tmux.notify_env(box.pane)
        self.notifier.submit(build_job(key, box.notify_cmd, values, self.env, extra, label=box.name))
        self.ledger.add(key)

    def _notify_event(self, event: str, job: Job, info: Mapping[str, object]) -> None:
        if self.on_notify is not None:
            self.on_notify(event, job, info)
        path = job.env.get("TMMS_FILEPATH", "")
        if event == "started":
            self.counters.notified += 1
            log.info("notify %s: started pid %s for %s", job.label, info.get("pid"), path)
            self._journal_notify("notified", job, pid=str(info.get("pid")))
        elif event == "timeout":
            log.warning("notify %s: killed after %gs timeout", job.label, self.config.notify_timeout)
            self._journal_notify("notify-timeout", job, reason=f"killed after {self.config.notify_timeout:g}s")
        elif event == "finished" and info.get("returncode"):
            log.warning("notify %s: exited %s", job.label, info.get("returncode"))
            self._journal_notify("notify-failed", job, reason=f"exit code {info.get('returncode')}")
        elif event == "error":
            log.error("notify %s: cannot start: %s", job.label, info.get("error"))
            self._journal_notify("notify-failed", job, reason=f"cannot start: {info.get('error')}")

    # -- journal ------------------------------------------------------------------------------

    def _journal(self, event: str, headers: Headers | None, path: str, **fields: str | None) -> None:
        """Record what happened to a message; a journal that cannot be written is logged once."""
        if headers is not None:
            fields.update(id=headers.message_id, to=",".join(headers.recipients))
            fields["from"] = headers.sender
        try:
            self.journal.append(event, path=path, **fields)
        except StorageError as exc:
            if not self._journal_failed:
                log.warning("cannot write the journal (status will miss events): %s", exc)
            self._journal_failed = True

    def _journal_notify(self, event: str, job: Job, **fields: str) -> None:
        self._journal(event, None, job.env.get("TMMS_FILEPATH", ""), id=job.env.get("TMMS_ID"),
                      mailbox=job.label, **fields)

    def _warn_dead_letter(self) -> None:
        count = sum(1 for _ in store.messages(self.config.dead_letter_dir))
        if count:
            log.warning("dead letter holds %d message(s) in %s", count, self.config.dead_letter_dir)


def _values_of(path: str) -> dict[str, str] | None:
    """The template variables of an inbox file; {} while a writer has it open, None when it is gone."""
    from .errors import MessageError
    from .message import read_headers

    try:
        raw = store.read_when_closed(path, 1024 * 1024)
    except OSError:
        return None
    if raw is None:
        return {}
    try:
        return _values(path, read_headers(raw.decode("utf-8", "replace")))
    except MessageError:
        return {"filepath": path}


def _values(path: str, h: Headers) -> dict[str, str]:
    return {
        "filepath": path,
        "tmms_id": h.message_id,
        "tmms_from": h.sender,
        "tmms_to": ",".join(h.recipients),
        "tmms_subject": h.subject,
        "tmms_thread_id": h.thread_id,
    }

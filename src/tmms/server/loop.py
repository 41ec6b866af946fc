"""The server loop: file events and a periodic safety-net scan drive routing and notification."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .. import store
from ..config import Config
from ..errors import StorageError, TmuxServerNotRunning
from ..journal import Journal
from ..journal import default_path as journal_path
from ..paths import state_dir
from ..registry import Registry
from ..tmux import PaneRecord, Tmux
from ..watch import Batch, Watcher
from .arrivals import Arrivals, FileEvents
from .doorbell import Doorbells
from .followup import FollowUp
from .ledger import NotifyLedger
from .lock import ServerLock, ledger_key
from .notify import Notices
from .records import Records
from .router import Outcome, Router, Status
from .runner import Detail, Event, Job
from .served import ServedOutboxes
from .transport import remote_transport
from .watches import Watches

log = logging.getLogger("tmms.server")
REGISTRY_REFRESH = 1.0
_LEFT_OUTBOX = frozenset({Status.DELIVERED, Status.SPOOLED, Status.DEAD, Status.GONE})


@dataclass
class Counters:
    """What the server has done since it started."""

    delivered: int = 0
    dead: int = 0
    notified: int = 0
    refreshes: int = 0


class Server:
    """Routes outboxes to inboxes and runs the follow-ups (notify commands) for one tmux server.

    ``panes`` reads the panes (default: ``tmux.list_panes``); ``watcher`` gives the file events.
    """

    def __init__(
        self,
        tmux: Tmux,
        config: Config,
        env: Mapping[str, str] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        on_notify: Callable[[Event, Job, Detail], None] | None = None,
        watcher: FileEvents | None = None,
        panes: Callable[[], list[PaneRecord]] | None = None,
    ) -> None:
        self.tmux = tmux
        self.config = config
        self.env: dict[str, str] = dict(os.environ if env is None else env)
        self.on_outcome = on_outcome
        self.on_notify = on_notify
        self.watcher: FileEvents = watcher or Watcher()
        self.panes = panes or tmux.list_panes
        self.counters = Counters()
        self.lock = ServerLock(tmux.socket_path)  # keyed by the socket's inode, in /tmp/tmms-$UID
        key = ledger_key(tmux.socket_path)
        self.ledger = NotifyLedger(os.path.join(state_dir(self.env), f"notified-{key}.log"), self._ledger_failed)
        self.journal = Journal(journal_path(self.env))
        self.records = Records(self.journal)
        self._report = self.records.report
        self.notices = Notices(config, self.env, tmux, self.ledger, self.records.write, self._report, self._notified)
        self.notifier = self.notices.notifier
        self.doorbells = Doorbells(tmux, self.env, self.records.write)
        self.followups: list[FollowUp] = [self.notices, self.doorbells]
        self.outboxes = ServedOutboxes(os.path.join(state_dir(self.env), f"outboxes-{key}.json"))
        self.arrivals = Arrivals(self.watcher)
        self.watches = Watches(self.watcher, self.arrivals, config.polling_interval, self.lock, self._report)
        self._dead_letter_published = config.dead_letter_dir
        self.registry = Registry([])
        self.router = Router(config, self.registry, self._read_registry, state_dir=state_dir(self.env),
                             ids_file=os.path.join(state_dir(self.env), f"ids-{key}.log"))
        self.router.arrivals = self.arrivals
        self.router.remote = self.remote = remote_transport(  # mail for name@host: spools and ssh links
            config, self.env, state_dir(self.env), key, self.journal.path, self._panes_for_links,
            self.router.dead_letter_dir)
        self._stop = False
        self.log_path: str | None = None  # published for 'tmms server status' (set by 'tmms server --log-file')
        self._stats: dict[str, int] = {}

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
            self.lock.publish(config=self.config.source and os.path.abspath(self.config.source),
                              dead_letter_dir=self.config.dead_letter_dir,
                              journal=self.journal.path,
                              watch=self.watch_mode(), log=self.log_path)
            self._serve()
        finally:
            for followup in self.followups:
                followup.close()
            self.remote.close()
            self.journal.close()
            self.ledger.close()
            self.watcher.close()
            self.lock.release()
        return self.counters

    def _serve(self) -> None:
        self.registry = self.router.refresh_registry()
        self._publish_dead_letter()
        self._warn_dead_letter()
        try:
            self.ledger.open()
        except (OSError, StorageError) as exc:
            log.error("cannot open the notify ledger %s: %s; notify commands are recorded in memory only",
                      self.ledger.path, exc)
        self.outboxes.load()
        self._take_up_outboxes()
        self._guarded("hosts", self.remote.start)
        for followup in self.followups:
            followup.serve(self.registry)
            followup.start()
        self._sync_watches()
        log.info("serving %d mailbox(es) on %s; %s, full scan every %gs", len(self.registry.mailboxes),
                 self.tmux.socket_path, self.watch_mode(), self.config.polling_interval)
        self._full_scan()
        self._adopt_registry()
        self._flush()
        self._publish_stats()
        self._loop()

    def watch_mode(self) -> str:
        """How new files are found: by file events, or (some folders, or all) by the periodic scan only."""
        return self.watches.mode()

    @property
    def degraded(self) -> str | None:
        """Why some folder gets no file events, once the log has said so."""
        return self.watches.degraded

    def _loop(self) -> None:
        """Wait for file events, the periodic re-read and scan, and files due for another look."""
        now = time.monotonic()
        next_scan = now + self.config.polling_interval
        next_refresh = now + REGISTRY_REFRESH
        while not self._stop:
            wake = min(next_scan, next_refresh, self.router.next_reread(), self._next_recheck())
            batch = self._next_batch(wake - time.monotonic())
            if self._stop:
                break
            self._handle(batch)
            self._flush()  # before the re-read of the panes below, which takes a few ms
            now = time.monotonic()
            if now >= next_refresh or now >= self.router.next_reread():
                next_refresh = now + REGISTRY_REFRESH
                self._refresh()
                self._publish_stats()
                self._guarded("held messages", lambda: self._record_all(self.router.retry_held()))
            if now >= self._next_recheck():
                self._recheck(now)
            if now >= next_scan:
                next_scan = now + self.config.polling_interval
                self._full_scan()
            self._flush()
            self._adopt_registry()

    def _next_batch(self, timeout: float) -> Batch:
        """Events read while a file was checked come first; else wait for new ones."""
        if self.arrivals.backlog:
            return self.arrivals.backlog.pop(0)
        batch = self.watcher.wait(timeout)
        self.arrivals.note(batch)
        return batch

    # -- registry and watches ---------------------------------------------------------------

    def _read_registry(self) -> Registry:
        self.counters.refreshes += 1
        return Registry.from_panes(self.panes(), self.env)

    def _panes_for_links(self, fresh: bool) -> Registry:
        """The panes for mail from other hosts (a link's thread): the last read, or (``fresh``) a new one."""
        return Registry.from_panes(self.panes(), self.env) if fresh else self.registry

    def _refresh(self) -> None:
        self.lock.follow()  # a new tmux server on our socket path: serve it (or stop if one serves it)
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
            for followup in self.followups:
                followup.serve(fresh)
            self._publish_dead_letter()
            orphaned = self._take_up_outboxes()
            self._sync_watches()
            for outbox in set(fresh.outboxes()) - set(old.outboxes()):
                self._route_outbox(outbox)
            for outbox in orphaned:
                log.info("%s: no pane owns this outbox any more; draining it as from %s", outbox,
                         ", ".join(self.router.former_owners.get(outbox, ())) or "?")
                self._route_outbox(outbox)
            self._scan_inboxes({b.inbox for b in fresh.mailboxes} - {b.inbox for b in old.mailboxes})

    def _take_up_outboxes(self) -> list[str]:
        """Record the outboxes now served; return those whose panes have just closed (to drain)."""
        try:
            orphaned = self.outboxes.update(self.registry)
        except (OSError, StorageError) as exc:
            self._report("outboxes", f"cannot save the served outboxes in {self.outboxes.path}: {exc}")
            orphaned = []
        self.router.former_owners = self.outboxes.former
        return orphaned

    def _forget_former(self, outbox: str) -> None:
        """Stop draining a former outbox once a pass has found it empty."""
        try:
            if store.message_names(outbox, 1):
                return
        except OSError:
            pass  # gone, or no folder: nothing can be routed out of it
        try:
            self.outboxes.forget(outbox)
        except (OSError, StorageError) as exc:
            self._report("outboxes", f"cannot save the served outboxes in {self.outboxes.path}: {exc}")
        self.router.former_owners = self.outboxes.former
        self.arrivals.forget_folder(outbox)
        log.info("%s: drained (no pane owns it)", outbox)

    def _sync_watches(self) -> None:
        self.watches.sync(self.registry, self.router.former_owners)

    # -- routing ------------------------------------------------------------------------------

    def _handle(self, batch: Batch) -> None:
        if batch.overflow:
            self._full_scan()
            return
        inboxes = self.registry.by_inbox
        for path in batch.paths:
            directory, name = os.path.split(path)
            if name.startswith(".") or not name.endswith(store.SUFFIX):
                continue
            if self.router.serves(directory):
                self._guarded(path, self._route_path, path)
            if directory in inboxes:
                for followup in self.followups:
                    self._guarded(path, followup.arrived, path, directory)
        for directory in batch.rescan:
            if self.router.serves(directory):
                self._route_outbox(directory)
        if batch.rescan:
            self._sync_watches()

    def _full_scan(self) -> None:
        self._sync_watches()
        for outbox in self.registry.outboxes():
            self._route_outbox(outbox)
        for outbox in list(self.router.former_owners):
            self._route_outbox(outbox)
            self._forget_former(outbox)
        self._scan_inboxes({b.inbox for b in self.registry.mailboxes}, complete=True)

    def _route_path(self, path: str) -> None:
        self._record(self.router.route_path(path))

    def _route_outbox(self, outbox: str) -> None:
        self._guarded(outbox, self._record_all, self.router.route_outbox(outbox))
        self.arrivals.prune(outbox)

    def _scan_inboxes(self, inboxes: set[str], *, complete: bool = False) -> None:
        for followup in self.followups:
            self._guarded("inboxes", followup.scan, inboxes, complete=complete)

    def _record_all(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            self._record(outcome)

    def _next_recheck(self) -> float:
        return min([self.router.next_recheck(), *(f.next_recheck() for f in self.followups)])

    def _recheck(self, now: float) -> None:
        """Look again at outbox files that were not ready and inbox files that were being written."""
        self._guarded("outboxes", lambda: self._record_all(self.router.recheck()))
        for followup in self.followups:
            self._guarded("inboxes", followup.recheck, now)

    def _flush(self) -> None:
        for followup in self.followups:
            self._guarded("follow-up", followup.flush)

    def _record(self, outcome: Outcome) -> None:
        """Log, journal and notify one outcome; an error here never stops the server."""
        if outcome.status in _LEFT_OUTBOX:
            self.arrivals.forget(outcome.source)
        self._guarded(outcome.source, self._take, outcome)

    def _take(self, outcome: Outcome) -> None:
        delivered = outcome.status is Status.DELIVERED and outcome.recipient is not None
        if delivered:
            self._adopt_registry()  # the router may have read a new pane for this very message
            self.counters.delivered += 1
        elif outcome.status is Status.DEAD:
            self.counters.dead += 1
        self.records.outcome(outcome)
        if delivered and outcome.recipient is not None:
            for followup in self.followups:
                self._guarded(outcome.source, followup.delivered, outcome, outcome.recipient)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def _guarded(self, subject: str, func: Callable[..., object], *args: object, **kwargs: object) -> None:
        """Run one file's (or folder's) work; an error is logged once and everything else goes on."""
        try:
            func(*args, **kwargs)
        except TmuxServerNotRunning:
            raise
        except Exception as exc:
            self._report(subject, f"{subject}: {type(exc).__name__}: {exc} (skipped)", logging.ERROR)

    def _ledger_failed(self, exc: OSError) -> None:
        self._report("ledger", f"cannot write the notify ledger {self.ledger.path}: {exc}; "
                               "a restart may run some notify commands again")

    def _notified(self, event: Event, job: Job, detail: Detail) -> None:
        if event is Event.STARTED:
            self.counters.notified += 1
        if self.on_notify is not None:
            self.on_notify(event, job, detail)

    # -- run info -------------------------------------------------------------------------------

    def _publish_dead_letter(self) -> None:
        """Keep the run info naming the folder dead letters go to now (a fallback when the
        configured one resolves into a pane's folder), so ``tmms dead`` lists the right one."""
        folder = self.router.dead_letter_dir()
        if folder == self._dead_letter_published:
            return
        self._dead_letter_published = folder
        try:
            self.lock.update(dead_letter_dir=folder)
        except (OSError, StorageError) as exc:
            self._report("runinfo", f"cannot update the run info: {exc}")

    def _publish_stats(self) -> None:
        """Keep the run info's counters current for 'tmms server status' (written only when they change)."""
        c = self.counters
        stats = {"delivered": c.delivered, "dead": c.dead, "notified": c.notified,
                 "mailboxes": len(self.registry.mailboxes)}
        if stats == self._stats:
            return
        self._stats = stats
        try:
            self.lock.update(stats=stats)
        except (OSError, StorageError) as exc:
            self._report("runinfo", f"cannot update the run info: {exc}")

    def _warn_dead_letter(self) -> None:
        folder = self._dead_letter_published
        try:
            count = sum(1 for _ in store.messages(folder))
        except OSError as exc:
            log.warning("cannot list dead letter %s: %s", folder, exc.strerror or exc)
            return
        if count:
            log.warning("dead letter holds %d message(s) in %s", count, folder)

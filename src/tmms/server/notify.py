"""The notify follow-up: each inbox file's notify commands, once per message and mailbox, and at
least once across crashes.

A message is recorded in the ledger when its command has started, not when it is queued: a server
killed in between leaves it unrecorded, and the next server's scan of the inboxes runs it. A
crash right after a start can therefore run a command twice; it never runs it zero times.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping

from .. import store
from ..alert import ALERT_SECONDS_VAR
from ..config import Config
from ..message import Headers
from ..registry import Mailbox, Registry
from ..tmux import Tmux
from . import template
from .ledger import NotifyLedger, identity, identity_of
from .router import RECHECK_INTERVAL, Outcome
from .runner import Detail, Event, Job, Listener, Runner

log = logging.getLogger("tmms.server")
LOG_EACH = 20  # a burst of more deliveries is logged as one line
NOTIFY_DELAY = 0.5  # longest a delivered message's notify command waits for the routing of a burst
NOTIFY_BATCH = 1000  # ... or this many deliveries, whichever comes first (memory stays bounded)
READ_LIMIT = 1024 * 1024  # bytes of an inbox file read for its template values

Journal = Callable[..., None]  # (event, headers, path, **fields)
Report = Callable[[str, str], None]  # (what it is about, a line to log once)


class Notices:
    """Runs the notify commands of the mailboxes of each inbox file."""

    def __init__(self, config: Config, env: Mapping[str, str], tmux: Tmux, ledger: NotifyLedger,
                 journal: Journal, report: Report, listener: Listener | None = None) -> None:
        self.config = config
        self.env = env
        self.tmux = tmux
        self.ledger = ledger
        self.registry = Registry([])
        self.notifier = Runner(config.notify_concurrency, config.notify_timeout, self._event)
        self._journal = journal
        self._report = report
        self._listener = listener
        self._queued: set[str] = set()  # keys submitted whose command has not started yet
        self._last: dict[str, float] = {}  # key -> when last submitted (notify_repeat_interval)
        self._unfinished: dict[str, tuple[str, float]] = {}  # inbox file still being written: (inbox, when)
        self._delivered: list[tuple[Outcome, Mailbox]] = []  # to notify once routing pauses
        self._delivered_since = 0.0

    # -- the follow-up ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the runner of notify commands."""
        self.notifier.start()

    def serve(self, registry: Registry) -> None:
        """The panes served from now on."""
        self.registry = registry

    def arrived(self, path: str, inbox: str) -> None:
        """A file event for a file in ``inbox``."""
        self.file(path, inbox)

    def close(self) -> None:
        """Drop queued commands and end running ones."""
        self.notifier.stop()

    # -- what to notify -----------------------------------------------------------------------

    def delivered(self, outcome: Outcome, box: Mailbox) -> None:
        """A message the router has just moved into ``box``'s inbox (notified after the burst)."""
        if not self._delivered:
            self._delivered_since = time.monotonic()
        self._delivered.append((outcome, box))
        if len(self._delivered) >= NOTIFY_BATCH or time.monotonic() - self._delivered_since >= NOTIFY_DELAY:
            self.flush()

    def flush(self) -> None:
        """Notify what was just delivered. Routing a burst comes first: its notify commands start
        when the burst is routed (or after NOTIFY_DELAY), not one by one in between."""
        delivered, self._delivered = self._delivered, []
        if len(delivered) > LOG_EACH:
            log.info("delivered %d messages in %.3fs (the journal lists each)", len(delivered),
                     time.monotonic() - self._delivered_since)
        for outcome, recipient in delivered:
            if len(delivered) <= LOG_EACH:
                log.info("delivered %s to %s", os.path.basename(outcome.path), recipient.name)
            self.file(outcome.path, recipient.inbox, headers=outcome.headers)

    def scan(self, inboxes: set[str], *, complete: bool = False) -> None:
        """Notify what is new in ``inboxes``; a scan of every inbox also forgets removed messages."""
        present: set[str] = set()
        listed: set[str] = set()
        for inbox in inboxes:
            try:
                for entry in store.messages(inbox):
                    present.update(self.file(entry.path, inbox, identity(entry.inode, entry.mtime_ns)))
                listed.add(inbox)
            except OSError as exc:  # an inbox that is no folder, or not ours to read
                self._report(inbox, f"cannot list inbox {inbox}: {exc.strerror or exc}")
        if complete:
            self.ledger.forget_missing(listed, present)
        for key in [k for k in self._last if k not in present]:
            if os.path.dirname(NotifyLedger.path_of(key)) in listed:
                del self._last[key]

    def file(self, path: str, inbox: str, file_identity: str | None = None,
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
                try:
                    self._notify(box, path, key, headers)
                except Exception as exc:  # one file (or pane) must not stop the others' notify commands
                    self._report(path, f"notify {box.name}: cannot run for {path}: {type(exc).__name__}: {exc}")
        return keys

    def next_recheck(self) -> float:
        """When an inbox file that was being written is due for another look (monotonic)."""
        return min((at for _inbox, at in self._unfinished.values()), default=math.inf)

    def recheck(self, now: float) -> None:
        """Look again at inbox files that were being written."""
        for path, (inbox, at) in list(self._unfinished.items()):
            if at <= now:
                del self._unfinished[path]
                self.file(path, inbox)

    def _notify(self, box: Mailbox, path: str, key: str, headers: Headers | None) -> None:
        repeat = self.config.notify_repeat_interval
        last = self._last.get(key)
        if key in self._queued:
            return
        if key in self.ledger and not (repeat and (last is None or time.monotonic() - last >= repeat)):
            return
        values = values_of(path, headers, self._report)
        if values is None:
            return
        if not values:  # still being written in place: notified once it is closed
            self._unfinished[path] = (box.inbox, time.monotonic() + RECHECK_INTERVAL)
            return
        if repeat:
            self._last[key] = time.monotonic()
        extra = {**self.tmux.notify_env(box.pane), ALERT_SECONDS_VAR: f"{self.config.alert_seconds:g}"}  # tmms alert
        self._queued.add(key)
        self.notifier.submit(build_job(key, box.notify_cmd, values, self.env, extra, label=box.name))

    # -- what happened ------------------------------------------------------------------------

    def _event(self, event: Event, job: Job, detail: Detail) -> None:
        """From the runner's thread: record a start in the ledger, log and journal each event."""
        if event is Event.STARTED:
            self.ledger.add(job.key)  # first: the key is never in neither place
            self._queued.discard(job.key)
        elif event is Event.ERROR:
            self._queued.discard(job.key)  # never started: the next scan of the inboxes tries again
        if self._listener is not None:
            self._listener(event, job, detail)
        path = job.env.get("TMMS_FILEPATH", "")
        timeout = self.config.notify_timeout
        if event is Event.STARTED:
            log.info("notify %s: started pid %s for %s", job.label, detail.pid, path)
            self._journal_notify("notified", job, pid=str(detail.pid))
        elif event is Event.TIMEOUT:
            log.warning("notify %s: killed after %gs timeout", job.label, timeout)
            self._journal_notify("notify-timeout", job, reason=f"killed after {timeout:g}s")
        elif event is Event.FINISHED and detail.returncode:
            log.warning("notify %s: exited %s", job.label, detail.returncode)
            self._journal_notify("notify-failed", job, reason=f"exit code {detail.returncode}")
        elif event is Event.ERROR:
            log.error("notify %s: cannot start: %s", job.label, detail.error)
            self._journal_notify("notify-failed", job, reason=f"cannot start: {detail.error}")

    def _journal_notify(self, event: str, job: Job, **fields: str) -> None:
        self._journal(event, None, job.env.get("TMMS_FILEPATH", ""), id=job.env.get("TMMS_ID"),
                      mailbox=job.label, **fields)


def build_job(
    key: str,
    command_template: str,
    values: Mapping[str, str],
    base_env: Mapping[str, str],
    extra_env: Mapping[str, str],
    label: str = "",
) -> Job:
    """A job whose command text holds no message data, only quoted variable references."""
    env = dict(base_env)
    env.update(extra_env)
    env.update(template.environment(command_template, values))
    return Job(key=key, command=template.expand(command_template), env=env, label=label)


def values_of(path: str, headers: Headers | None, report: Report | None = None) -> dict[str, str] | None:
    """The template variables of an inbox file: from ``headers``, or read from the file.

    {} while a writer has it open, None when it is gone. A file that cannot be parsed, however it
    fails, still gets its notify command, with ``filepath`` only.
    """
    if headers is not None:
        return _values(path, headers)
    from ..errors import MessageError
    from ..message import read_headers

    try:
        raw = store.read_when_closed(path, READ_LIMIT)
    except OSError:
        return None
    if raw is None:
        return {}
    try:
        return _values(path, read_headers(raw.decode("utf-8", "replace")))
    except MessageError:
        return {"filepath": path}
    except Exception as exc:  # a hostile file must not stop the server (RecursionError, ...)
        if report is not None:
            report(path, f"cannot read the headers of {path} ({type(exc).__name__}: {exc}); "
                         "notified with its path only")
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

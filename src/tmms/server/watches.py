"""Which folders get file events: the served outboxes and inboxes. Says once when some cannot."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable

from .. import store
from ..errors import StorageError
from ..registry import Registry
from .arrivals import Arrivals, FileEvents
from .lock import ServerLock

log = logging.getLogger("tmms.server")
Report = Callable[[str, str], None]  # (what it is about, a line to log once)
SWEEP_INTERVAL = 3600.0  # least seconds between two sweeps of one folder's stale temporary files


class Watches:
    """Keeps the watched folders in step with the panes served, and the run info's watch mode."""

    def __init__(self, watcher: FileEvents, arrivals: Arrivals, polling_interval: float, lock: ServerLock,
                 report: Report) -> None:
        self.watcher = watcher
        self.arrivals = arrivals
        self.polling_interval = polling_interval
        self.lock = lock
        self._report = report
        self.degraded: str | None = None  # why some folder gets no file events, once the log has said so
        self._swept: dict[str, float] = {}  # folder -> when its stale temporary files were last swept

    def mode(self) -> str:
        """How new files are found: by file events, or (some folders, or all) by the periodic scan only."""
        reason = self.watcher.degraded
        if not self.watcher.available:
            return f"polling only: {reason}"
        if reason:
            return f"file events, but {reason}; those are scanned every {self.polling_interval:g}s"
        return "file events"

    def sync(self, registry: Registry, former: Iterable[str]) -> None:
        """Watch the outboxes (also ``former`` ones, being drained) and inboxes of ``registry``, no others."""
        outboxes = set(registry.outboxes()) | set(former)
        self.arrivals.folders = outboxes
        wanted = outboxes | {b.inbox for b in registry.mailboxes}
        for directory in self.watcher.watched() - wanted:
            self.watcher.unwatch(directory)
            self.arrivals.forget_folder(directory)
        for directory in set(self._swept) - wanted:
            del self._swept[directory]
        for directory in self.watcher.refused() - wanted:
            self.watcher.unwatch(directory)
        for directory in wanted:
            if os.path.isdir(directory):
                self.watcher.watch(directory)
                self._sweep(directory)
        self._say_if_degraded()

    def _sweep(self, directory: str) -> None:
        """Remove a folder's stale temporary files (36 h old): when first served, then at most hourly."""
        now = time.monotonic()
        if now - self._swept.get(directory, -math.inf) >= SWEEP_INTERVAL:
            self._swept[directory] = now
            store.sweep_temp_files(directory)

    def _say_if_degraded(self) -> None:
        """Log once (a WARNING) when some folder cannot get file events, and once when all do again."""
        reason, before = self.watcher.degraded, self.degraded
        if reason == before:
            return
        if before is None:
            log.warning("file events are not available: %s; new mail in such folders is found only by the full "
                        "scan every %gs (polling_interval)", reason, self.polling_interval)
        elif reason is None:
            log.info("file events are available again for every folder")
        self.degraded = reason
        try:
            self.lock.update(watch=self.mode())
        except (OSError, StorageError) as exc:
            self._report("runinfo", f"cannot update the run info: {exc}")

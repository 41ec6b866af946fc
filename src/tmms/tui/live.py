"""Live updates: a thread waits for file events (inotify, tmms.watch) and tells the app, never polling.

It watches the inbox and its read/ and archive/ folders (mail arriving, read, moved or deleted by
anyone) and the journal's folder (appends, rotation). A folder made later (read/ on the first read)
is watched as soon as an event in its parent shows it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from ..watch import IN_DELETE, IN_MODIFY, IN_MOVED_FROM, WATCH_MASK, Watcher

MASK = WATCH_MASK | IN_MODIFY | IN_MOVED_FROM | IN_DELETE


class Live:
    """Calls ``on_mail`` when a mail folder changes and ``on_journal`` when the journal grows (from its thread)."""

    def __init__(self, mail_folders: list[str], journal_path: str,
                 on_mail: Callable[[], object], on_journal: Callable[[], object]) -> None:
        self.mail_folders = mail_folders
        self.journal_path = journal_path
        self.on_mail = on_mail
        self.on_journal = on_journal
        self._watcher = Watcher()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="tmms-ui-live", daemon=True)

    @property
    def available(self) -> bool:
        """Whether file events work here."""
        return self._watcher.available

    def start(self) -> None:
        """Watch the folders, then wait for events in the thread."""
        self._watch_all()
        self._thread.start()

    def stop(self) -> None:
        """End the thread and release inotify."""
        self._stop = True
        self._watcher.wake()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._watcher.close()

    def _watch_all(self) -> None:
        for folder in [*self.mail_folders, os.path.dirname(self.journal_path)]:
            self._watcher.watch(folder, MASK)

    def _run(self) -> None:
        journal_dir = os.path.dirname(self.journal_path)
        while not self._stop:
            batch = self._watcher.wait(None)
            if self._stop:
                return
            self._watch_all()  # a folder that appeared (read/, archive/, the state folder) or came back
            paths = [*batch.paths, *batch.rescan]
            journal = batch.overflow or any(p.startswith(self.journal_path) or p == journal_dir for p in paths)
            mail = batch.overflow or any(p != journal_dir and os.path.dirname(p) != journal_dir for p in paths)
            if journal:
                self.on_journal()
            if mail:
                self.on_mail()

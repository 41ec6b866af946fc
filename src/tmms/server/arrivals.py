"""How each outbox file arrived, from file events: whole (renamed or linked in) or written in place.

A file renamed or linked into an outbox (``tmms post``, any atomic writer) is whole the moment its
name appears, so it is routed at once. A file written in place under its final name (shell ``>>``,
``cat >``, an editor) may get more bytes after any close, so the router waits until it has stayed
unchanged for ``settle_seconds``. A file found by a scan, with no event to tell, is treated as
written in place: it goes once its mtime is that old.
"""

from __future__ import annotations

import os
from typing import Protocol

from .. import store
from ..watch import Batch


class FileEvents(Protocol):
    """Where the loop gets file events: ``watch.Watcher`` (inotify), or a test's scripted source."""

    @property
    def available(self) -> bool:
        """Whether file events work at all (else only the periodic scan finds files)."""
        ...

    @property
    def degraded(self) -> str | None:
        """Why some folder gets no file events; None when all do."""
        ...

    def wake(self) -> None:
        """Make a pending ``wait`` return now."""

    def watch(self, directory: str) -> bool:
        """Start watching a folder; False when that is not possible."""
        ...

    def unwatch(self, directory: str) -> None:
        """Stop watching a folder."""

    def watched(self) -> set[str]:
        """The folders being watched."""
        ...

    def refused(self) -> set[str]:
        """The folders that could not be watched because of a limit."""
        ...

    def wait(self, timeout: float | None) -> Batch:
        """Block until events, a wake-up or the timeout; what happened."""
        ...

    def read_now(self) -> Batch:
        """The events queued so far, without waiting."""
        ...

    def close(self) -> None:
        """Release the source."""


class Arrivals:
    """What the file events said about the files of the outboxes, and the check that one is whole.

    ``whole`` is asked after the router has read a file. It takes a read lease (granted only while
    no one has the file open for writing) and then reads the queued events: the kernel queues a
    writer's close event before the lease can be granted, so an in-place write of that name,
    however recent, is seen. Events read this way are kept in ``backlog`` for the loop to handle.
    """

    def __init__(self, watcher: FileEvents) -> None:
        self.watcher = watcher
        self.folders: set[str] = set()  # the outboxes whose files are followed
        self.backlog: list[Batch] = []
        self._whole: dict[str, bool] = {}  # outbox file path -> True: arrived whole, False: written in place

    def __len__(self) -> int:
        return len(self._whole)

    def note(self, batch: Batch) -> None:
        """Take in what a batch of events says about the files of ``folders``."""
        if batch.overflow:
            self._whole.clear()  # events were lost: nothing is known any more
        for folder in batch.rescan:
            self.forget_folder(folder)
        for path in batch.paths:
            folder, name = os.path.split(path)
            if folder in self.folders and name.endswith(store.SUFFIX) and not name.startswith("."):
                self._whole[path] = path not in batch.written

    def maybe_whole(self, path: str) -> bool:
        """Whether the last event of ``path`` said it arrived whole (``whole`` confirms it)."""
        return bool(self._whole.get(path))

    def whole(self, entry: store.Entry) -> bool:
        """Whether the file ``entry`` (just read) arrived whole and nobody has written to it since."""
        if not self._whole.get(entry.path):
            return False
        if store.has_open_writer(entry.path) is not False:  # a writer, or the kernel cannot tell
            return False
        batch = self.watcher.read_now()
        if batch.paths or batch.rescan or batch.overflow:
            self.note(batch)
            self.backlog.append(batch)
        return bool(self._whole.get(entry.path))

    def forget(self, path: str) -> None:
        """Forget a file that left its outbox."""
        self._whole.pop(path, None)

    def forget_folder(self, folder: str) -> None:
        """Forget every file of a folder (its events were lost, or it is no longer served)."""
        for path in [p for p in self._whole if os.path.dirname(p) == folder]:
            del self._whole[path]

    def prune(self, folder: str) -> None:
        """Forget the files of ``folder`` that are gone."""
        for path in [p for p in self._whole if os.path.dirname(p) == folder and not os.path.lexists(p)]:
            del self._whole[path]

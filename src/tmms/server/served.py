"""The outboxes a server routes and their owners' names, kept across restarts.

A pane can post and close before its message is routed, and it can close while no server runs.
Its outbox is then no pane's, but its files must still reach an inbox or dead letter: the server
keeps draining such an outbox (with the last owners as the true senders) until it is empty.
"""

from __future__ import annotations

import json
import os

from .. import store
from ..registry import Registry

MAX_BYTES = 16 * 1024 * 1024


class ServedOutboxes:
    """Every outbox served, live or former, with its owners; saved as JSON (0600) on each change."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._owners: dict[str, tuple[str, ...]] = {}
        self._live: set[str] = set()

    @property
    def former(self) -> dict[str, tuple[str, ...]]:
        """The outboxes no pane owns any more, with their last owners' names."""
        return {outbox: owners for outbox, owners in self._owners.items() if outbox not in self._live}

    def load(self) -> None:
        """Read the outboxes a server served before (nothing when the file is missing or malformed)."""
        try:
            raw, _ = store.read_regular(self.path, MAX_BYTES)
            data = json.loads(raw.decode("utf-8", "surrogateescape"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            for outbox, owners in data.items():
                if isinstance(owners, list) and all(isinstance(o, str) for o in owners) and os.path.isabs(outbox):
                    self._owners[outbox] = tuple(owners)

    def update(self, registry: Registry) -> list[str]:
        """Take up the panes now registered; return the outboxes that have just lost their panes.

        A former outbox that is now some pane's inbox is forgotten: mail is never routed out of an
        inbox. Raises OSError when the record cannot be saved (it is kept in memory all the same).
        """
        before = dict(self._owners)
        had = self._live
        self._live = set(registry.by_outbox)
        for outbox, boxes in registry.by_outbox.items():
            self._owners[outbox] = tuple(sorted({box.name for box in boxes}))
        for outbox in [o for o in self._owners if o not in self._live and o in registry.by_inbox]:
            del self._owners[outbox]
        if self._owners != before:
            self.save()
        return sorted(o for o in had - self._live if o in self._owners)

    def forget(self, outbox: str) -> None:
        """Stop draining a former outbox (it is empty). Raises OSError when the record cannot be saved."""
        if outbox in self._owners and outbox not in self._live:
            del self._owners[outbox]
            self.save()

    def save(self) -> None:
        """Write the record whole (a private temporary file renamed over the old one)."""
        folder = os.path.dirname(self.path)
        store.ensure_dir(folder)
        data = json.dumps({o: list(n) for o, n in sorted(self._owners.items())}, ensure_ascii=False)
        temp = f"{self.path}.tmp-{os.getpid()}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, store.FILE_MODE)
        try:
            try:
                os.fchmod(fd, store.FILE_MODE)
                store.write_all(fd, (data + "\n").encode("utf-8", "surrogateescape"))
            finally:
                os.close(fd)
            os.replace(temp, self.path)
        except OSError:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise

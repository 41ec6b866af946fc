"""What the server writes down: the journal of each message's fate, and log lines said once."""

from __future__ import annotations

import logging
import os

from ..errors import StorageError
from ..journal import Journal
from ..message import Headers
from .outcome import Outcome, Status

log = logging.getLogger("tmms.server")
REPORTED_LIMIT = 10_000  # (subject, line) pairs remembered before the memory starts afresh


class Records:
    """The journal (a journal that cannot be written is logged once) and once-only log lines."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._journal_failed = False
        self._reported: set[tuple[str, str]] = set()  # (subject, line) logged once

    def report(self, subject: str, line: str, level: int = logging.WARNING) -> None:
        """Log ``line`` once per subject and wording (a file that fails each scan is not logged each time)."""
        if (subject, line) in self._reported:
            return
        if len(self._reported) > REPORTED_LIMIT:
            self._reported.clear()
        self._reported.add((subject, line))
        log.log(level, "%s", line)

    def write(self, event: str, headers: Headers | None, path: str, **fields: str | None) -> None:
        """Record what happened to a message; a journal that cannot be written is logged once."""
        if headers is not None:
            fields.update(id=headers.message_id, to=",".join(headers.recipients))
            fields["from"] = headers.sender
            fields.setdefault("subject", headers.subject or None)  # each line says what it is about ('tmms log')
        try:
            self.journal.append(event, path=path, **fields)
        except StorageError as exc:
            if not self._journal_failed:
                log.warning("cannot write the journal (status will miss events): %s", exc)
            self._journal_failed = True

    def outcome(self, outcome: Outcome) -> None:
        """Log and journal a delivery or a dead letter; log a failure (once)."""
        h = outcome.headers
        if outcome.status is Status.DELIVERED and outcome.recipient is not None:
            log.debug("delivered %s: %s -> %s", os.path.basename(outcome.path), h.sender if h else "?",
                      outcome.recipient.name)
            self.write("delivered", h, outcome.path, mailbox=outcome.recipient.name,
                       claimed_from=outcome.corrections.claimed_from or None,
                       original_id=outcome.corrections.original_id or None)
        elif outcome.status is Status.SPOOLED:
            log.debug("spooled %s for %s", os.path.basename(outcome.path), outcome.reason)
            self.write("spooled", h, outcome.path, host=outcome.reason, source=outcome.source,
                       claimed_from=outcome.corrections.claimed_from or None,
                       original_id=outcome.corrections.original_id or None)
        elif outcome.status is Status.DEAD:
            log.warning("dead letter %s: %s", os.path.basename(outcome.path), outcome.reason)
            self.write("dead-lettered", h, outcome.path, reason=outcome.reason, source=outcome.source)
        elif outcome.status is Status.FAILED:
            self.report(outcome.source, f"{outcome.source}: {outcome.reason} (will retry)", logging.ERROR)

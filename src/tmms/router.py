"""One outbox file to an inbox or to dead letter: parse, check the sender, move without replacing."""

from __future__ import annotations

import json
import logging
import math
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import TypeVar

from . import store
from .config import Config
from .errors import MessageError, StorageError, TmuxServerNotRunning
from .message import Headers, read_headers, replace_sender
from .registry import Mailbox, Registry

log = logging.getLogger("tmms.router")
_T = TypeVar("_T")
REASON_SUFFIX = ".reason.json"
REREAD_INTERVAL = 0.25  # least seconds between two pane re-reads on behalf of held messages
RECHECK_INTERVAL = 0.5  # seconds before a file that was not ready (open, unparseable) is looked at again
WRITER_OPEN = "a writer has it open"
ROUTE_BATCH = 4096
NOT_A_FILE = "a folder"


class Status(Enum):
    """What became of one outbox file."""

    DELIVERED = "delivered"
    DEAD = "dead-lettered"
    PENDING = "pending"
    HELD = "held for an unknown recipient"
    FAILED = "failed"
    GONE = "gone"


_GONE_FROM_OUTBOX = frozenset({Status.DELIVERED, Status.DEAD, Status.GONE})


@dataclass
class Outcome:
    """The result of routing one file."""

    status: Status
    source: str
    path: str = ""
    reason: str = ""
    headers: Headers | None = None
    recipient: Mailbox | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class _Held:
    """A message whose recipient no pane has (yet)."""

    inode: int
    recipient: str
    deadline: float


class Router:
    """Routes outbox files; remembers unparseable files until they have stopped changing, and
    holds messages for an unknown recipient for ``recipient_grace_seconds``.

    Files that were not ready are revisited without waiting for a file event (which may never
    come: a writer's close is reported under the temporary name it wrote, and a fork in the
    writer's process can keep the file open a moment longer): ``next_recheck``/``recheck`` for
    files that were open or unparseable, ``next_reread``/``retry_held`` for held messages.
    """

    def __init__(self, config: Config, registry: Registry, refresh: Callable[[], Registry], *,
                 state_dir: str | None = None, ids_file: str | None = None) -> None:
        self.config = config
        self._state_dir = state_dir  # the fallback dead-letter folder lives here
        self._ids_file = ids_file  # ids of delivered messages are remembered here (None: in memory)
        self.registry = registry
        self._refresh = refresh
        self._refreshed_at = -math.inf  # when the last successful read of the panes started
        self._tried_at = -math.inf  # when the last read started, successful or not
        self._unsettled: dict[str, tuple[tuple[int, int, int], float]] = {}
        self._held: dict[str, _Held] = {}
        self._recheck: dict[str, float] = {}  # a file not ready yet: when to look at it again

    def refresh_registry(self) -> Registry:
        """Re-read the panes (so a pane registered a moment ago is known)."""
        started = self._tried_at = time.monotonic()
        self.registry = self._refresh()
        self._refreshed_at = started
        return self.registry

    def next_reread(self) -> float:
        """When the held messages want the panes read again (monotonic); inf when none is held."""
        return self._tried_at + REREAD_INTERVAL if self._held else math.inf

    def next_recheck(self) -> float:
        """When a file that was not ready is due for another look (monotonic); inf when none is."""
        return min(self._recheck.values(), default=math.inf)

    def recheck(self) -> list[Outcome]:
        """Route again the files that were not ready and are due for another look."""
        now = time.monotonic()
        due = []
        for path, at in list(self._recheck.items()):
            if os.path.dirname(path) not in self.registry.by_outbox:
                del self._recheck[path]
            elif at <= now:
                due.append(path)
        return [self.route_path(path) for path in due]

    def retry_held(self) -> list[Outcome]:
        """Route again the held messages whose recipient is known now or whose grace has run out.

        Call it after ``refresh_registry``: a message is dead-lettered only when panes read after
        its grace ran out still lack the name. A message whose outbox no pane owns any more is
        dropped from the list (and left where it is, as any file in such a folder).
        """
        due = []
        for path, held in list(self._held.items()):
            if os.path.dirname(path) not in self.registry.by_outbox:
                del self._held[path]
            elif held.deadline <= self._refreshed_at or held.recipient in self.registry.by_name:
                due.append(path)
        return [self.route_path(path) for path in due]

    def route_outbox(self, outbox: str) -> Iterator[Outcome]:
        """Route every ready message of one outbox, one outcome at a time.

        The folder is read ROUTE_BATCH names at a time (oldest name first within a batch), so a
        backlog of any size is routed in the same memory.
        """
        stayed: set[str] = set()  # names looked at in this pass that are still there
        while True:
            batch = store.message_names(outbox, ROUTE_BATCH, skip=stayed)
            for name in batch:
                outcome = self.route_path(os.path.join(outbox, name))
                if outcome.status not in _GONE_FROM_OUTBOX:
                    stayed.add(name)
                yield outcome
            if len(batch) < ROUTE_BATCH:
                break
        _forget_gone(self._unsettled, outbox)
        _forget_gone(self._held, outbox)
        _forget_gone(self._recheck, outbox)

    def route_path(self, path: str) -> Outcome:
        """Route one file given by path (from a file event)."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return Outcome(Status.GONE, path)
        name = os.path.basename(path)
        entry = store.Entry(path, name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode)
        return self.route(entry, os.path.dirname(path))

    def route(self, entry: store.Entry, outbox: str) -> Outcome:
        """Route one outbox file, or leave it for later when it is not ready."""
        outcome = self._route(entry, outbox)
        if outcome.status is not Status.HELD:
            self._held.pop(entry.path, None)
        if outcome.status is Status.PENDING and outcome.reason != NOT_A_FILE:
            self._recheck[entry.path] = time.monotonic() + RECHECK_INTERVAL
        else:
            self._recheck.pop(entry.path, None)
        return outcome

    def _route(self, entry: store.Entry, outbox: str) -> Outcome:
        if stat.S_ISDIR(entry.mode):
            return Outcome(Status.PENDING, entry.path, reason=NOT_A_FILE)
        if not stat.S_ISREG(entry.mode):
            return self._dead(entry, "not a regular file (symlink or device)", None)
        limit = self.config.max_message_bytes
        if limit and entry.size > limit:
            if store.has_open_writer(entry.path):
                return Outcome(Status.PENDING, entry.path, reason=WRITER_OPEN)
            return self._dead(entry, f"too large: {entry.size} bytes (max_message_bytes is {limit})", None)
        try:
            raw = store.read_when_closed(entry.path, limit or -1)
            if raw is None:
                return Outcome(Status.PENDING, entry.path, reason=WRITER_OPEN)
            headers = self._parse(raw, limit)
        except FileNotFoundError:
            return Outcome(Status.GONE, entry.path)
        except OSError as exc:
            return Outcome(Status.FAILED, entry.path, reason=f"cannot read it: {exc.strerror or exc}")
        except MessageError as exc:
            if not self._settled(entry):
                return Outcome(Status.PENDING, entry.path, reason=exc.reason)
            return self._dead(entry, exc.reason, None)
        self._unsettled.pop(entry.path, None)
        return self._deliver(entry, outbox, headers, raw)

    @staticmethod
    def _parse(raw: bytes, limit: int) -> Headers:
        if limit and len(raw) > limit:
            raise MessageError(f"too large: it grew past {limit} bytes (max_message_bytes) while being read")
        if b"\x00" in raw:
            raise MessageError("binary content (NUL bytes)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MessageError(f"not UTF-8 text (bad byte at offset {exc.start})") from None
        return read_headers(text)

    def _settled(self, entry: store.Entry) -> bool:
        signature = (entry.size, entry.mtime_ns, entry.inode)
        now = time.monotonic()
        seen = self._unsettled.get(entry.path)
        if seen is None or seen[0] != signature:
            self._unsettled[entry.path] = (signature, now)
            seen = self._unsettled[entry.path]
        age = time.time() - entry.mtime_ns / 1e9
        return min(age, now - seen[1]) >= self.config.settle_seconds or age >= self.config.settle_seconds

    def _deliver(self, entry: store.Entry, outbox: str, headers: Headers, raw: bytes) -> Outcome:
        if not headers.recipients:
            return self._dead(entry, "no recipient (tmms_to is missing or empty)", headers)
        if len(headers.recipients) > 1:
            return self._dead(entry, "tmms_to lists several recipients; post one file per recipient", headers)
        recipient = headers.recipient
        inboxes = self.registry.inboxes_for(recipient)
        if not inboxes:
            waiting = self._wait_for_recipient(entry, headers)
            if waiting is not None:
                return waiting
            inboxes = self.registry.inboxes_for(recipient)
        if len(inboxes) > 1:
            return self._dead(entry, f"ambiguous recipient '{recipient}': panes with different inboxes", headers)
        fixed = self._check_sender(entry, outbox, headers, raw)
        if isinstance(fixed, Outcome):
            return fixed
        box = self.registry.by_name[recipient][0]
        try:
            path = self._move_into(entry.path, box.inbox)
        except FileNotFoundError:
            return Outcome(Status.GONE, entry.path)
        except (OSError, StorageError) as exc:
            return Outcome(Status.FAILED, entry.path, reason=f"cannot move into {box.inbox}: {exc}")
        if "corrected_to" in fixed:
            headers = headers._replace(sender=fixed["corrected_to"])
        return Outcome(Status.DELIVERED, entry.path, path=path, headers=headers, recipient=box, extra=fixed)

    def _move_into(self, source: str, inbox: str) -> str:
        """Move a file into an inbox, making the inbox when it is missing (checked only then)."""
        try:
            return store.move_no_clobber(source, inbox)
        except FileNotFoundError:
            if os.path.isdir(inbox) or not os.path.lexists(source):
                raise  # the source is gone (another router took it, or it was removed)
        store.ensure_dir(inbox)
        return store.move_no_clobber(source, inbox)

    def _wait_for_recipient(self, entry: store.Entry, headers: Headers) -> Outcome | None:
        """Hold a message whose recipient is unknown; None once re-read panes know the name.

        A pane may be registered just after ``tmms post`` returns, so the message waits for
        ``recipient_grace_seconds``. The panes are re-read at most every REREAD_INTERVAL, however
        many messages wait, and the message is dead-lettered only once panes read after its grace
        ran out still lack the name.
        """
        recipient = headers.recipient
        now = time.monotonic()
        held = self._held.get(entry.path)
        if held is None or held.inode != entry.inode:
            self._held.pop(entry.path, None)
            held = self._held[entry.path] = _Held(entry.inode, recipient, now + self.config.recipient_grace_seconds)
            log.info("%s: no pane is named '%s' yet; holding it for up to %gs", entry.name, recipient,
                     self.config.recipient_grace_seconds)
        held.recipient = recipient
        if now - self._tried_at >= REREAD_INTERVAL and self._reread() and self.registry.inboxes_for(recipient):
            return None
        if self._refreshed_at < held.deadline:
            return Outcome(Status.HELD, entry.path, reason=f"no pane is named '{recipient}' yet", headers=headers)
        return self._dead(entry, f"unknown recipient '{recipient}' (no enabled pane has that @tmms_name)", headers)

    def _reread(self) -> bool:
        try:
            self.refresh_registry()
        except TmuxServerNotRunning:
            raise
        except Exception as exc:  # a passing tmux hiccup: the message waits for the next read
            log.warning("could not read panes: %s", exc)
            return False
        return True

    def _check_sender(
        self, entry: store.Entry, outbox: str, headers: Headers, raw: bytes
    ) -> dict[str, str] | Outcome:
        owners = sorted({box.name for box in self.registry.by_outbox.get(outbox, [])})
        if not owners or headers.sender in owners:
            return {}
        if len(owners) > 1:
            reason = f"tmms_from '{headers.sender}' is none of this outbox's owners ({', '.join(owners)})"
            return self._dead(entry, reason, headers)
        owner = owners[0]
        fixed = replace_sender(raw.decode("utf-8"), owner).encode("utf-8")
        try:
            if not store.replace_contents(entry.path, fixed, entry):
                return Outcome(Status.PENDING, entry.path, reason="changed while being corrected")
        except OSError as exc:
            return Outcome(Status.FAILED, entry.path, reason=f"cannot correct sender: {exc}")
        log.warning("%s: tmms_from '%s' corrected to the outbox owner '%s'", entry.name, headers.sender, owner)
        return {"claimed_from": headers.sender, "corrected_to": owner}

    def _dead(self, entry: store.Entry, reason: str, headers: Headers | None) -> Outcome:
        dead_dir = self.config.dead_letter_dir
        try:
            store.ensure_dir(dead_dir)
            # A name whose .reason.json is free too: a stale reason never sits next to a new message.
            path = store.move_no_clobber(entry.path, dead_dir, companions=(REASON_SUFFIX,))
        except FileNotFoundError:
            return Outcome(Status.GONE, entry.path)
        except (OSError, StorageError) as exc:
            return Outcome(Status.FAILED, entry.path, reason=f"cannot move into dead letter: {exc}")
        self._unsettled.pop(entry.path, None)
        record = {
            "reason": reason,
            "source": entry.path,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        if headers is not None:
            record.update(tmms_id=headers.message_id, tmms_from=headers.sender, tmms_to=",".join(headers.recipients))
        try:
            store.write_new(dead_dir, os.path.basename(path) + REASON_SUFFIX, (json.dumps(record) + "\n").encode())
        except StorageError as exc:
            log.warning("%s: could not record the dead-letter reason: %s", path, exc)
        return Outcome(Status.DEAD, entry.path, path=path, reason=reason, headers=headers)


def _forget_gone(memory: dict[str, _T], outbox: str) -> None:
    """Drop what ``memory`` holds about files of ``outbox`` that are no longer there."""
    for path in [p for p in memory if os.path.dirname(p) == outbox and not os.path.lexists(p)]:
        del memory[path]

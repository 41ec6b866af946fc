"""One outbox file to an inbox or to dead letter: parse, check the sender, move without replacing."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from . import store
from .config import Config
from .errors import MessageError, StorageError
from .message import Headers, read_headers, replace_sender
from .registry import Mailbox, Registry

log = logging.getLogger("tmms.router")
REASON_SUFFIX = ".reason.json"


class Status(Enum):
    """What became of one outbox file."""

    DELIVERED = "delivered"
    DEAD = "dead-lettered"
    PENDING = "pending"
    FAILED = "failed"
    GONE = "gone"


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


class Router:
    """Routes outbox files; remembers unparseable files until they have stopped changing."""

    def __init__(self, config: Config, registry: Registry, refresh: Callable[[], Registry]) -> None:
        self.config = config
        self.registry = registry
        self._refresh = refresh
        self._refreshed_at = 0.0
        self._unsettled: dict[str, tuple[tuple[int, int, int], float]] = {}

    def refresh_registry(self) -> Registry:
        """Re-read the panes (so a pane registered a moment ago is known)."""
        self.registry = self._refresh()
        self._refreshed_at = time.monotonic()
        return self.registry

    def route_outbox(self, outbox: str) -> list[Outcome]:
        """Route every ready message of one outbox."""
        outcomes = []
        present = set()
        for entry in store.messages(outbox):
            present.add(entry.path)
            outcomes.append(self.route(entry, outbox))
        for path in [p for p in self._unsettled if os.path.dirname(p) == outbox and p not in present]:
            del self._unsettled[path]
        return outcomes

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
        if stat.S_ISDIR(entry.mode):
            return Outcome(Status.PENDING, entry.path, reason="a folder")
        if not stat.S_ISREG(entry.mode):
            return self._dead(entry, "not a regular file (symlink or device)", None)
        if store.has_open_writer(entry.path):
            return Outcome(Status.PENDING, entry.path, reason="a writer has it open")
        limit = self.config.max_message_bytes
        if limit and entry.size > limit:
            return self._dead(entry, f"too large: {entry.size} bytes (max_message_bytes is {limit})", None)
        try:
            headers, raw = self._parse(entry)
        except FileNotFoundError:
            return Outcome(Status.GONE, entry.path)
        except MessageError as exc:
            if not self._settled(entry):
                return Outcome(Status.PENDING, entry.path, reason=exc.reason)
            return self._dead(entry, exc.reason, None)
        self._unsettled.pop(entry.path, None)
        return self._deliver(entry, outbox, headers, raw)

    def _parse(self, entry: store.Entry) -> tuple[Headers, bytes]:
        with open(entry.path, "rb") as handle:
            raw = handle.read(self.config.max_message_bytes + 1 if self.config.max_message_bytes else -1)
        if b"\x00" in raw:
            raise MessageError("binary content (NUL bytes)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MessageError(f"not UTF-8 text (bad byte at offset {exc.start})") from None
        return read_headers(text), raw

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
            inboxes = self.refresh_registry().inboxes_for(recipient)
        if not inboxes:
            return self._dead(entry, f"unknown recipient '{recipient}' (no enabled pane has that @tmms_name)", headers)
        if len(inboxes) > 1:
            return self._dead(entry, f"ambiguous recipient '{recipient}': panes with different inboxes", headers)
        fixed = self._check_sender(entry, outbox, headers, raw)
        if isinstance(fixed, Outcome):
            return fixed
        box = self.registry.by_name[recipient][0]
        try:
            store.ensure_dir(box.inbox)
            path = store.move_no_clobber(entry.path, box.inbox)
        except FileNotFoundError:
            return Outcome(Status.GONE, entry.path)
        except (OSError, StorageError) as exc:
            return Outcome(Status.FAILED, entry.path, reason=f"cannot move into {box.inbox}: {exc}")
        return Outcome(Status.DELIVERED, entry.path, path=path, headers=headers, recipient=box, extra=fixed)

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
        claimed = headers.sender
        headers.sender = owner
        return {"claimed_from": claimed}

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

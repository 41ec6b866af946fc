"""One outbox file to an inbox or to dead letter: parse, check, and move exactly what was read.

Nothing raised while one file is read, parsed or moved escapes: the file goes to dead letter with
its reason, or (for an error a retry may cure, such as a full disk) is tried again later, with a
growing pause; a file that keeps failing for another reason goes to dead letter after FAIL_LIMIT tries.
"""

from __future__ import annotations

import logging
import math
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from .. import store
from ..config import Config
from ..errors import MessageError, TmuxServerNotRunning
from ..hosts.address import host_problem
from ..hosts.address import split as split_address
from ..message import Headers
from ..registry import Registry
from . import handover
from .corrections import Fixes, corrected, fixes_for, headers_of
from .guard import Guard
from .handover import Changed, Held
from .outcome import Outcome as Outcome
from .outcome import Status as Status
from .retries import FAIL_LIMIT as FAIL_LIMIT
from .retries import FINAL, Schedule
from .retries import RECHECK_INTERVAL as RECHECK_INTERVAL
from .seen_ids import SeenIds
from .setaside import set_aside
from .transport import LocalTransport, RemoteTransport, Transport

if TYPE_CHECKING:
    from .arrivals import Arrivals

log = logging.getLogger("tmms.router")
_T = TypeVar("_T")
REREAD_INTERVAL = 0.25  # least seconds between two pane re-reads on behalf of held messages
WRITER_OPEN = "a writer has it open"
WRITTEN_IN_PLACE = "written in place: waits to stay unchanged for settle_seconds"
ROUTE_BATCH = 4096
NOT_A_FILE = "a folder"
BEHIND = "waits for an older message of its outbox to be routed first (posting order across hosts)"
_GONE_FROM_OUTBOX = frozenset({Status.DELIVERED, Status.SPOOLED, Status.DEAD, Status.GONE})


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
    files that were open, unparseable or failed, ``next_reread``/``retry_held`` for held messages.
    ``state_dir`` holds the fallback dead-letter folder; ``ids_file`` the ids delivered (else
    they are remembered in memory only); ``transport`` how a message reaches an inbox (local).
    """

    def __init__(self, config: Config, registry: Registry, refresh: Callable[[], Registry], *,
                 state_dir: str | None = None, ids_file: str | None = None,
                 transport: Transport | None = None) -> None:
        self.config = config
        self.transport: Transport = transport or LocalTransport()
        self.remote: RemoteTransport | None = None  # mail for name@host (None: such names are local)
        self.registry = registry
        self._refresh = refresh
        self._refreshed_at = -math.inf  # when the last successful read of the panes started
        self._tried_at = -math.inf  # when the last read started, successful or not
        self._unsettled: dict[str, tuple[tuple[int, int, int], float]] = {}
        self._held: dict[str, _Held] = {}
        self._schedule = Schedule(config.polling_interval)  # files not ready or failed: when to look again
        self._told: set[str] = set()  # folders named *.md in an outbox, reported once
        self.arrivals: Arrivals | None = None  # how outbox files arrived (None: each is taken as whole)
        self.former_owners: dict[str, tuple[str, ...]] = {}  # outboxes of closed panes, being drained
        self.seen_ids = SeenIds(ids_file)
        self.guard = Guard(config.dead_letter_dir, state_dir)

    def refresh_registry(self) -> Registry:
        """Re-read the panes (so a pane registered a moment ago is known)."""
        started = self._tried_at = time.monotonic()
        old, self.registry = self.registry, self._refresh()
        self._refreshed_at = started
        for outbox, boxes in old.by_outbox.items():  # a pane closed: its outbox is drained as from it
            if outbox not in self.registry.by_outbox and outbox not in self.registry.by_inbox:
                self.former_owners.setdefault(outbox, tuple(sorted({box.name for box in boxes})))
        return self.registry

    def next_reread(self) -> float:
        """When the held messages want the panes read again (monotonic); inf when none is held."""
        return self._tried_at + REREAD_INTERVAL if self._held else math.inf

    def next_recheck(self) -> float:
        """When a file that was not ready is due for another look (monotonic); inf when none is."""
        return self._schedule.next()

    def recheck(self) -> list[Outcome]:
        """Route again the files that were not ready and are due for another look."""
        now = time.monotonic()
        due = []
        for path, at in list(self._schedule.due.items()):
            if not self.serves(os.path.dirname(path)):
                self._schedule.drop(path)
            elif at <= now:
                due.append(path)
        return [self.route_path(path) for path in _oldest_first(due)]  # posting order (see _relay)

    def retry_held(self) -> list[Outcome]:
        """Route again the held messages whose recipient is known now or whose grace has run out.

        Call it after ``refresh_registry``: a message is dead-lettered only when panes read after
        its grace ran out still lack the name. A message whose outbox no pane owns any more is
        dropped from the list (and left where it is, as any file in such a folder).
        """
        due = []
        for path, held in list(self._held.items()):
            if not self.serves(os.path.dirname(path)):
                del self._held[path]
            elif held.deadline <= self._refreshed_at or held.recipient in self.registry.by_name:
                due.append(path)
        return [self.route_path(path) for path in due]

    def dead_letter_dir(self) -> str:
        """The folder dead letters go to now: ``dead_letter_dir``, or the fallback when that is unsafe."""
        try:
            return self.guard.dead_letter_dir(self.registry)
        except OSError:
            return self.config.dead_letter_dir

    def serves(self, outbox: str) -> bool:
        """Whether ``outbox`` is routed: a pane's outbox, or a closed pane's outbox being drained."""
        return outbox in self.registry.by_outbox or outbox in self.former_owners

    def route_outbox(self, outbox: str) -> Iterator[Outcome]:
        """Route every ready message of one outbox, one outcome at a time.

        The folder is read ROUTE_BATCH names at a time (oldest name first within a batch), so a
        backlog of any size is routed in the same memory. An outbox that is also an inbox or dead
        letter is left alone (the guard logs why, once).
        """
        if self.guard.refused(self.registry, outbox):
            return
        handover.recover(outbox)
        stayed: set[str] = set()  # names looked at in this pass that are still there
        while True:
            try:
                batch = store.message_names(outbox, ROUTE_BATCH, skip=stayed)
            except OSError as exc:
                self._tell_once(outbox, f"cannot list the outbox {outbox}: {exc.strerror or exc}")
                break
            for name in _posting_order(outbox, batch):
                outcome = self.route_path(os.path.join(outbox, name))
                if outcome.status not in _GONE_FROM_OUTBOX:
                    stayed.add(name)
                yield outcome
            if len(batch) < ROUTE_BATCH:
                break
        _forget_gone(self._unsettled, outbox)
        _forget_gone(self._held, outbox)
        _forget_gone(self._schedule.due, outbox)
        _forget_gone(self._schedule.failures, outbox)

    def route_path(self, path: str) -> Outcome:
        """Route one file given by path (from a file event). An error raised while this one file
        is read or moved never escapes: the file goes to dead letter (or is retried later)."""
        refused = self.guard.refused(self.registry, os.path.dirname(path))
        if refused:
            return self._book(path, Outcome(Status.REFUSED, path, reason=refused))
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return self._book(path, Outcome(Status.GONE, path))
        except (OSError, ValueError) as exc:
            error = (exc.errno or 0) if isinstance(exc, OSError) else 0
            return self._book(path, Outcome(Status.FAILED, path, reason=f"cannot look at it: {exc}", error=error))
        name = os.path.basename(path)
        entry = store.Entry(path, name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode)
        try:
            return self.route(entry, os.path.dirname(path))
        except TmuxServerNotRunning:
            raise
        except Exception as exc:  # one hostile file must never stop the server
            return self._unroutable(entry, exc)

    def _unroutable(self, entry: store.Entry, exc: Exception) -> Outcome:
        """Dead-letter a file whose routing raised ``exc``; FAILED (tried again later) if even that fails."""
        self._schedule.drop(entry.path)
        self._held.pop(entry.path, None)
        log.error("%s: routing it raised %s: %s", entry.path, type(exc).__name__, str(exc)[:200])
        reason = f"cannot be routed: {type(exc).__name__}: {str(exc)[:200]}"
        return self._dead(entry, reason, None)

    def route(self, entry: store.Entry, outbox: str) -> Outcome:
        """Route one outbox file, or leave it for later when it is not ready."""
        if self._schedule.waiting(entry):  # e.g. the event of its own put-back: not due yet
            return Outcome(Status.PENDING, entry.path, reason="waiting to be tried again after a failure")
        try:
            outcome = self._route(entry, outbox)
        except TmuxServerNotRunning:
            raise
        except Exception as exc:  # one hostile file must never stop the server
            outcome = self._unroutable(entry, exc)
        if outcome.status is Status.FAILED:
            outcome = self._after_failure(entry, outcome)
        return self._book(entry.path, outcome)

    def _book(self, path: str, outcome: Outcome) -> Outcome:
        """Remember when to look at a file again, by what became of it."""
        if outcome.status is not Status.HELD:
            self._held.pop(path, None)
        if outcome.status is Status.PENDING and outcome.reason != NOT_A_FILE:
            self._schedule.soon(path)
        elif outcome.status is Status.FAILED:
            self._schedule.later(path)
        else:
            self._schedule.drop(path)
        return outcome

    def _after_failure(self, entry: store.Entry, outcome: Outcome) -> Outcome:
        """Count a failure; the FAIL_LIMIT-th one that another try would not cure goes to dead letter."""
        if self._schedule.failed(entry, outcome.error):
            return outcome
        return self._dead(entry, f"{outcome.reason} (tried {FAIL_LIMIT} times)", None)

    def _route(self, entry: store.Entry, outbox: str) -> Outcome:
        if stat.S_ISDIR(entry.mode):
            self._tell_once(entry.path, f"{entry.path} is a folder, not a message: left where it is")
            return Outcome(Status.PENDING, entry.path, reason=NOT_A_FILE)
        if not stat.S_ISREG(entry.mode):
            return self._dead(entry, f"not a regular file ({store.kind_of(entry.mode)})", None)
        whole = self.arrivals is None or self.arrivals.maybe_whole(entry.path)
        if not whole and not self._settled(entry):
            return Outcome(Status.PENDING, entry.path, reason=WRITTEN_IN_PLACE)
        limit = self.config.max_message_bytes
        if limit and entry.size > limit:
            if store.has_open_writer(entry.path):
                return Outcome(Status.PENDING, entry.path, reason=WRITER_OPEN)
            return self._dead(entry, f"too large: {entry.size} bytes (max_message_bytes is {limit})", None)
        try:
            held = handover.hold(entry.path, limit + 1 if limit else -1)
        except FileNotFoundError:
            return Outcome(Status.GONE, entry.path)
        except store.NotRegularFile:  # swapped since it was listed: set aside what is there now, if odd
            try:
                st = os.lstat(entry.path)
            except FileNotFoundError:
                return Outcome(Status.GONE, entry.path)
            if stat.S_ISREG(st.st_mode):
                return Outcome(Status.PENDING, entry.path, reason="it was replaced while being opened")
            now = entry._replace(size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino, mode=st.st_mode)
            return self._dead(now, f"not a regular file ({store.kind_of(st.st_mode)})", None)
        except Changed as exc:
            return Outcome(Status.PENDING, entry.path, reason=str(exc))
        except OSError as exc:
            return Outcome(Status.FAILED, entry.path, reason=f"cannot read it: {exc.strerror or exc}",
                           error=exc.errno or 0)
        if held is None:
            return Outcome(Status.PENDING, entry.path, reason=WRITER_OPEN)
        with held:
            return self._route_held(entry, outbox, held, whole)

    def _route_held(self, entry: store.Entry, outbox: str, held: Held, whole: bool) -> Outcome:
        try:
            headers = headers_of(held.data, self.config.max_message_bytes)
        except MessageError as exc:
            if not self._settled(entry):
                return Outcome(Status.PENDING, entry.path, reason=exc.reason)
            return self._dead(entry, exc.reason, None, held)
        if not self._still_whole(entry, whole):
            return Outcome(Status.PENDING, entry.path, reason=WRITTEN_IN_PLACE)
        self._unsettled.pop(entry.path, None)
        return self._deliver(entry, outbox, headers, held)

    def _still_whole(self, entry: store.Entry, whole: bool) -> bool:
        """After the read: the file arrived whole and no one wrote to it since, or (written in
        place) it has stayed unchanged for settle_seconds and is still the file that was read."""
        if self.arrivals is None or (whole and self.arrivals.whole(entry)):
            return True
        try:
            st = os.lstat(entry.path)
        except OSError:
            return False
        same = (st.st_ino, st.st_size, st.st_mtime_ns) == (entry.inode, entry.size, entry.mtime_ns)
        return same and self._settled(entry)

    def _settled(self, entry: store.Entry) -> bool:
        signature = (entry.size, entry.mtime_ns, entry.inode)
        now = time.monotonic()
        seen = self._unsettled.get(entry.path)
        if seen is None or seen[0] != signature:
            self._unsettled[entry.path] = (signature, now)
            seen = self._unsettled[entry.path]
        age = time.time() - entry.mtime_ns / 1e9  # or, for an mtime in the future, since first seen so:
        return age >= self.config.settle_seconds or now - seen[1] >= self.config.settle_seconds

    def _deliver(self, entry: store.Entry, outbox: str, headers: Headers, held: Held) -> Outcome:
        if not headers.recipients:
            return self._dead(entry, "no recipient (tmms_to is missing or empty)", headers, held)
        if len(headers.recipients) > 1:
            return self._dead(entry, "tmms_to lists several recipients; post one file per recipient", headers, held)
        recipient = headers.recipient
        if self.remote is not None and "@" in recipient[1:] and recipient not in self.registry.by_name:
            return self._relay(entry, outbox, headers, held)
        inboxes = self.registry.inboxes_for(recipient)
        if not inboxes:
            waiting = self._wait_for_recipient(entry, headers, held)
            if waiting is not None:
                return waiting
            inboxes = self.registry.inboxes_for(recipient)
        if len(inboxes) > 1:
            reason = f"ambiguous recipient '{recipient}': panes with different inboxes"
            return self._dead(entry, reason, headers, held)
        fixes = self._fixes(outbox, headers)
        if len(fixes.owners) > 1 and headers.sender not in fixes.owners:
            reason = f"tmms_from '{headers.sender}' is none of this outbox's owners ({', '.join(fixes.owners)})"
            return self._dead(entry, reason, headers, held)
        try:
            data = corrected(held.data, fixes, headers) if fixes.needed else None
        except Exception as exc:  # a message whose sender cannot be put right is not delivered
            return self._dead(entry, f"its tmms_from/tmms_id cannot be corrected: {exc}", headers, held)
        box = self.registry.by_name[recipient][0]
        try:
            path = self.transport.deliver(held, box, data)
        except Changed as exc:
            return Outcome(Status.PENDING, entry.path, reason=str(exc))
        except FileNotFoundError:
            return Outcome(Status.GONE, entry.path)
        except OSError as exc:
            return Outcome(Status.FAILED, entry.path, reason=f"cannot move into {box.inbox}: {exc.strerror or exc}",
                           error=exc.errno or 0)
        fixes.log(entry.name, headers)
        final = fixes.apply(headers)
        self.seen_ids.add(final.message_id)
        return Outcome(Status.DELIVERED, entry.path, path=path, headers=final, recipient=box,
                       corrections=fixes.record(headers))

    def _relay(self, entry: store.Entry, outbox: str, headers: Headers, held: Held) -> Outcome:
        """A message for ``name@host``: corrected as for a delivery, then into the host's spool."""
        assert self.remote is not None
        if any(os.path.dirname(p) == outbox and seen[0][1] < entry.mtime_ns for p, seen in self._unsettled.items()):
            return Outcome(Status.PENDING, entry.path, reason=BEHIND)  # posting order: after the older one
        address = split_address(headers.recipient)
        problem = host_problem(address.host) if address else "no host"
        if address is None or problem:
            return self._dead(entry, f"bad address '{headers.recipient[:80]}': {problem}", headers, held)
        fixes = self._fixes(outbox, headers)
        if len(fixes.owners) > 1 and headers.sender not in fixes.owners:
            reason = f"tmms_from '{headers.sender}' is none of this outbox's owners ({', '.join(fixes.owners)})"
            return self._dead(entry, reason, headers, held)
        try:
            data = corrected(held.data, fixes, headers) if fixes.needed else None
            path = self.remote.deliver(held, address.host, data)
        except Changed as exc:
            return Outcome(Status.PENDING, entry.path, reason=str(exc))
        except FileNotFoundError:
            return Outcome(Status.GONE, entry.path)
        except OSError as exc:
            return Outcome(Status.FAILED, entry.path, reason=f"cannot spool it for {address.host}: "
                           f"{exc.strerror or exc}", error=exc.errno or 0)
        except Exception as exc:  # a message whose sender cannot be put right is not relayed
            return self._dead(entry, f"its tmms_from/tmms_id cannot be corrected: {exc}", headers, held)
        fixes.log(entry.name, headers)
        final = fixes.apply(headers)
        self.seen_ids.add(final.message_id)
        return Outcome(Status.SPOOLED, entry.path, path=path, reason=address.host, headers=final,
                       corrections=fixes.record(headers))

    def _fixes(self, outbox: str, headers: Headers) -> Fixes:
        owners = tuple(sorted({box.name for box in self.registry.by_outbox.get(outbox, [])}
                              or self.former_owners.get(outbox, ())))
        return fixes_for(headers, owners, headers.message_id in self.seen_ids)

    def _wait_for_recipient(self, entry: store.Entry, headers: Headers, held_file: Held) -> Outcome | None:
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
        reason = f"unknown recipient '{recipient}' (no enabled pane has that @tmms_name)"
        return self._dead(entry, reason, headers, held_file)

    def _reread(self) -> bool:
        try:
            self.refresh_registry()
        except TmuxServerNotRunning:
            raise
        except Exception as exc:  # a passing tmux hiccup: the message waits for the next read
            log.warning("could not read panes: %s", exc)
            return False
        return True

    def _dead(self, entry: store.Entry, reason: str, headers: Headers | None, held: Held | None = None) -> Outcome:
        """Set a file aside in dead letter with its reason; it never raises (FAILED: tried again)."""
        try:
            dead_dir = self.guard.dead_letter_dir(self.registry)
            fixes = self._fixes(os.path.dirname(entry.path), headers or Headers())
            path, shown = set_aside(entry.path, reason, dead_dir, headers, fixes, held, entry)
        except Changed as exc:
            return Outcome(Status.PENDING, entry.path, reason=str(exc))
        except FileNotFoundError:
            return Outcome(Status.GONE, entry.path)
        except Exception as exc:  # dead letter is the last resort: report, retry later
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return Outcome(Status.FAILED, entry.path, reason=f"cannot move into dead letter: {detail}", error=FINAL)
        self._unsettled.pop(entry.path, None)
        return Outcome(Status.DEAD, entry.path, path=path, reason=reason, headers=shown)

    def _tell_once(self, key: str, message: str) -> None:
        if key not in self._told:
            self._told.add(key)
            log.warning("%s", message)


def _posting_order(outbox: str, names: list[str]) -> list[str]:
    """A scan's names oldest write first (then by name): mail found by a scan (at start, after a
    crash) keeps its posting order within a second, as mail routed on its file event does."""
    return [os.path.basename(path) for path in _oldest_first([os.path.join(outbox, name) for name in names])]


def _oldest_first(paths: list[str]) -> list[str]:
    """``paths`` oldest write first, then by path."""
    def written(path: str) -> tuple[int, str]:
        try:
            return os.lstat(path).st_mtime_ns, path
        except OSError:
            return 0, path
    return sorted(paths, key=written)


def _forget_gone(memory: dict[str, _T], outbox: str) -> None:
    """Drop what ``memory`` holds about files of ``outbox`` that are no longer there."""
    for path in [p for p in memory if os.path.dirname(p) == outbox and not os.path.lexists(p)]:
        del memory[path]

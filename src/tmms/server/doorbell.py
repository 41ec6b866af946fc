"""The doorbell follow-up: for each agent pane with mail it has not been told about, one verified line.

A pane registered with ``@tmms_agent KIND`` gets a worker thread while it has such mail. The worker
looks at the pane a few times a second and rings (``wake.ring``) only when every gate holds; while
the agent is busy, has a draft or shows a menu, the doorbell waits, and several messages make one
doorbell whose words are updated, never repeated. Mail the agent was told about, by a hook or by an
earlier doorbell, is in the pane's told file (``hooks.told_path``) and does not ring again; mail that
was read or moved out of the inbox is dropped. ``tmms nudge`` queues its own lines in the pane's
queue folder, and the worker rings them the same way. Every step is journaled: ``doorbell-queued``,
``typed``, ``submitted`` and ``failed``, with reasons.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .. import hooks
from ..registry import Mailbox, Registry
from ..tmux import Tmux
from ..wake import queue
from ..wake.nudge import untold_mail
from ..wake.ring import Outcome, Rung
from ..wake.state import ringer_for
from ..wake.text import Mail, doorbell
from .outcome import Outcome as Delivery

if TYPE_CHECKING:
    from ..agents import Agent

log = logging.getLogger("tmms.server")
TICK = 0.15
"""Seconds between looks at a pane whose doorbell waits."""
SLOW_TICK = 0.5
"""... once it has waited ``SLOW_AFTER`` seconds (a long turn costs two tmux calls a second, not seven)."""
SLOW_AFTER = 30.0
MAX_FAILURES = 3
"""Failed rings for the same mail before the doorbell gives up (the next hook still tells the agent)."""
BACKOFF = 2.0
"""Seconds after a failed ring, times the number of failures, before the next try."""

Write = Callable[..., None]  # records.write: (event, headers, path, **fields)


class Doorbells:
    """Rings the doorbell of each agent pane that has untold mail (a follow-up of the server loop)."""

    def __init__(self, tmux: Tmux, env: Mapping[str, str], write: Write) -> None:
        self.tmux = tmux
        self.env = env
        self.write = write
        self.state_dir = _state_dir(env)
        self._workers: dict[str, PaneWorker] = {}
        self._by_inbox: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._reported: set[str] = set()

    def start(self) -> None:
        """Nothing runs until an agent pane has mail."""

    def serve(self, registry: Registry) -> None:
        """Keep a worker for each agent pane served (a kind tmms knows); stop the others."""
        from ..agents import load_agents
        from ..errors import ConfigError

        try:
            kinds = load_agents(self.env)
        except ConfigError as exc:
            self._report_once(str(exc), f"doorbell: {exc}; no doorbells until it is fixed")
            kinds = {}
        wanted: dict[str, tuple[Mailbox, Agent]] = {}
        for box in registry.mailboxes:
            kind = box.pane.option("agent").strip()
            if not kind:
                continue
            agent = kinds.get(kind)
            if agent is None:
                self._report_once(kind, f"doorbell: {box.name} ({box.pane_id}): unknown agent kind {kind!r}")
                continue
            if agent.composer is None:
                continue  # no known composer: never typed into; its hooks (if any) tell it
            wanted[box.pane_id] = (box, agent)
        with self._lock:
            for pane_id in set(self._workers) - set(wanted):
                self._workers.pop(pane_id).stop()
            for pane_id, (box, agent) in wanted.items():
                worker = self._workers.get(pane_id)
                if worker is None or worker.agent != agent or worker.box.inbox != box.inbox:
                    if worker is not None:
                        worker.stop()
                    self._workers[pane_id] = PaneWorker(self, box, agent)
            self._by_inbox = {}
            for pane_id, worker in self._workers.items():
                self._by_inbox.setdefault(worker.box.inbox, []).append(pane_id)
        for worker in list(self._workers.values()):
            worker.poke()

    def delivered(self, outcome: Delivery, box: Mailbox) -> None:
        """Mail for ``box``: its worker looks."""
        self._poke(box.inbox)

    def arrived(self, path: str, inbox: str) -> None:
        """A file event in ``inbox``."""
        self._poke(inbox)

    def scan(self, inboxes: set[str], *, complete: bool = False) -> None:
        """Every worker of ``inboxes`` looks."""
        for inbox in inboxes:
            self._poke(inbox)

    def next_recheck(self) -> float:
        """Workers keep their own time."""
        return float("inf")

    def recheck(self, now: float) -> None:
        """Workers keep their own time."""

    def flush(self) -> None:
        """Workers act as mail comes."""

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(2.0)

    def _poke(self, inbox: str) -> None:
        with self._lock:
            workers = [self._workers[p] for p in self._by_inbox.get(inbox, ()) if p in self._workers]
        for worker in workers:
            worker.poke()

    def _report_once(self, key: str, line: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            log.warning("%s", line)


def _state_dir(env: Mapping[str, str]) -> str:
    from ..paths import state_dir

    return state_dir(env)


class PaneWorker:
    """One agent pane's doorbell: a thread that runs while the pane has untold mail or queued lines."""

    def __init__(self, bells: Doorbells, box: Mailbox, agent: Agent) -> None:
        self.bells = bells
        self.box = box
        self.agent = agent
        socket = bells.tmux.socket_path
        self.told_path = hooks.told_path(bells.state_dir, socket, box.pane_id)
        self.queue_dir = queue.folder(bells.state_dir, socket, box.pane_id)
        self.ringer = ringer_for(bells.tmux, box, agent, bells.env)
        self._event = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._queued: dict[str, str] = {}  # message id -> the reason it was journaled as queued with
        self._failures: dict[frozenset[str], int] = {}
        self._given_up: set[str] = set()
        self._next_try = 0.0
        self._shown = ""  # the @tmms_doorbell value last set
        self._waiting_since = 0.0  # monotonic time the doorbell began to wait (0: nothing waits)
        self._untold_key: tuple[int, int, int] | None = None
        self._untold_mail: list[Mail] = []

    def poke(self) -> None:
        """Look at the pane soon (starts the thread when it is not running)."""
        self._event.set()
        if self._thread is None or not self._thread.is_alive():
            if self._stopped.is_set():
                return
            self._thread = threading.Thread(target=self._run, name=f"doorbell-{self.box.pane_id}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """End the thread at its next look."""
        self._stopped.set()
        self._event.set()

    def join(self, timeout: float) -> None:
        """Wait for the thread to end."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._event.clear()
            try:
                busy = self._step()
            except Exception as exc:  # a pane that vanished, tmux gone: log once, try again later
                self.bells._report_once(f"{self.box.pane_id}:{exc}", f"doorbell {self.box.name}: {exc}")
                busy = True
            if busy:
                self._waiting_since = self._waiting_since or time.monotonic()
                slow = time.monotonic() - self._waiting_since > SLOW_AFTER
                self._stopped.wait(SLOW_TICK if slow else TICK)
            else:
                self._waiting_since = 0.0
                self._show("")
                self._event.wait(60.0)

    def _step(self) -> bool:
        """One look: ring if ready. True while something waits to be rung."""
        lines = queue.pending(self.queue_dir)
        mail = self._untold()
        if not lines and not mail:
            return False
        if time.monotonic() < self._next_try:
            return True
        if lines:
            path, text = lines[0]
            rung = self.ringer.ring(text)
            self._after_nudge(path, text, rung)
            return True
        text = doorbell(mail)
        self._show(text)
        rung = self.ringer.ring(text)
        self._after_mail(mail, text, rung)
        return True

    def _untold(self) -> list[Mail]:
        """The unread mail of the pane's inbox that no hook or doorbell has told the agent about.

        Read again only when the inbox folder or the told file changed (their mtimes), so a pane with
        a long unread list costs two stats per look while its doorbell waits.
        """
        key = (_mtime(self.box.inbox), _mtime(self.told_path), len(self._given_up))
        if key == self._untold_key:
            return self._untold_mail
        mail = untold_mail(self.box, self.told_path, self._given_up)
        self._untold_key, self._untold_mail = key, mail
        return mail

    def _after_mail(self, mail: list[Mail], text: str, rung: Rung) -> None:
        ids = [m.message_id for m in mail]
        if rung.outcome is Outcome.NOT_READY:
            for message_id in ids:
                if self._queued.get(message_id) != rung.state:
                    self._queued[message_id] = rung.state
                    self._journal("doorbell-queued", message_id, f"{rung.state}: {rung.reason}")
            return
        for message_id in ids:
            self._journal("typed", message_id, "", at=rung.typed_at, text=text)
        if rung.outcome is Outcome.SUBMITTED:
            for message_id in ids:
                self._journal("submitted", message_id, rung.reason)
            hooks.save_told(self.told_path, [*hooks.load_told(self.told_path), *ids])
            self._queued.clear()
            self._failures.clear()
            return
        key = frozenset(ids)
        self._failures[key] = self._failures.get(key, 0) + 1
        gave_up = self._failures[key] >= MAX_FAILURES
        for message_id in ids:
            self._journal("failed", message_id, rung.reason + ("; gave up (the next turn-boundary hook tells the agent)"
                                                                if gave_up else ""))
        if gave_up:
            self._given_up.update(ids)
        self._next_try = time.monotonic() + BACKOFF * self._failures[key]

    def _after_nudge(self, path: str, text: str, rung: Rung) -> None:
        if rung.outcome is Outcome.NOT_READY:
            return
        self._journal("typed", "", "", at=rung.typed_at, text=text, nudge=os.path.basename(path))
        event = "submitted" if rung.outcome is Outcome.SUBMITTED else "failed"
        self._journal(event, "", rung.reason, nudge=os.path.basename(path))
        queue.done(path, rung.outcome is Outcome.SUBMITTED)
        if rung.outcome is Outcome.FAILED:
            self._next_try = time.monotonic() + BACKOFF

    def _journal(self, event: str, message_id: str, reason: str, at: float | None = None, **fields: str) -> None:
        extra = {"typed_at": f"{at:.3f}"} if at is not None else {}
        self.bells.write(event, None, "", id=message_id or None, mailbox=self.box.name, pane=self.box.pane_id,
                         reason=reason, **extra, **fields)

    def _show(self, text: str) -> None:
        """Publish the waiting doorbell as the pane option ``@tmms_doorbell`` (for ``tmms peers``)."""
        if text == self._shown:
            return
        self._shown = text
        try:
            if text:
                self.bells.tmux.run(["set-option", "-p", "-t", self.box.pane_id, "@tmms_doorbell", text])
            else:
                self.bells.tmux.run(["set-option", "-p", "-u", "-t", self.box.pane_id, "@tmms_doorbell"])
        except Exception:  # the pane is gone: nothing to show it on
            pass


def _mtime(path: str) -> int:
    """A file's or folder's mtime in ns; -1 when it is missing."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1

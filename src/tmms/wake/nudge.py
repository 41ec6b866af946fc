"""``tmms nudge``: type one line into an agent's pane for a script or a person, with the doorbell's gates.

It waits up to ``wait`` seconds for the agent to be ready, types, submits and proves the
submission. An agent still busy (or with a draft, or a menu) at the end of the wait gets the line
queued for the tmms server, which rings it when the agent is idle. Without TEXT it rings the
doorbell for the pane's unread mail that no hook or doorbell has announced yet.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from .. import hooks, mailbox
from ..errors import NudgeQueued, NudgeRefused, NudgeTimedOut
from ..journal import record
from ..paths import state_dir
from ..registry import Mailbox, Registry
from ..tmux import Tmux
from . import queue
from .ring import Outcome
from .state import ringer_for
from .text import Mail, doorbell, typeable

TICK = 0.15
"""Seconds between looks while waiting for the agent to be ready."""


class Nudged(NamedTuple):
    """A verified submission: to whom, the pane, the line typed, the proof, and how long it waited."""

    target: str
    pane_id: str
    text: str
    proof: str
    waited: float


def target_box(registry: Registry, target: str) -> Mailbox:
    """The registered pane ``target`` names (a name or a pane id); NudgeRefused with a suggestion."""
    import difflib

    for box in registry.mailboxes:
        if target in (box.name, box.pane_id):
            return box
    names = sorted(box.name for box in registry.mailboxes)
    close = difflib.get_close_matches(target, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else (f"; registered: {', '.join(names)}" if names else "")
    raise NudgeRefused(target, f"no pane is registered as {target!r}{hint}")


def untold_mail(box: Mailbox, told_path: str, skip: Iterable[str] = ()) -> list[Mail]:
    """The unread mail of ``box`` that no hook or doorbell has told its agent about (nor is in ``skip``)."""
    told = set(hooks.load_told(told_path)) | set(skip)
    return [Mail(x.message_id, x.headers.sender, x.headers.subject) for x in mailbox.unread(box)
            if x.readable and not x.error and x.message_id and x.message_id not in told]


def nudge(tmux: Tmux, target: str, text: str | None, wait: float, *, queue_ok: bool = True,
          journal_path: str, env: Mapping[str, str], server_runs: bool) -> Nudged:
    """Type ``text`` (or the doorbell for untold mail) into ``target``'s agent and prove it was submitted."""
    from ..agents import agent_of

    box = target_box(Registry.from_panes(tmux.list_panes(), env), target)
    kind = box.pane.option("agent").strip()
    if not kind:
        raise NudgeRefused(target, f"{box.name} is not an agent pane: run "
                                   f"`tmms register {box.name} --agent KIND` in it")
    agent = agent_of(kind, env)
    if agent.composer is None:
        raise NudgeRefused(target, f"tmms knows no composer of {kind!r} agents, so it never types into one "
                                   "(add a composer pattern in ~/.config/tmms/agents.yml)")
    states = state_dir(env)
    told_path = hooks.told_path(states, tmux.socket_path, box.pane_id)
    mail: list[Mail] = []
    if text is None:
        mail = untold_mail(box, told_path)
        if not mail:
            raise NudgeRefused(target, "no unread mail that the agent was not told about; give TEXT to say something")
        line = doorbell(mail)
    else:
        line = typeable(text)
        if not line:
            raise NudgeRefused(target, "the text is empty once control characters are dropped")
    ringer = ringer_for(tmux, box, agent, env)
    started = time.monotonic()
    ids = [m.message_id for m in mail] or [""]

    def journal(event: str, reason: str, **fields: str | None) -> None:
        for message_id in ids:
            record(journal_path, event, id=message_id or None, mailbox=box.name, pane=box.pane_id, reason=reason,
                   by="nudge", **fields)

    while True:
        rung = ringer.ring(line)
        if rung.outcome is Outcome.SUBMITTED:
            journal("typed", "", text=line)
            journal("submitted", rung.reason)
            if mail:
                hooks.save_told(told_path, [*hooks.load_told(told_path), *ids])
            return Nudged(box.name, box.pane_id, line, rung.reason, time.monotonic() - started)
        if rung.outcome is Outcome.FAILED:
            journal("typed", "", text=line)
            journal("failed", rung.reason)
            raise NudgeTimedOut(target, f"typed, but the submission could not be proven: {rung.reason}")
        if time.monotonic() - started + TICK > wait:
            break
        time.sleep(TICK)
    if queue_ok and text is not None and server_runs:
        queue.add(queue.folder(states, tmux.socket_path, box.pane_id), line)
        journal("doorbell-queued", f"{rung.state}: {rung.reason}", text=line)
        raise NudgeQueued(target, rung.state, rung.reason)
    if queue_ok and text is None and server_runs:
        journal("doorbell-queued", f"{rung.state}: {rung.reason}")
        raise NudgeQueued(target, rung.state, rung.reason)  # the server's doorbell holds this mail already
    why = "" if not queue_ok else "; no tmms server runs to queue it (tmms server)"
    raise NudgeTimedOut(target, f"the agent was still {rung.state} after {wait:g}s ({rung.reason}){why}")


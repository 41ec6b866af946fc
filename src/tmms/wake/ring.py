"""Ring the doorbell: type one line into an idle agent's empty composer, submit it, and prove it.

The gates, all checked under the pane's sender lock just before typing:
- the pane is alive and in no tmux mode (copy mode takes keys; a person is scrolling);
- no busy marker and no menu shows, and the bottom-most composer is visible and empty;
- the agent is idle: its hooks recorded "idle" after its last turn, or two screens at least
  ``SECOND_LOOK`` apart agree. A "busy" from the hooks wins over the screen, except after the screen
  has shown an idle composer for ``HOOK_BUSY_STALE`` (Stop does not fire when a person interrupts).
The text must then show in the composer before the submit key is pressed, alone, after the kind's
delay. Submission counts only when the composer no longer holds the text or a busy marker appears
("the screen changed" proves nothing: spinners repaint). Otherwise the kind's rescue steps run once;
Escape is never pressed while a busy marker shows, and the kind's data allows at most one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from ..tmux import Tmux
from . import pane as panes
from .screen import Screen, State, classify, holds

if TYPE_CHECKING:
    from ..agents import Agent

SECOND_LOOK = 0.2
"""Two idle screens at least this far apart (s) make an idle agent when its hooks say nothing."""
HOOK_BUSY_STALE = 30.0
"""A hooks' "busy" is not believed after the screen has shown an idle composer this long (s)."""
LANDED_WAIT = 0.5
"""How long (s) typed text may take to show in the composer before the send is called failed."""
LOCK_WAIT = 5.0
"""How long (s) to wait for another sender to finish with the pane."""
BRACKET_WHEN = ("\n", "/", "@")


class Outcome(StrEnum):
    """How a ring ended."""

    SUBMITTED = "submitted"  # typed, submitted, and the screen proves it
    NOT_READY = "not-ready"  # nothing typed: the agent is busy, has a draft or a menu, ...
    FAILED = "failed"  # typed, but the submission could not be proven


class Rung(NamedTuple):
    """The result of one ring: its outcome, the pane's state, why, and when the text was typed."""

    outcome: Outcome
    state: State
    reason: str
    typed_at: float | None = None


HookState = Callable[[], "tuple[str, float] | None"]


def needs_bracket(agent: Agent, text: str) -> bool:
    """Whether ``text`` goes in as a bracketed paste for this kind of agent."""
    if agent.paste == "bracketed":
        return True
    if agent.paste == "literal":
        return False
    return any(c in text for c in BRACKET_WHEN) or len(text.encode()) > 512


class Ringer:
    """Rings one pane's doorbell; remembers how long its screen has shown an idle composer."""

    def __init__(self, tmux: Tmux, agent: Agent, pane_id: str, lock_path: str,
                 hook_state: HookState | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.tmux = tmux
        self.agent = agent
        self.pane_id = pane_id
        self.lock_path = lock_path
        self.hook_state = hook_state or (lambda: None)
        self.sleep = sleep
        self.idle_since: float | None = None  # wall time the screen began to show an idle composer

    def look(self) -> Screen:
        """The pane's state now (a tmux mode or a dead pane before anything on its screen)."""
        view = panes.look(self.tmux, self.pane_id)
        if view.dead:
            screen = Screen(State.UNKNOWN, "", "the pane's program has exited")
        elif view.in_mode:
            screen = Screen(State.MODE, "", f"the pane is in {view.mode or 'a mode'}")
        else:
            screen = classify(self.agent, view.captured)
        if screen.state is State.IDLE:
            self.idle_since = self.idle_since or time.time()
        else:
            self.idle_since = None
        return screen

    def state(self) -> Screen:
        """The agent's state, the hooks' word weighed against the screen (no second look)."""
        screen = self.look()
        if screen.state is not State.IDLE:
            return screen
        hook = self.hook_state()
        if hook is not None and hook[0] == "busy" and not self._hook_busy_stale(hook[1]):
            return Screen(State.BUSY, "", "its hooks say a turn is running")
        if hook is not None and hook[0] == "menu" and not self._hook_busy_stale(hook[1]):
            return Screen(State.MENU, "", "its hooks say it waits on a person")
        return screen

    def _hook_busy_stale(self, at: float) -> bool:
        since = self.idle_since
        return since is not None and since >= at - 1 and time.time() - since >= HOOK_BUSY_STALE

    def ring(self, text: str) -> Rung:
        """Type ``text`` and submit it if every gate holds; prove the submission."""
        with panes.sender_lock(self.lock_path, LOCK_WAIT) as locked:
            if not locked:
                return Rung(Outcome.NOT_READY, State.UNKNOWN, "another sender is typing into the pane")
            screen = self.state()
            ours = screen.composer.startswith(text[:6]) and holds(screen, text)
            if ours and screen.state in (State.DRAFT, State.MENU):
                return self._rescue(text, screen, None)  # our own earlier line, stranded: submit it
            if screen.state is not State.IDLE:
                return Rung(Outcome.NOT_READY, screen.state, screen.reason)
            hook = self.hook_state()
            if hook is None or hook[0] != "idle":
                self.sleep(SECOND_LOOK)
                screen = self.state()
                if screen.state is not State.IDLE:
                    return Rung(Outcome.NOT_READY, screen.state, screen.reason)
            return self._send(text)

    def _send(self, text: str) -> Rung:
        """Type, wait for the text to show, press the submit key, verify."""
        panes.type_text(self.tmux, self.pane_id, text, bracketed=needs_bracket(self.agent, text))
        typed_at = time.time()
        start = time.monotonic()
        screen = self.look()
        while not holds(screen, text) and time.monotonic() - start < max(LANDED_WAIT, self.agent.enter_delay):
            self.sleep(0.03)
            screen = self.look()
        if not holds(screen, text):
            return Rung(Outcome.FAILED, screen.state, f"the text did not show in the composer ({screen.reason})",
                        typed_at)
        self.sleep(max(0.0, self.agent.enter_delay - (time.monotonic() - start)))
        screen = self.look()
        if not holds(screen, text):  # a menu or a person came in between: never press into that
            return Rung(Outcome.FAILED, screen.state, f"the composer changed before submitting ({screen.reason})",
                        typed_at)
        if screen.state is not State.DRAFT:  # the text opened a picker, which would take the key: rescue
            return self._rescue(text, screen, typed_at)
        panes.press(self.tmux, self.pane_id, self.agent.submit)
        verdict = self._verify(text)
        if verdict is not None:
            return verdict._replace(typed_at=typed_at)
        return self._rescue(text, self.look(), typed_at)

    def _verify(self, text: str) -> Rung | None:
        """Look at the kind's verify times after the submit key: a proof, or None (still stranded)."""
        pressed = time.monotonic()
        for at in self.agent.verify or (0.5,):
            self.sleep(max(0.0, at - (time.monotonic() - pressed)))
            screen = self.look()
            proof = _proof(screen, text)
            if proof is not None:
                return proof
        return None

    def _rescue(self, text: str, screen: Screen, typed_at: float | None) -> Rung:
        """The kind's rescue steps for text left in the composer, then one more verification."""
        if not holds(screen, text):
            return _proof(screen, text) or Rung(Outcome.FAILED, screen.state, screen.reason, typed_at)
        for step in self.agent.rescue:
            word, _, value = step.partition(" ")
            if word == "wait":
                self.sleep(float(value))
            elif word == "confirm":
                self.sleep(float(value))
                screen = self.look()
                if not holds(screen, text):
                    return (_proof(screen, text) or Rung(Outcome.FAILED, screen.state, screen.reason))._replace(
                        typed_at=typed_at)
            else:
                screen = self.look()
                if screen.state is State.BUSY:  # never Escape (or anything) into a running turn
                    return (_proof(screen, text) or Rung(Outcome.FAILED, State.BUSY, "a turn started with the text "
                            "still in the composer; nothing more is pressed"))._replace(typed_at=typed_at)
                panes.press(self.tmux, self.pane_id, word)
        verdict = self._verify(text)
        if verdict is not None:
            return verdict._replace(typed_at=typed_at)
        return Rung(Outcome.FAILED, State.DRAFT, "the submit key did not submit: the text is still in the composer",
                    typed_at)


def _proof(screen: Screen, text: str) -> Rung | None:
    """A submitted Rung when ``screen`` proves the submission, else None."""
    if screen.state is State.BUSY and not holds(screen, text):
        return Rung(Outcome.SUBMITTED, State.BUSY, "a busy marker appeared")
    if screen.state in (State.IDLE, State.DRAFT) and not holds(screen, text):
        return Rung(Outcome.SUBMITTED, screen.state, "the text left the composer")
    return None

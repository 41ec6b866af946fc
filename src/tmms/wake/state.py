"""An agent pane's state for people (``tmms peers``) and the ringer every sender builds the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .. import hooks
from ..errors import TmmsError
from ..paths import state_dir
from ..registry import Mailbox
from ..tmux import Tmux
from . import pane as panes
from .ring import Ringer

if TYPE_CHECKING:
    from ..agents import Agent


def ringer_for(tmux: Tmux, box: Mailbox, agent: Agent, env: Mapping[str, str]) -> Ringer:
    """The ringer of ``box``'s pane: its sender lock and its hooks' recorded state, by socket and pane."""
    states = state_dir(env)
    hook_file = hooks.state_path(states, tmux.socket_path, box.pane_id)
    return Ringer(tmux, agent, box.pane_id, panes.lock_path(states, tmux.socket_path, box.pane_id),
                  hook_state=lambda: hooks.read_state(hook_file))


def agent_state(tmux: Tmux, box: Mailbox, env: Mapping[str, str]) -> tuple[str, str]:
    """(state, why) of ``box``'s agent: idle, busy, draft, menu, mode or unknown; ('', '') when no agent."""
    from ..agents import agent_of

    kind = box.pane.option("agent").strip()
    if not kind:
        return "", ""
    try:
        screen = ringer_for(tmux, box, agent_of(kind, env), env).state()
    except TmmsError as exc:
        return "unknown", str(exc)
    return screen.state.value, screen.reason

"""The records ``tmms.api`` returns, in a module of their own: ``tmms post`` needs none, so never builds them."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .mailbox import Letter
    from .post import Posted
    from .registration import Registration
    from .server.service import Running


class Asked(NamedTuple):
    """What ``ask`` posted, the replies in the order they came, and who did not reply in time."""

    posted: Posted
    replies: list[Letter]
    missing: list[str]


class MailboxInfo(NamedTuple):
    """A registered pane as ``whoami`` and ``peers`` show it."""

    name: str
    pane_id: str
    location: str
    inbox: str
    outbox: str
    notify_cmd: str
    reply_to: str
    groups: list[str]
    unread: int
    agent: str = ""
    """The pane's agent kind (@tmms_agent; '' for none)."""
    state: str = ""
    """An agent pane's state: idle, busy, draft, menu, mode or unknown ('' for a pane without an agent)."""
    state_reason: str = ""
    """What showed that state (a busy marker, the draft's start, the hooks' word, ...)."""
    doorbell: str = ""
    """The doorbell line waiting for the agent to be ready ('' for none)."""


class Me(NamedTuple):
    """This pane's mailbox, and the pid of the tmms server of this tmux server (None: none runs)."""

    info: MailboxInfo
    server_pid: int | None


class Peers(NamedTuple):
    """Every registered pane, and the tmms server that runs for this tmux server (None: none)."""

    server: Running | None
    peers: list[MailboxInfo]


class Registered(NamedTuple):
    """What ``register`` did: the pane's registration, a config written (or None), the server's pid."""

    registration: Registration
    config_written: str | None
    server_pid: int | None
    server_started: bool


class DeadPlace(NamedTuple):
    """The dead-letter folder and the journal to use, and the config's warnings (if a config was read)."""

    folder: str
    journal: str
    warnings: list[str]


class Retried(NamedTuple):
    """Dead letters put back into an outbox (message id, new path), and those left (short ids)."""

    done: list[tuple[str, str]]
    left: list[str]

"""The seam for what happens after a delivery: follow-ups, side by side.

The loop keeps a list of follow-ups and tells each one the same things: the panes it serves, each
message the router delivered, each inbox file a file event or a scan found, and when a burst of
routing pauses (``flush``). The notify commands (``notify.Notices``) are the one follow-up today;
waking an agent by typing into its pane plugs in next to them without touching the loop.
"""

from __future__ import annotations

from typing import Protocol

from ..registry import Mailbox, Registry
from .outcome import Outcome


class FollowUp(Protocol):
    """An action after delivery. Each call is made from the loop; none may stop the server (the
    loop logs what one raises and goes on)."""

    def start(self) -> None:
        """Begin (the server is serving: threads and children may start now)."""

    def serve(self, registry: Registry) -> None:
        """The panes served from now on."""

    def delivered(self, outcome: Outcome, box: Mailbox) -> None:
        """The router has just moved a message into ``box``'s inbox (act now, or at ``flush``)."""

    def arrived(self, path: str, inbox: str) -> None:
        """A file event named ``path`` in ``inbox`` (a message put there by other means, or moved in)."""

    def scan(self, inboxes: set[str], *, complete: bool = False) -> None:
        """Look at every file of ``inboxes``; ``complete``: these are all the inboxes served."""

    def next_recheck(self) -> float:
        """When a file wants another look (monotonic; math.inf for never)."""
        ...

    def recheck(self, now: float) -> None:
        """Look again at the files due for it."""

    def flush(self) -> None:
        """A burst of routing has paused: act on what was delivered."""

    def close(self) -> None:
        """The server is stopping: end what runs."""

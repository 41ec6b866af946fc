"""How a routed message reaches an inbox: the seam where delivery to another host plugs in.

The router reads and checks an outbox file (``handover.hold``), then hands it to a transport.
Today there is one, ``LocalTransport``: the claim, verify and no-clobber rename of ``handover.place``.
"""

from __future__ import annotations

from typing import Protocol

from ..registry import Mailbox
from . import handover
from .handover import Held


class Transport(Protocol):
    """Delivers one held outbox file into a mailbox's inbox.

    ``deliver`` returns the path of the message in the inbox. It raises handover.Changed when the
    file is no longer the one that was read (it is routed again), FileNotFoundError when it is
    gone, and OSError when a step fails (the file is left in the outbox to be tried again).
    """

    def deliver(self, held: Held, box: Mailbox, data: bytes | None = None) -> str:
        """Put the held file (as ``data`` when given) into ``box``'s inbox; its path there."""
        ...


class LocalTransport:
    """An inbox on this host: the file is renamed into it, never replacing one (see ``handover``)."""

    def deliver(self, held: Held, box: Mailbox, data: bytes | None = None) -> str:
        """Move the held file into ``box.inbox`` (made when missing); its path there."""
        return handover.place(held, box.inbox, data)

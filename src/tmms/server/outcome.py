"""What became of one outbox file: a status and the facts that go with it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..message import Headers
from ..registry import Mailbox
from .corrections import NONE as NO_CORRECTIONS
from .corrections import Corrections


class Status(Enum):
    """What became of one outbox file."""

    DELIVERED = "delivered"
    SPOOLED = "spooled for another host"  # path: in the host's spool; reason: the host
    DEAD = "dead-lettered"
    PENDING = "pending"
    HELD = "held for an unknown recipient"
    FAILED = "failed"
    GONE = "gone"
    REFUSED = "not routed: its folder is also an inbox or dead letter"


@dataclass
class Outcome:
    """The result of routing one file."""

    status: Status
    source: str
    path: str = ""
    reason: str = ""
    headers: Headers | None = None
    recipient: Mailbox | None = None
    corrections: Corrections = NO_CORRECTIONS  # DELIVERED: what was corrected in it
    error: int = 0  # FAILED: the errno, which says whether another try may help (0: unknown)

    @property
    def extra(self) -> dict[str, str]:
        """The corrections by name (claimed_from, corrected_to, original_id, new_id), those made only."""
        return self.corrections.as_dict()

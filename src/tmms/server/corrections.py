"""What the router reads in a message, and changes before it hands it on: the true sender, a unique id.

The sender is the outbox's owner (a different ``tmms_from`` is corrected, the claim kept in the
journal and in a dead letter's reason). An id the server has delivered already is replaced by a
fresh one, the old one kept as ``tmms_original_id``. Every other byte stays as the author wrote it.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from ..errors import MessageError
from ..message import Headers, new_id, read_headers, set_keys

log = logging.getLogger("tmms.router")

ORIGINAL_ID = "tmms_original_id"


class Corrections(NamedTuple):
    """What was corrected in one message ('' : that part was kept as written)."""

    claimed_from: str = ""  # the tmms_from it was written with, when the outbox owner's replaced it
    corrected_to: str = ""  # ... and that owner
    original_id: str = ""  # the tmms_id it was written with, when a fresh one replaced it
    new_id: str = ""  # ... and the fresh id

    def as_dict(self) -> dict[str, str]:
        """The parts that were corrected, by name."""
        return {key: value for key, value in self._asdict().items() if value}


NONE = Corrections()


class Fixes(NamedTuple):
    """The corrections one message needs, and what to record about them."""

    owners: tuple[str, ...]  # the outbox's owners (sorted)
    sender: str = ""  # the sender to stamp ('' : keep tmms_from)
    message_id: str = ""  # the fresh id to give it ('' : keep tmms_id)

    @property
    def needed(self) -> bool:
        """Whether the file's bytes must change."""
        return bool(self.sender or self.message_id)

    def record(self, headers: Headers) -> Corrections:
        """What the journal, the outcome and a dead letter's reason record about the corrections."""
        return Corrections(claimed_from=headers.sender if self.sender else "", corrected_to=self.sender,
                           original_id=headers.message_id if self.message_id else "", new_id=self.message_id)

    def log(self, name: str, headers: Headers) -> None:
        """Say what was corrected (WARNING)."""
        if self.sender:
            log.warning("%s: tmms_from '%s' corrected to the outbox owner '%s'", name, headers.sender, self.sender)
        if self.message_id:
            log.warning("%s: tmms_id '%s' was delivered before; this message is given the id %s "
                        "(tmms_original_id keeps the old one)", name, headers.message_id[:80], self.message_id)

    def apply(self, headers: Headers) -> Headers:
        """The headers as they are after the corrections."""
        return headers._replace(sender=self.sender or headers.sender,
                                message_id=self.message_id or headers.message_id)


def headers_of(raw: bytes, limit: int) -> Headers:
    """The routing facts of an outbox file's bytes; MessageError for anything but a readable message,
    whatever the parser raised."""
    if limit and len(raw) > limit:
        raise MessageError(f"too large: it grew past {limit} bytes (max_message_bytes) while being read")
    if b"\x00" in raw:
        raise MessageError("binary content (NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageError(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        return read_headers(text)
    except MessageError:
        raise
    except RecursionError:
        raise MessageError("front matter nested too deeply to be read") from None
    except Exception as exc:  # whatever a parser raises on hostile text: a bad message
        raise MessageError(f"front matter cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None


def fixes_for(headers: Headers, owners: tuple[str, ...], known_id: bool) -> Fixes:
    """The corrections for a message from an outbox with ``owners``; ``known_id``: its id was delivered."""
    sender = owners[0] if len(owners) == 1 and headers.sender != owners[0] else ""
    return Fixes(owners, sender, new_id() if known_id and headers.message_id else "")


def corrected(data: bytes, fixes: Fixes, headers: Headers) -> bytes:
    """The message's bytes with ``fixes`` applied; MessageError when they cannot be."""
    text = data.decode("utf-8")
    values = []
    if fixes.sender:
        values.append(("tmms_from", fixes.sender))
    if fixes.message_id:
        values += [("tmms_id", fixes.message_id), (ORIGINAL_ID, headers.message_id)]
    return set_keys(text, values).encode("utf-8")

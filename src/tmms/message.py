"""Messages: ids, file names, composing a post and reading the routing facts of a file."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from . import frontmatter
from .errors import MessageError
from .names import SUFFIX

if TYPE_CHECKING:
    from datetime import datetime

_NAME_UNSAFE = re.compile(r"[^\w.@+-]", re.UNICODE)
SHORT_ID = 8  # hex digits of the id in a file name and wherever a message is named briefly


def new_id() -> str:
    """A fresh UUID v4, as TMMS uses for tmms_id (without importing uuid: post starts faster)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def short_id(message_id: str) -> str:
    """The first SHORT_ID hex digits of an id (dashes dropped), as in file names."""
    return message_id.replace("-", "")[:SHORT_ID]


def utc_now() -> datetime:
    """The current time in UTC, whole milliseconds."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``, as JavaScript's toISOString writes it."""
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _stamps(moment: datetime | None) -> tuple[str, str]:
    """(``tmms_created_at``, the file name's ``YYYYMMDD-HHMMSS``) of ``moment``, or of now.

    Now is read with the time module: importing datetime would cost ``tmms post`` a millisecond.
    """
    if moment is not None:
        from datetime import UTC

        return iso_timestamp(moment), moment.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    millis = time.time_ns() // 1_000_000
    utc = time.gmtime(millis // 1000)
    return (time.strftime("%Y-%m-%dT%H:%M:%S.", utc) + f"{millis % 1000:03d}Z",
            time.strftime("%Y%m%d-%H%M%S", utc))


def name_part(address: str) -> str:
    """An address made safe for a file name: path separators and odd characters become '-'."""
    safe = _NAME_UNSAFE.sub("-", address).lstrip(".")
    return safe or "unknown"


def file_name(moment: datetime | str, sender: str, recipient: str, message_id: str) -> str:
    """``YYYYMMDD-HHMMSS_{from}_to_{to}_{id8}.md`` in UTC (``moment`` may be that stamp already)."""
    stamp = moment if isinstance(moment, str) else _stamps(moment)[1]
    return f"{stamp}_{name_part(sender)}_to_{name_part(recipient)}_{short_id(message_id)}{SUFFIX}"


class Composed(NamedTuple):
    """A message ready to be written: its id, file name and full text."""

    message_id: str
    file_name: str
    text: str
    recipient: str


class Headers(NamedTuple):
    """The tmms_* values of a message, with the other keys as loaded data."""

    message_id: str = ""
    sender: str = ""
    recipients: list[str] = []  # noqa: RUF012 - shared default, never mutated
    created_at: str = ""
    subject: str = ""
    thread_id: str = ""
    in_reply_to: str = ""
    data: dict[str, Any] = {}  # noqa: RUF012 - shared default, never mutated
    all_recipients: list[str] = []  # noqa: RUF012 - tmms_recipients (set on a post to several), as names

    @property
    def recipient(self) -> str:
        """The first (usually only) recipient, or ''."""
        return self.recipients[0] if self.recipients else ""


def compose(
    source: str,
    sender: str,
    recipient: str,
    subject: str | None = None,
    *,
    thread_id: str | None = None,
    in_reply_to: str | None = None,
    recipients: Sequence[str] | None = None,
    message_id: str | None = None,
    moment: datetime | None = None,
) -> Composed:
    """Apply the merge rule: generate every tmms_* key, keep the author's other keys verbatim."""
    doc = frontmatter.split(source)
    if doc.front_matter is not None:
        frontmatter.load(doc.front_matter)  # validates: data only, a mapping
    user_text = frontmatter.without_system_keys(doc.front_matter)
    message_id = message_id or new_id()
    created_at, stamp = _stamps(moment)
    system: list[tuple[str, str | list[str]]] = [
        ("tmms_id", message_id),
        ("tmms_from", sender),
        ("tmms_to", recipient),
        ("tmms_created_at", created_at),
    ]
    if subject is not None:
        system.append(("tmms_subject", subject))
    if thread_id:
        system.append(("tmms_thread_id", thread_id))
    if in_reply_to:
        system.append(("tmms_in_reply_to", in_reply_to))
    if recipients and len(recipients) > 1:
        system.append(("tmms_recipients", list(recipients)))
    text = frontmatter.render(system, user_text, doc.body)
    return Composed(message_id, file_name(stamp, sender, recipient, message_id), text, recipient)


def read_headers(text: str) -> Headers:
    """Parse a message's front matter into Headers; raise MessageError when it is not valid.

    Every field is a string, or a flat list of bounded names; ``data`` keeps the loaded mapping.
    """
    doc = frontmatter.split(text)
    if doc.front_matter is None:
        raise MessageError("no front matter (a message starts with a '---' line)")
    data = frontmatter.load(doc.front_matter)
    to = data.get("tmms_to", "")
    recipients = [to] if isinstance(to, str) and to else names(to)
    return Headers(
        message_id=_text(data.get("tmms_id")),
        sender=_text(data.get("tmms_from")),
        recipients=recipients,
        created_at=_text(data.get("tmms_created_at")),
        subject=_text(data.get("tmms_subject")),
        thread_id=_text(data.get("tmms_thread_id")),
        in_reply_to=_text(data.get("tmms_in_reply_to")),
        data=data,
        all_recipients=names(data.get("tmms_recipients")),
    )


MAX_NAMES = 10_000  # names kept from a list of recipients
MAX_NAME_CHARS = 256  # a longer name is no address (registered names have at most 64)


def names(value: object) -> list[str]:
    """A front matter list as a flat list of names: non-empty strings only, bounded in count and length."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and 0 < len(item) <= MAX_NAME_CHARS][:MAX_NAMES]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def replace_sender(text: str, sender: str) -> str:
    """Return the message with ``tmms_from`` set to ``sender``; every other byte untouched."""
    return set_keys(text, [("tmms_from", sender)])


def set_keys(text: str, values: list[tuple[str, str]]) -> str:
    """The message with each top-level key set to its string value; every other byte untouched.

    The fences, a BOM and the body are kept as they are; a new line uses the file's line ending.
    """
    doc = frontmatter.split(text)
    if doc.front_matter is None:
        raise MessageError("no front matter")
    start = text.index("\n") + 1  # the front matter begins after the opening fence line
    end = start + len(doc.front_matter)
    newline = frontmatter.line_ending(doc.front_matter, frontmatter.line_ending(text[:start]))
    front = doc.front_matter
    for key, value in values:
        front = frontmatter.replace_key(front, key, value, newline=newline)
    return text[:start] + front + text[end:]

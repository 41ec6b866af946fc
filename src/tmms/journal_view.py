"""The journal for people (``tmms log``): filters, readable lines, and following files as they grow.

``follow_lines`` tails any append-only file and survives its rotation (the writer renames it to
``.1`` and starts a new one), as ``tail -F`` does; ``tmms log -f`` and ``tmms server logs -f`` use it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from .reading import open_regular
from .terminal import visible

POLL = 0.2  # seconds between looks at a followed file that did not grow
MAX_LINE = 1024 * 1024  # a longer line without its end is dropped, never held in memory
SUBJECTS_KEPT = 10_000  # message ids whose subject is remembered for later lines


def parse_age(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``12h``, ``7d``, ``2w`` -> seconds; ValueError otherwise."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    scale = units.get(text[-1:], 0)
    value = float(text[:-1] if scale else text)
    if not value >= 0 or value == float("inf"):
        raise ValueError(text)
    return value * (scale or 1)


def moment(record: Mapping[str, str]) -> float | None:
    """The epoch time of a record's ``at`` (``2026-03-22T14:30:05.123Z``), or None."""
    try:
        return datetime.fromisoformat(record.get("at", "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class Filter:
    """Which records to show: by sender, by recipient (or reading mailbox), by event, by age."""

    sender: str | None = None
    recipient: str | None = None
    events: frozenset[str] = frozenset()
    since: float | None = None  # epoch seconds

    def matches(self, record: Mapping[str, str]) -> bool:
        """Whether ``record`` passes every filter that is set."""
        if self.events and record.get("event") not in self.events:
            return False
        if self.sender is not None and record.get("from") != self.sender:
            return False
        if self.recipient is not None and self.recipient not in _recipients(record):
            return False
        if self.since is not None:
            at = moment(record)
            return at is not None and at >= self.since
        return True


def _recipients(record: Mapping[str, str]) -> set[str]:
    """Whom a record is about: the mailbox it happened in (a delivered copy, a read), else its recipients."""
    if record.get("mailbox"):
        return {record["mailbox"]}
    return {n.strip() for n in record.get("to", "").split(",") if n.strip()}


class Describer:
    """Turns records into one readable line each; remembers subjects (only ``posted`` records carry one)."""

    def __init__(self) -> None:
        self.subjects: dict[str, str] = {}

    def note(self, record: Mapping[str, str]) -> None:
        """Remember the subject of a posted message, for the later records about it."""
        if record.get("subject") and record.get("id"):
            if len(self.subjects) >= SUBJECTS_KEPT:
                self.subjects.clear()
            self.subjects[record["id"]] = record["subject"]

    def line(self, record: Mapping[str, str]) -> str:
        """``local time  event  id  from -> to  "subject"  reason``, every part shown visibly."""
        self.note(record)
        at = moment(record)
        when = datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S") if at is not None else "?"
        message_id = record.get("id", "")
        parts = [when, f"{record.get('event', '?'):<13}", f"{message_id[:8] or '-':<8}"]
        sender, to = record.get("from", ""), record.get("mailbox") or record.get("to", "")
        if sender or to:
            parts.append(f"{sender} -> {to}".strip())  # '-> beta' for a read: the reader, no sender
        subject = record.get("subject") or self.subjects.get(message_id, "")
        if subject:
            parts.append(json.dumps(subject, ensure_ascii=False))
        if record.get("reason"):
            parts.append(f"({record['reason']})")
        return visible("  ".join(parts))


def decode(line: str) -> dict[str, str] | None:
    """A journal line as a flat record of strings, or None when it is not a JSON object."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None


def records(lines: Iterable[str], wanted: Filter) -> Iterator[dict[str, str]]:
    """The records among ``lines`` that ``wanted`` lets through (bad lines skipped)."""
    for line in lines:
        record = decode(line)
        if record is not None and wanted.matches(record):
            yield record


def rotated(path: str, keep: int) -> list[str]:
    """The rotated files of ``path`` that exist, oldest first (``path.KEEP`` ... ``path.1``)."""
    return [f"{path}.{i}" for i in range(keep, 0, -1) if os.path.isfile(f"{path}.{i}")]


def read_lines(path: str) -> Iterator[str]:
    """Every whole line of a file (a FIFO or device at the name is never opened); nothing if it is missing."""
    try:
        fd, _ = open_regular(path)
    except OSError:
        return
    with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
        yield from handle


def follow_lines(path: str, stop: Callable[[], bool] | None = None, poll: float = POLL,
                 caught_up: Callable[[], None] | None = None) -> Iterator[str]:
    """Every line of ``path`` from its start, then each new one as it is written, until ``stop()``.

    ``caught_up`` is called once, the first time the end is reached (what came before is history).
    When the file is rotated away (renamed, a new one made in its place) or removed, the rest of
    the old one is read, then the new one from its start; a file truncated in place is read again.
    """
    fd = -1
    pending = b""
    leaving = False  # the file was replaced: read what is left in it, then open the new one
    try:
        while True:
            if fd < 0:
                fd, pending = _open(path), b""
            chunk = os.read(fd, 65536) if fd >= 0 else b""
            if chunk:
                *lines, pending = (pending + chunk).split(b"\n")
                pending = b"" if len(pending) > MAX_LINE else pending
                yield from (line.decode("utf-8", "replace") + "\n" for line in lines)
                continue
            if leaving:  # a line written just before the rename is read too
                os.close(fd)
                fd, leaving = -1, False
                continue
            change = _change(path, fd) if fd >= 0 else "same"
            leaving = change == "replaced"
            if change != "same":
                continue
            if caught_up is not None:
                caught_up()
                caught_up = None
            if stop is not None and stop():
                return
            time.sleep(poll)
    finally:
        if fd >= 0:
            os.close(fd)


def _open(path: str) -> int:
    """The file opened for reading, or -1 while it is missing (or not a regular file)."""
    try:
        fd, _ = open_regular(path)
    except OSError:
        return -1
    return fd


def _change(path: str, fd: int) -> str:
    """``replaced`` when ``path`` now names another file than ``fd`` (or none); ``rewound`` when it was
    truncated (``fd`` is moved back to its start); else ``same``."""
    own = os.fstat(fd)
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return "replaced"
    if (now.st_dev, now.st_ino) != (own.st_dev, own.st_ino):
        return "replaced"
    if own.st_size < os.lseek(fd, 0, os.SEEK_CUR):
        os.lseek(fd, 0, os.SEEK_SET)
        return "rewound"
    return "same"

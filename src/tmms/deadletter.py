"""``tmms dead``: list, show, retry and purge dead letters, each with the reason it was set aside."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from . import mailbox, store
from .errors import StorageError
from .mailbox import Folder, Letter
from .names import REASON_SUFFIX as REASON_SUFFIX
from .registry import Registry


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered file and its ``.reason.json`` (empty when there is none)."""

    letter: Letter
    reason: dict[str, Any]
    dead_at: float

    @property
    def reason_path(self) -> str:
        """Where its reason is kept."""
        return self.letter.path + REASON_SUFFIX

    @property
    def why(self) -> str:
        """The reason in words."""
        return str(self.reason.get("reason") or "no reason recorded")


def _load(letter: Letter) -> DeadLetter:
    try:
        dead_at = os.lstat(letter.path + REASON_SUFFIX).st_mtime
    except OSError:
        dead_at = letter.mtime
    return DeadLetter(letter, _reason(letter.path), dead_at)


REASON_BYTES = 4 * 1024 * 1024  # more than any reason the router writes (its header values are bounded)


def _reason(path: str) -> dict[str, Any]:
    """The flat facts of a ``.reason.json``: string, number and boolean values only.

    It is read like a mail file (never blocking, regular files only, bounded); anything else,
    or a file that cannot be read, gives no facts.
    """
    try:
        raw, _ = store.read_regular(path + REASON_SUFFIX, REASON_BYTES + 1)
        if len(raw) > REASON_BYTES:
            return {}
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str | int | float | bool) or v is None}


def listing(dead_dir: str) -> list[DeadLetter]:
    """Every dead letter, oldest first."""
    letters = [mailbox.load(entry.path, Folder.DEAD) for entry in store.messages(dead_dir)]
    entries = [_load(letter) for letter in letters]
    return sorted(entries, key=lambda d: (d.dead_at, d.letter.name))


def find(dead_dir: str, ref: str) -> DeadLetter:
    """The dead letter ``ref`` names (id prefix or file name prefix)."""
    letter = mailbox.find((d.letter for d in listing(dead_dir)), ref, f"dead letter ({dead_dir})")
    return _load(letter)


def retry_target(dead: DeadLetter, registry: Registry) -> str | None:
    """The outbox to put a dead letter back into: where it came from, else its sender's outbox."""
    source = str(dead.reason.get("source") or "")
    origin = os.path.dirname(source) if source else ""
    if origin and origin in registry.by_outbox:
        return origin
    sender = dead.letter.headers.sender or str(dead.reason.get("tmms_from") or "")
    boxes = registry.by_name.get(sender, [])
    if boxes:
        return boxes[0].outbox
    return origin if origin and os.path.isdir(origin) else None


def retry(dead: DeadLetter, outbox: str) -> str:
    """Move a dead letter back into an outbox (never replacing) and drop its reason; the new path."""
    try:
        path = store.move_no_clobber(dead.letter.path, outbox)
    except OSError as exc:
        raise StorageError.from_os(outbox, exc) from None
    try:
        os.unlink(dead.reason_path)
    except FileNotFoundError:
        pass
    return path


def purge(dead_dir: str, older_than: float, now: float | None = None) -> list[DeadLetter]:
    """Delete dead letters (and reasons) set aside more than ``older_than`` seconds ago."""
    now = time.time() if now is None else now
    removed: list[DeadLetter] = []
    for dead in listing(dead_dir):
        if now - dead.dead_at < older_than:
            continue
        for path in (dead.letter.path, dead.reason_path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise StorageError.from_os(path, exc) from None
        removed.append(dead)
    return removed


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``12h``, ``7d``, ``2w`` → seconds; ValueError otherwise."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    scale = units.get(text[-1:], 0)
    number = text[:-1] if scale else text
    value = float(number)
    if value < 0 or value != value:
        raise ValueError(text)
    return value * (scale or 1)


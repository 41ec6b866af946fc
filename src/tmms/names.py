"""File names that always fit: at most NAME_MAX bytes, a fresh variant on every clash.

A name is cut in the middle of its stem, so the front (the date, for sorting), the end of the stem
(the message's short id) and the suffix (``.md``) stay. Lengths are counted in bytes as the kernel
counts them (UTF-8, and any byte of a name that is not UTF-8 as one byte).
"""

from __future__ import annotations

import os

SUFFIX = ".md"  # a message file's suffix: the one owner of it (store, message and mailbox import it)
REASON_SUFFIX = ".reason.json"  # a dead letter's companion: the router writes it, tmms dead reads it
NAME_MAX = 255  # bytes in one file name (Linux, and the usual filesystems)
SEQUENTIAL = 100  # clashes answered with -2, -3, ...; after that a random suffix
RANDOM_TRIES = 100  # random suffixes tried before a folder is called full
TRIES = SEQUENTIAL + RANDOM_TRIES
KEEP_TAIL = 9  # characters kept at the end of a stem that is cut: "_{id8}"
CUT_MARK = "~"
_EXT_MAX = 16  # a "suffix" longer than this many bytes is not treated as one


def byte_length(name: str) -> int:
    """How many bytes ``name`` takes in a folder."""
    return len(os.fsencode(name))


def _char_bytes(char: str) -> int:
    try:
        return len(os.fsencode(char))
    except UnicodeError:
        return 4


def _split(name: str) -> tuple[str, str]:
    """(stem, suffix with its dot); no suffix for a dot-less name or an overlong one."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or byte_length(ext) + 1 > _EXT_MAX:
        return name, ""
    return stem, dot + ext


def _head(text: str, budget: int) -> str:
    """The longest start of ``text`` that takes at most ``budget`` bytes (whole characters)."""
    used = 0
    for index, char in enumerate(text):
        used += _char_bytes(char)
        if used > budget:
            return text[:index]
    return text


def _tail(text: str, budget: int) -> str:
    """The longest end of ``text`` (at most KEEP_TAIL characters) within ``budget`` bytes."""
    kept = ""
    for char in reversed(text[-KEEP_TAIL:]):
        if byte_length(kept) + _char_bytes(char) > budget:
            break
        kept = char + kept
    return kept


def fit(name: str, reserve: int = 0, limit: int = NAME_MAX) -> str:
    """``name`` cut to at most ``limit - reserve`` bytes, keeping its front, its id part and suffix."""
    budget = limit - reserve
    if byte_length(name) <= budget:
        return name
    stem, ext = _split(name)
    room = budget - byte_length(ext)
    if room <= len(CUT_MARK) + KEEP_TAIL:
        return _head(name, budget)
    tail = _tail(stem, (room - len(CUT_MARK)) // 2)
    head = _head(stem, room - len(CUT_MARK) - byte_length(tail))
    return f"{head}{CUT_MARK}{tail}{ext}"


def fresh_name(name: str, attempt: int, reserve: int = 0) -> str:
    """The name to try after ``attempt`` clashes: ``x.md``, ``x-2.md``, ``x-3.md``, ... then
    ``x-<random>.md``; each within NAME_MAX bytes less ``reserve`` (room for a companion's suffix)."""
    if attempt == 0:
        return fit(name, reserve)
    mark = f"-{attempt + 1}" if attempt < SEQUENTIAL else f"-{os.urandom(4).hex()}"
    stem, ext = _split(fit(name, reserve + len(mark)))
    return f"{stem}{mark}{ext}"


def generated(name: str) -> str:
    """A short name of its own, for a folder whose filesystem refuses even a fitted name."""
    ext = _split(name)[1] or SUFFIX
    return f"tmms-{os.urandom(8).hex()}{ext}"

"""The per-pane queue of ``tmms nudge`` lines that waited too long: small files the server rings in order."""

from __future__ import annotations

import hashlib
import os
import time

MAX_LINE = 4096
"""A queued line is at most this many bytes (longer files are dropped, never typed)."""


def folder(state_dir: str, socket_path: str, pane_id: str) -> str:
    """The queue folder of ``pane_id`` on the tmux server at ``socket_path``."""
    key = hashlib.sha256(f"{socket_path}\0{pane_id}".encode()).hexdigest()[:16]
    return os.path.join(state_dir, "wake", f"queue-{key}")


def add(path: str, text: str) -> str:
    """Queue ``text`` in the folder ``path`` (0700, files 0600, written whole); return the file."""
    from ..store import replace_whole

    os.makedirs(path, mode=0o700, exist_ok=True)
    name = os.path.join(path, f"{time.time_ns()}-{os.getpid()}.line")
    replace_whole(name, text.encode(), f"{name}.tmp", durable=True)
    return name


def pending(path: str) -> list[tuple[str, str]]:
    """The queued lines, oldest first, as (file, text); a file that is not a small regular file is dropped."""
    from ..reading import read_regular

    try:
        names = sorted(n for n in os.listdir(path) if n.endswith(".line"))
    except OSError:
        return []
    lines = []
    for name in names:
        file = os.path.join(path, name)
        try:
            data, _ = read_regular(file, MAX_LINE + 1)
        except OSError:
            continue
        if len(data) > MAX_LINE:
            done(file, False)
            continue
        lines.append((file, data.decode("utf-8", "replace")))
    return lines


def done(file: str, submitted: bool) -> None:
    """Take a rung (or failed) line out of the queue."""
    try:
        os.unlink(file)
    except OSError:
        pass

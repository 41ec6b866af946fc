"""What a running server uses (pid, config, dead-letter folder, journal, watch mode), published next
to its lock so that ``tmms dead``, ``status`` and ``peers`` use the same folders as the server.

The file is written whole (a private temporary file renamed over it) and is trusted only while its
pid holds the lock (see ``service.running``); a file left by a killed server is ignored.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass

from .. import store

FILE_MODE = 0o600
MAX_BYTES = 64 * 1024
_FLAGS = os.O_CLOEXEC | os.O_NOFOLLOW


@dataclass(frozen=True)
class RunInfo:
    """A running server's published facts."""

    pid: int
    socket: str
    dev: int
    ino: int
    config: str | None
    dead_letter_dir: str
    journal: str
    watch: str
    started: str
    log: str | None = None  # the log file (None: a foreground server logs to its stderr)
    stats: Mapping[str, int] | None = None  # counters and mailboxes served, refreshed as they change


def write(path: str, info: Mapping[str, object]) -> None:
    """Replace ``path`` with ``info`` as JSON, 0600, in one rename (readers never see half a file)."""
    data = (json.dumps(dict(info), sort_keys=True) + "\n").encode("utf-8")
    store.replace_whole(path, data, f"{path}.tmp-{os.getpid()}-{os.urandom(4).hex()}", durable=False)


def remove(path: str) -> None:
    """Remove a run info file (or its temporary file) if it is there."""
    try:
        os.unlink(path)
    except OSError:
        pass


def read(path: str) -> RunInfo | None:
    """The run info at ``path``; None when it is missing, not a private regular file of ours, or malformed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_size > MAX_BYTES:
            return None
        raw = os.read(fd, MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    return parse(data) if isinstance(data, dict) else None


def parse(data: Mapping[str, object]) -> RunInfo | None:
    """A RunInfo from decoded JSON; None unless every field has its type."""
    numbers = [v for v in (data.get(k) for k in ("pid", "dev", "ino")) if type(v) is int]
    texts = [v for v in (data.get(k) for k in ("socket", "dead_letter_dir", "journal", "watch", "started"))
             if isinstance(v, str)]
    config = data.get("config")
    if len(numbers) != 3 or len(texts) != 5 or not (config is None or isinstance(config, str)):
        return None
    pid, dev, ino = numbers
    socket, dead_letter_dir, journal, watch, started = texts
    log = data.get("log")
    stats = data.get("stats")
    return RunInfo(pid, socket, dev, ino, config, dead_letter_dir, journal, watch, started,
                   log if isinstance(log, str) else None,
                   {str(k): v for k, v in stats.items() if type(v) is int} if isinstance(stats, dict) else None)

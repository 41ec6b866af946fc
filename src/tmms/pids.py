"""Whether a process id names a live process: the one check the server control and the host links share."""

from __future__ import annotations

import os


def alive(pid: object) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as gone; anything but a positive int is none)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[-1].split()[:1] != [b"Z"]
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

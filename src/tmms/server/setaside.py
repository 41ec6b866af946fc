"""Dead letter: a file set aside with a ``<name>.reason.json`` that says why, and who sent it.

A file that was read is set aside exactly as read (see ``handover``), with the true sender and a
unique id stamped when it parsed, as a delivery would have them; the reason records the outbox's
owner, and the sender and id it claimed. A file that was not read (not a regular file, too large)
is moved as it is.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from datetime import UTC, datetime

from .. import store
from ..errors import StorageError
from ..message import Headers
from ..names import REASON_SUFFIX
from . import handover
from .corrections import Fixes, corrected
from .handover import Held

log = logging.getLogger("tmms.router")


def set_aside(source: str, reason: str, dead_dir: str, headers: Headers | None, fixes: Fixes,
              held: Held | None, entry: store.Entry | None = None) -> tuple[str, Headers | None]:
    """Move ``source`` into ``dead_dir`` and write its reason; (its path there, its headers as set aside).

    ``held``: the file as read; else it is moved unread, and must still be ``entry`` (inode, type,
    size and mtime: an inode number alone may have been reused by a file put in its place).
    Raises handover.Changed, FileNotFoundError (gone) and OSError/StorageError as moving gives them.
    """
    if held is None:
        store.ensure_dir(dead_dir)
        # A name whose .reason.json is free too: a stale reason never sits next to a new message.
        path = store.move_no_clobber(source, dead_dir, companions=(REASON_SUFFIX,))
        if entry is not None and _signature(os.lstat(path)) != _signature(entry):  # another took its place
            outbox, name = os.path.split(source)
            handover.put_back(path, outbox, name)
            raise handover.Changed("it was replaced while being set aside")
        _make_private(path)
        fixes = Fixes(fixes.owners)
    else:
        data = None
        if headers is not None and fixes.needed:
            try:
                data = corrected(held.data, fixes, headers)
            except Exception:  # set aside as it is; the reason records the owner
                fixes = Fixes(fixes.owners)
        if data is None:
            fixes = Fixes(fixes.owners)
        path = handover.place(held, dead_dir, data, companions=(REASON_SUFFIX,))
    shown = fixes.apply(headers) if headers is not None else None
    write_reason(path, record(source, reason, headers, fixes))
    return path, shown


def record(source: str, reason: str, headers: Headers | None, fixes: Fixes) -> dict[str, str]:
    """A reason record: why, from where, the message's facts as set aside, and what was corrected."""
    entry = {
        "reason": reason,
        "source": source,
        "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if headers is not None:
        shown = fixes.apply(headers)
        entry.update(tmms_id=shown.message_id, tmms_from=shown.sender, tmms_to=",".join(headers.recipients))
        done = fixes.record(headers)
        entry.update({k: v for k, v in done.as_dict().items() if k in ("claimed_from", "original_id")})
    if fixes.owners:
        entry["outbox_owner"] = ",".join(fixes.owners)
    return entry


def write_reason(path: str, entry: dict[str, str]) -> None:
    """Write ``<path>.reason.json``; a failure is logged, never raised (the letter is set aside)."""
    directory, name = os.path.split(path)
    try:
        store.write_new(directory, name + REASON_SUFFIX, (json.dumps(entry) + "\n").encode())
    except StorageError as exc:
        log.warning("%s: could not record the dead-letter reason: %s", path, exc)


def _make_private(path: str) -> None:
    """A regular file set aside unread is made FILE_MODE too (a symlink or FIFO is left as it is)."""
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) != store.FILE_MODE:
            os.chmod(path, store.FILE_MODE, follow_symlinks=False)
    except (OSError, NotImplementedError):
        pass


def _signature(st: os.stat_result | store.Entry) -> tuple[int, int, int, int]:
    if isinstance(st, store.Entry):
        return (st.inode, stat.S_IFMT(st.mode), st.size, st.mtime_ns)
    return (st.st_ino, stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns)

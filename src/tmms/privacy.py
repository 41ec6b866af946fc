"""Mail is private: the folders tmms made itself are tightened to 0700 (files are written 0600 by store).

Only folders under tmms's own data and state folders are changed. A folder a user made elsewhere
(``~/tmms/alpha/inbox``, the TMMS way) is left as it is: its mode is the user's choice.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from . import store
from .paths import data_dir, state_dir


def inside(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or below it (both made absolute, ``..`` resolved)."""
    path, root = os.path.abspath(path), os.path.abspath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def tighten_mailboxes(folders: Iterable[str], env: Mapping[str, str] | None = None) -> list[str]:
    """Tighten mailbox folders tmms made (under its data folder), with their read/sent folders and
    the folders between them and the data folder; the folders changed."""
    root = data_dir(env)
    changed: list[str] = []
    for folder in folders:
        if not inside(folder, root):
            continue
        path = os.path.abspath(folder)
        for sub in (store.READ_DIR, store.ARCHIVE_DIR, store.SENT_DIR):
            changed += _tighten(os.path.join(path, sub))
        while inside(path, root):
            changed += _tighten(path)
            if path == os.path.abspath(root):
                break
            path = os.path.dirname(path)
    return changed


def tighten_own_folders(dead_letter_dir: str, env: Mapping[str, str] | None = None) -> list[str]:
    """At server start: every mailbox under ``<data>/mail``, a dead-letter folder under the data
    folder, and the state folder (journal, ledger, logs); the folders changed."""
    mail = os.path.join(data_dir(env), "mail")
    boxes = [os.path.join(mail, name, kind) for name in _subfolders(mail) for kind in ("inbox", "outbox")]
    changed = tighten_mailboxes([mail, *boxes, dead_letter_dir], env)
    return changed + _tighten(state_dir(env))


def _subfolders(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _tighten(path: str) -> list[str]:
    return [path] if store.tighten(path) else []

"""Panes to mailboxes: which panes take part, their folders, and lookup by name."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from .errors import PaneNotFound, PaneNotRegistered
from .paths import expand
from .store import ARCHIVE_DIR, READ_DIR
from .tmux import PaneRecord

if TYPE_CHECKING:
    from .tmux import Tmux

_TRUE = frozenset({"true", "1", "yes", "on"})
REQUIRED = ("name", "inbox", "outbox")


class Mailbox(NamedTuple):
    """A registered pane: its address, folders and notify command, paths expanded."""

    name: str
    pane_id: str
    inbox: str
    outbox: str
    notify_cmd: str
    reply_to: str
    groups: tuple[str, ...]
    pane: PaneRecord


def is_enabled(pane: PaneRecord) -> bool:
    """Whether ``@tmms_enabled`` says this pane takes part."""
    return pane.option("enabled").strip().lower() in _TRUE


def missing_options(pane: PaneRecord) -> list[str]:
    """The required @tmms_* options this pane lacks."""
    missing = [] if is_enabled(pane) else ["@tmms_enabled"]
    return missing + [f"@tmms_{key}" for key in REQUIRED if not pane.option(key).strip()]


def mailbox_of(pane: PaneRecord, env: Mapping[str, str] | None = None) -> Mailbox:
    """The mailbox of one pane; PaneNotRegistered when options are missing."""
    missing = missing_options(pane)
    if missing:
        raise PaneNotRegistered(pane.pane_id, missing)
    groups = tuple(g.lstrip("@") for g in pane.option("groups").replace(",", " ").split() if g.lstrip("@"))
    return Mailbox(
        name=pane.option("name").strip(),
        pane_id=pane.pane_id,
        inbox=_folder(pane.option("inbox"), env),
        outbox=_folder(pane.option("outbox"), env),
        notify_cmd=pane.option("notify_cmd"),
        reply_to=pane.option("reply_to").strip(),
        groups=groups,
        pane=pane,
    )


def _folder(value: str, env: Mapping[str, str] | None) -> str:
    return os.path.normpath(os.path.abspath(expand(value.strip(), env)))


class Registry:
    """A snapshot of every registered pane, indexed by name and by outbox."""

    def __init__(self, mailboxes: Iterable[Mailbox]) -> None:
        self.mailboxes: list[Mailbox] = list(mailboxes)
        self.by_name: dict[str, list[Mailbox]] = {}
        self.by_outbox: dict[str, list[Mailbox]] = {}
        self.by_inbox: dict[str, list[Mailbox]] = {}
        for box in self.mailboxes:
            self.by_name.setdefault(box.name, []).append(box)
            self.by_outbox.setdefault(box.outbox, []).append(box)
            self.by_inbox.setdefault(box.inbox, []).append(box)

    @classmethod
    def from_panes(cls, panes: Iterable[PaneRecord], env: Mapping[str, str] | None = None) -> Registry:
        """Build from tmux pane records, skipping panes that are not fully registered."""
        boxes = []
        for pane in panes:
            if not missing_options(pane):
                boxes.append(mailbox_of(pane, env))
        return cls(boxes)

    def inboxes_for(self, name: str) -> list[str]:
        """The distinct inbox folders that ``name`` resolves to (more than one is ambiguous)."""
        seen: list[str] = []
        for box in self.by_name.get(name, []):
            if box.inbox not in seen:
                seen.append(box.inbox)
        return seen

    def group(self, group: str) -> list[str]:
        """Names of the mailboxes that list ``group`` in ``@tmms_groups``."""
        names: list[str] = []
        for box in self.mailboxes:
            if group in box.groups and box.name not in names:
                names.append(box.name)
        return names

    def outboxes(self) -> list[str]:
        """Every distinct outbox folder."""
        return list(self.by_outbox)

    def signature(self) -> tuple[tuple[str, str, str, str, str], ...]:
        """What routing depends on; equal signatures mean nothing changed."""
        return tuple(sorted((b.pane_id, b.name, b.inbox, b.outbox, b.notify_cmd) for b in self.mailboxes))


class Here(NamedTuple):
    """The pane a command runs in, its mailbox and every registered pane: one tmux invocation."""

    tmux: Tmux
    pane: PaneRecord
    me: Mailbox
    registry: Registry


def here(tmux: Tmux, pane_id: str | None = None) -> Here:
    """Read the panes once and find this pane's mailbox (``$TMUX_PANE`` unless ``pane_id``)."""
    pane_id = pane_id or tmux.current_pane_id()
    panes = tmux.list_panes()
    own = next((p for p in panes if p.pane_id == pane_id), None)
    if own is None:
        raise PaneNotFound(pane_id)
    return Here(tmux, own, mailbox_of(own, tmux.env), Registry.from_panes(panes, tmux.env))


# -- folders that must not overlap -------------------------------------------------------------------
# An outbox that is also an inbox would route its own deliveries again (for ever); dead letter that
# is an inbox or outbox would deliver, or route again, what was set aside. Folders are compared as
# they resolve (symlinks, ``..``) and by (device, inode), so two spellings of one folder match.


class Folder(NamedTuple):
    """A folder as it resolves: its real path, and its (device, inode) when it exists."""

    path: str
    real: str
    key: tuple[int, int] | None


def folder(path: str) -> Folder:
    """Resolve a folder (it need not exist yet)."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except (OSError, ValueError):
        return Folder(path, real, None)
    return Folder(path, real, (st.st_dev, st.st_ino))


def same_folder(a: Folder, b: Folder) -> bool:
    """Whether two folders are one."""
    return a.real == b.real or (a.key is not None and a.key == b.key)


def inside(inner: Folder, outer: Folder) -> bool:
    """Whether ``inner`` is ``outer`` or lies below it."""
    return same_folder(inner, outer) or inner.real.startswith(outer.real.rstrip("/") + "/")


class Folders:
    """The resolved inboxes (with their read folders) and outboxes of some mailboxes, indexed by
    real path and by (device, inode), to check other folders against."""

    def __init__(self, mailboxes: Iterable[Mailbox]) -> None:
        self._real: dict[str, dict[str, Mailbox]] = {}  # real path -> {what it is: a pane}
        self._key: dict[tuple[int, int], dict[str, Mailbox]] = {}
        self.outboxes: list[tuple[Folder, Mailbox]] = []
        seen: dict[str, Folder] = {}
        for box in mailboxes:
            inbox = seen.get(box.inbox) or seen.setdefault(box.inbox, folder(box.inbox))
            outbox = seen.get(box.outbox) or seen.setdefault(box.outbox, folder(box.outbox))
            kept = [(kind, seen.get(path) or seen.setdefault(path, folder(path)))
                    for kind, path in (("read", os.path.join(box.inbox, READ_DIR)),
                                       ("archive", os.path.join(box.inbox, ARCHIVE_DIR)))]
            for kind, there in (("inbox", inbox), *kept, ("outbox", outbox)):
                self._real.setdefault(there.real, {}).setdefault(kind, box)
                if there.key is not None:
                    self._key.setdefault(there.key, {}).setdefault(kind, box)
            self.outboxes.append((outbox, box))

    def what(self, here: Folder) -> dict[str, Mailbox]:
        """What ``here`` is to these mailboxes: {"inbox" | "read" | "archive" | "outbox": a pane it is that of}."""
        found = dict(self._real.get(here.real, {}))
        if here.key is not None:
            for kind, box in self._key.get(here.key, {}).items():
                found.setdefault(kind, box)
        return found

    def outbox_problem(self, outbox: str, dead_letter_dirs: Iterable[str] = ()) -> str:
        """Why ``outbox`` must not be routed ('' when it may): it is an inbox, an inbox's read or
        archive folder, or a dead-letter folder."""
        here = folder(outbox)
        found = self.what(here)
        if "inbox" in found:
            return f"it is also the inbox of {_pane(found['inbox'])}"
        if "read" in found:
            return f"it is the read-mail folder of {_pane(found['read'])}"
        if "archive" in found:
            return f"it is the archive folder of {_pane(found['archive'])}"
        for dead in dead_letter_dirs:
            if same_folder(here, folder(dead)):
                return "it is also the dead-letter folder"
        return ""

    def dead_letter_problem(self, dead_letter_dir: str) -> str:
        """Why ``dead_letter_dir`` must not take dead letters ('' when it may): it is, or lies
        inside, an inbox or an outbox."""
        here = folder(dead_letter_dir)
        found = self.what(here)
        path = here.real
        while not found:
            parent = os.path.dirname(path)
            if parent == path:
                return ""
            path = parent
            found = self.what(folder(path))
        kind = next(k for k in ("inbox", "outbox", "read", "archive") if k in found)
        where = {"read": "an inbox's read folder", "archive": "an inbox's archive folder"}.get(kind, f"the {kind}")
        return f"it resolves to {here.real}, in {where} of {_pane(found[kind])}"


def _pane(box: Mailbox) -> str:
    return f"pane {box.pane_id} ('{box.name}')"


def registration_problem(inbox: str, outbox: str, others: Iterable[Mailbox], dead_letter_dir: str = "") -> str:
    """Why a pane may not take this inbox and outbox ('' when it may).

    ``others``: the other panes' mailboxes (leave out the pane's own earlier registration). Refused:
    an inbox that is the outbox, an outbox that is some inbox (or its read folder) or the dead-letter
    folder, an inbox that is some outbox, and a dead-letter folder inside the new inbox or outbox.
    """
    mine, theirs = folder(inbox), Folders(others)
    if same_folder(mine, folder(outbox)):
        return "the inbox and the outbox are the same folder"
    if same_folder(folder(outbox), folder(os.path.join(mine.real, READ_DIR))):
        return "the outbox is the inbox's read-mail folder"
    if same_folder(folder(outbox), folder(os.path.join(mine.real, ARCHIVE_DIR))):
        return "the outbox is the inbox's archive folder"
    problem = theirs.outbox_problem(outbox, [dead_letter_dir] if dead_letter_dir else [])
    if problem:
        return f"the outbox {outbox}: {problem}"
    kept = [folder(os.path.join(mine.real, sub)) for sub in (READ_DIR, ARCHIVE_DIR)]
    for there, box in theirs.outboxes:
        if any(same_folder(x, there) for x in (mine, *kept)):
            return f"the inbox {inbox}: it or its read or archive folder is the outbox of {_pane(box)}"
    if dead_letter_dir:
        dead = folder(dead_letter_dir)
        for path in (inbox, outbox):
            if inside(dead, folder(path)):
                return f"the dead-letter folder {dead_letter_dir} would be inside {path}"
    return ""

"""Panes to mailboxes: which panes take part, their folders, and lookup by name."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from .errors import PaneNotRegistered
from .paths import expand
from .tmux import PaneRecord

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

"""A real Router on real folders, without tmux: panes are PaneRecords that a refresh hands back.

For fast router tests (hostile files, races, fuzzing). Everything is real but tmux: the folders,
the moves, the leases, the dead letters.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tmms.config import Config
from tmms.registry import Registry
from tmms.server.router import Outcome, Router, Status
from tmms.tmux import PaneRecord

UNFINISHED = frozenset({Status.PENDING, Status.HELD, Status.FAILED})


@dataclass
class Box:
    """One pane's folders."""

    name: str
    inbox: Path
    outbox: Path


@dataclass
class Mail:
    """Panes, their folders, a dead-letter folder and a Router over them."""

    root: Path
    boxes: dict[str, Box]
    dead: Path
    router: Router
    panes: list[PaneRecord] = field(default_factory=list)

    def registry(self) -> Registry:
        return Registry.from_panes(self.panes, {"HOME": str(self.root)})

    def set_panes(self, panes: list[PaneRecord]) -> None:
        """Give the panes new options (as ``tmux set-option`` would), read at the next refresh."""
        self.panes[:] = panes
        self.router.refresh_registry()

    def route(self, rounds: int = 20) -> list[Outcome]:
        """Route every outbox until nothing is left to do (or ``rounds`` passes); every outcome."""
        outcomes: list[Outcome] = []
        for _ in range(rounds):
            self.router.refresh_registry()
            fresh = [o for outbox in self.router.registry.outboxes() for o in self.router.route_outbox(outbox)]
            outcomes += fresh
            if not any(o.status in UNFINISHED for o in fresh):
                break
        return outcomes

    def inbox(self, name: str) -> list[Path]:
        return sorted(p for p in self.boxes[name].inbox.iterdir() if not p.name.startswith("."))

    def dead_letters(self) -> list[Path]:
        if not self.dead.is_dir():
            return []
        return sorted(p for p in self.dead.iterdir() if not p.name.endswith(".reason.json"))


def pane(pane_id: str, name: str, inbox: Path, outbox: Path) -> PaneRecord:
    """A pane record whose @tmms_* options register it with these folders."""
    options = {"@tmms_enabled": "true", "@tmms_name": name, "@tmms_inbox": str(inbox),
               "@tmms_outbox": str(outbox)}
    return PaneRecord(pane_id, "main", "0", pane_id.lstrip("%"), "100", "1", options)


def mail(root: Path, names: tuple[str, ...] = ("alpha", "beta", "carol"), ids_file: Path | None = None,
         **config: Any) -> Mail:
    """Panes named ``names`` with folders under ``root``, and a Router that settles at once."""
    boxes = {}
    panes = []
    for index, name in enumerate(names):
        box = Box(name, root / "mail" / name / "inbox", root / "mail" / name / "outbox")
        box.inbox.mkdir(parents=True, exist_ok=True)
        box.outbox.mkdir(parents=True, exist_ok=True)
        boxes[name] = box
        panes.append(pane(f"%{index + 1}", name, box.inbox, box.outbox))
    config.setdefault("dead_letter_dir", str(root / "dead"))
    config.setdefault("settle_seconds", 0.0)
    config.setdefault("recipient_grace_seconds", 0.0)
    result = Mail(root, boxes, root / "dead", None, panes)  # type: ignore[arg-type]
    result.router = Router(Config(**config), result.registry(), result.registry, state_dir=str(root / "state"),
                           ids_file=str(ids_file) if ids_file else None)
    result.router.refresh_registry()
    return result


def message(sender: str, to: str, body: str = "hello\n", *, message_id: str | None = None,
            extra: str = "") -> bytes:
    """A complete message as TMMS writes it."""
    message_id = message_id or str(uuid.uuid4())
    return (f"---\ntmms_id: {message_id}\ntmms_from: {sender}\ntmms_to: {to}\n"
            f"tmms_created_at: '2026-03-22T14:30:05.000Z'\n{extra}---\n{body}").encode()


def drop(folder: Path, name: str, data: bytes) -> Path:
    """Write a file the careful way: a dot-named temporary file, then a rename."""
    temp = folder / f".{uuid.uuid4().hex}.writing"
    temp.write_bytes(data)
    final = folder / name
    os.rename(temp, final)
    return final


def front(path: Path) -> dict[str, Any]:
    """The front matter of a message file, loaded."""
    text = path.read_text(encoding="utf-8")
    head = text.split("\n---\n", 1)[0].removeprefix("---\n")
    data = yaml.safe_load(head)
    assert isinstance(data, dict), text
    return data


def reason_of(dead: Path) -> dict[str, Any]:
    """The reason record of a dead letter."""
    record = json.loads(Path(str(dead) + ".reason.json").read_text())
    assert isinstance(record, dict)
    return record


def leftovers(folder: Path) -> list[str]:
    """Names in an outbox that routing should have taken: messages and staged files."""
    return sorted(n for n in os.listdir(folder) if n.endswith(".md") or n.startswith(".tmms-routing-"))

"""The traffic tab: every message of this tmux server's mailboxes, from the journal as it grows.

One row per message id: when it was posted, sender, recipient, subject, and how long after the
post it reached the inbox, the notify command started, the doorbell was typed and submitted, and
it was read. The journal is followed by offset (a rotated file is read from its start).
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from ..message import short_id
from ..terminal import visible

TAIL_BYTES = 512 * 1024  # of a long journal, the first view shows what its last part holds
MAX_ROWS = 2000
STRANGERS = 500  # records of other mailboxes kept, in case a pane registered later holds them
COLUMNS = (("Posted", 8), ("From", 12), ("To", 12), ("Subject", 30), ("Inbox", 6), ("Notify", 6),
           ("Doorbell", 8), ("Read", 6), ("Id", 8))
_STAGES = {"delivered": "inbox", "notified": "notify", "typed": "typed", "submitted": "submitted", "read": "read",
           "dead-lettered": "dead"}


@dataclass
class Flow:
    """What the journal says about one message."""

    message_id: str
    sender: str = ""
    recipient: str = ""
    subject: str = ""
    posted: float | None = None
    times: dict[str, float] = field(default_factory=dict)


def stamp(text: str) -> float | None:
    """Seconds since the epoch of a journal time (``2026-03-22T14:30:05.123Z``); None when it is not one."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def delay(flow: Flow, stage: str) -> str:
    """``+120ms``, ``+3.4s``, ``+5m`` after the post; ``-`` when not (yet) seen; ``✓`` without a post time."""
    at = flow.times.get(stage)
    if at is None:
        return "-"
    if flow.posted is None:
        return "✓"
    seconds = max(0.0, at - flow.posted)
    if seconds < 1:
        return f"+{seconds * 1000:.0f}ms"
    return f"+{seconds:.1f}s" if seconds < 60 else f"+{seconds / 60:.0f}m"


class Follower:
    """Reads the journal's new lines; keeps the flows of the messages whose files are in ``folders``."""

    def __init__(self, path: str, folders: list[str], names: set[str]) -> None:
        self.path = path
        self.folders: tuple[str, ...] = ()
        self.names: set[str] = set()
        self.strangers: deque[dict[str, object]] = deque(maxlen=STRANGERS)  # records of no mailbox known yet
        self.serve(folders, names)
        self.flows: dict[str, Flow] = {}
        self._offset = -1
        self._inode = -1
        self._rest = b""

    def serve(self, folders: list[str], names: set[str]) -> list[Flow]:
        """The mailboxes whose messages are kept: their folders, and their names (for records without a path).

        Returns the flows of records seen before that are about these mailboxes now (a pane registered later).
        """
        self.folders = tuple(os.path.join(f, "") for f in folders)
        self.names = set(names)
        strangers, self.strangers = list(self.strangers), deque(maxlen=STRANGERS)
        changed = {flow.message_id: flow for record in strangers if (flow := self._record(record)) is not None}
        return list(changed.values())

    def poll(self) -> list[Flow]:
        """Read what was appended since the last call; the flows that changed."""
        try:
            with open(self.path, "rb") as handle:
                st = os.fstat(handle.fileno())
                if st.st_ino != self._inode or st.st_size < self._offset:
                    start = max(0, st.st_size - TAIL_BYTES) if self._offset < 0 else 0
                    self._inode, self._offset, self._rest = st.st_ino, start, b""
                    if start:
                        handle.seek(start - 1)
                        self._rest = b"\n" if handle.read(1) == b"\n" else b"\0"  # a cut first line is skipped
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            return []
        self._offset += len(data)
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        if lines and lines[0].startswith(b"\0"):
            lines.pop(0)
        changed = {flow.message_id: flow for line in lines if (flow := self._take(line)) is not None}
        return list(changed.values())

    def _take(self, line: bytes) -> Flow | None:
        try:
            record = json.loads(line)
        except ValueError:
            return None
        return self._record(record) if isinstance(record, dict) else None

    def _record(self, record: dict[str, object]) -> Flow | None:
        message_id = str(record.get("id", ""))
        flow = self.flows.get(message_id)
        if not message_id:
            return None
        if flow is None and not self._ours(record):
            self.strangers.append(record)
            return None
        if flow is None:
            flow = self.flows[message_id] = Flow(message_id)
            if len(self.flows) > MAX_ROWS:
                self.flows.pop(next(iter(self.flows)))
        self._note(flow, record)
        return flow

    def _ours(self, record: dict[str, object]) -> bool:
        """Whether a record is about a mailbox of this tmux server: by its path, else by its mailbox's name."""
        path = str(record.get("path", ""))
        if path:
            return path.startswith(self.folders)
        return str(record.get("mailbox", "")) in self.names

    @staticmethod
    def _note(flow: Flow, record: dict[str, object]) -> None:
        event = str(record.get("event", ""))
        at = stamp(str(record.get("at", "")))
        flow.sender = flow.sender or str(record.get("from", ""))
        flow.recipient = flow.recipient or str(record.get("to", "") or record.get("mailbox", ""))
        flow.subject = flow.subject or str(record.get("subject", ""))
        if event == "posted" and at is not None:
            flow.posted = at
        stage = _STAGES.get(event)
        if stage and at is not None:
            flow.times.setdefault(stage, at)


def row(flow: Flow) -> list[Text]:
    """The cells of one message's row, each a plain Text (never markup)."""
    posted = datetime.fromtimestamp(flow.posted).strftime("%H:%M:%S") if flow.posted else "?"
    bell = delay(flow, "submitted")
    if bell == "-" and "typed" in flow.times:
        bell = delay(flow, "typed") + "…"
    inbox = "dead" if "dead" in flow.times and "inbox" not in flow.times else delay(flow, "inbox")
    values = [posted, visible(flow.sender or "?"), visible(flow.recipient or "?"), visible(flow.subject),
              inbox, delay(flow, "notify"), bell, delay(flow, "read"), visible(short_id(flow.message_id))]
    return [Text(" ".join(v.split())) for v in values]


def fit_subject(table: DataTable[Text], columns: tuple[tuple[str, int], ...]) -> None:
    """Make a table's ``Subject`` column as wide as the other columns leave room for."""
    others = sum(width + 2 for label, width in columns if label != "Subject")
    column = table.columns.get(ColumnKey("Subject"))
    if column is not None:
        column.width = max(12, table.size.width - others - 3)
        column.auto_width = False
        table.refresh()


class Traffic(DataTable[Text]):
    """The traffic table, a log: the newest message at the bottom, each row updated in place as events arrive."""

    BINDINGS: ClassVar[list[BindingType]] = [("j", "cursor_down", "down"), ("k", "cursor_up", "up")]

    def __init__(self) -> None:
        super().__init__(cursor_type="row", id="traffic")
        self.waiting: dict[str, Flow] = {}  # changes not drawn yet: the tab is drawn when it is shown

    def on_mount(self) -> None:
        """Add the column headers."""
        for label, width in COLUMNS:
            self.add_column(label, width=width, key=label)

    def on_resize(self) -> None:
        """Give the subject what the other columns leave of the width."""
        fit_subject(self, COLUMNS)

    def update_flows(self, flows: list[Flow], shown: bool = True) -> None:
        """Add or change the rows of these messages; while the tab is not ``shown``, only note them."""
        self.waiting.update((flow.message_id, flow) for flow in flows)
        if not shown:
            return
        flows, self.waiting = list(self.waiting.values()), {}
        for flow in flows:
            cells = row(flow)
            if flow.message_id in self.rows:
                for (label, _), cell in zip(COLUMNS, cells, strict=True):
                    self.update_cell(flow.message_id, label, cell)
            else:
                following = self.cursor_row >= self.row_count - 1  # at the newest row: stay there
                self.add_row(*cells, key=flow.message_id)
                if following:
                    self.move_cursor(row=self.row_count - 1, animate=False)

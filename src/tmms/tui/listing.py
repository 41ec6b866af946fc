"""The mailbox list: one row per message with an unread mark, its stable short id, sender, subject, time."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from ..mailbox import Letter
from ..terminal import visible

COLUMNS = (("", 1), ("Id", 8), ("From", 14), ("Subject", 44), ("Date", 12), ("Thread", 8))
UNREAD_MARK = "●"


def one_line(text: str, width: int) -> str:
    """A sender's text for one cell: control characters shown visibly, spaces collapsed, clipped."""
    text = " ".join(visible(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def when(created_at: str, mtime: float, now: float | None = None) -> str:
    """Local time: ``14:05`` today, ``Mar 22`` this year, else ``2025-03-22``."""
    try:
        moment = datetime.fromisoformat(created_at.replace("Z", "+00:00")).astimezone()
    except ValueError:
        moment = datetime.fromtimestamp(mtime).astimezone()
    today = datetime.fromtimestamp(time.time() if now is None else now).astimezone()
    if moment.date() == today.date():
        return moment.strftime("%H:%M")
    return moment.strftime("%b %d" if moment.year == today.year else "%Y-%m-%d")


def newest_first(letters: Iterable[Letter]) -> list[Letter]:
    """Newest first (by creation time, then file name); undated mail last."""
    dated = sorted(letters, key=lambda x: (x.headers.created_at, x.name), reverse=True)
    return [x for x in dated if x.headers.created_at] + [x for x in dated if not x.headers.created_at]


def cells(letter: Letter) -> list[Text]:
    """The row of one letter: every value a plain Text, so nothing a sender wrote is read as markup."""
    h = letter.headers
    unread = letter.folder == "inbox"
    subject = h.subject or (f"(unreadable: {letter.error})" if letter.error else "(no subject)")
    thread = h.thread_id.replace("-", "")[:8] if h.thread_id else "-"
    style = "bold" if unread else ""
    return [Text(UNREAD_MARK if unread else " ", style="bold"),
            Text(visible(letter.short_id), style="dim"), Text(one_line(h.sender or "?", 40), style=style),
            Text(one_line(subject, 200), style=style), Text(when(h.created_at, letter.mtime)),
            Text(visible(thread), style="dim")]


def matches(letter: Letter, needle: str) -> bool:
    """Whether the search text is in the sender, recipients, subject or id (case-insensitive)."""
    if not needle:
        return True
    h = letter.headers
    hay = " ".join([h.sender, *h.recipients, h.subject, h.message_id, letter.name]).lower()
    return needle.lower() in hay


class MailList(DataTable[Text]):
    """The letters as a table; rows are keyed by path, and the cursor follows a letter across reloads."""

    BINDINGS = [("j", "cursor_down", "down"), ("k", "cursor_up", "up")]  # noqa: RUF012 - Textual's form

    def __init__(self) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id="mail")
        self.letters: list[Letter] = []

    def on_mount(self) -> None:
        """Add the column headers."""
        for label, width in COLUMNS:
            self.add_column(label, width=width, key=label or "mark")

    def on_resize(self) -> None:
        """Give the subject what the other columns leave of the width."""
        others = sum(width + 2 for label, width in COLUMNS if label != "Subject")
        column = self.columns.get(ColumnKey("Subject"))
        if column is not None:
            column.width = max(12, self.size.width - others - 3)
            column.auto_width = False
            self.refresh()

    def show(self, letters: Sequence[Letter]) -> None:
        """Replace the rows, keeping the cursor on the letter it was on (by file name) if it is still listed."""
        current = self.current
        self.letters = list(letters)
        self.clear()
        for letter in self.letters:
            self.add_row(*cells(letter), key=letter.path)
        if current is not None:
            for index, letter in enumerate(self.letters):
                if letter.name == current.name:
                    self.move_cursor(row=index, animate=False)
                    break

    @property
    def current(self) -> Letter | None:
        """The letter under the cursor, if any."""
        if not self.letters or not 0 <= self.cursor_row < len(self.letters):
            return None
        return self.letters[self.cursor_row]

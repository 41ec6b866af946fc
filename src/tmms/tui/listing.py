"""The mailbox list: one row per message with an unread mark, its stable short id, sender, subject, time."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import ClassVar, NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .. import store
from ..mailbox import READ_DIR, Folder, Letter, load
from ..message import short_id
from ..terminal import visible

COLUMNS = (("", 1), ("Id", 8), ("From", 14), ("Subject", 44), ("Date", 10), ("Thread", 8))
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


class FirstScreen(NamedTuple):
    """The newest letters, enough for one screen, and the folders' counts: what the first frame shows."""

    letters: list[Letter]
    unread: int
    total: int


def first_screen(inbox: str, count: int) -> FirstScreen:
    """The newest ``count`` letters by file name (names start with the UTC time of the post) of the inbox and
    read/, headers read for those only, so the first frame does not wait for a thousand files."""
    entries: list[tuple[str, str, Folder]] = []
    unread = 0
    for folder, kind in ((inbox, Folder.INBOX), (os.path.join(inbox, READ_DIR), Folder.READ)):
        try:
            found = [(entry.name, entry.path, kind) for entry in store.messages(folder)]
        except OSError:
            found = []  # the full reading that follows says why
        unread += len(found) if kind is Folder.INBOX else 0
        entries += found
    entries.sort(reverse=True)
    return FirstScreen(newest_first(load(path, kind) for _, path, kind in entries[:count]), unread, len(entries))


def cells(letter: Letter) -> list[Text]:
    """The row of one letter: every value a plain Text, so nothing a sender wrote is read as markup."""
    h = letter.headers
    unread = letter.folder == "inbox"
    subject = h.subject or (f"(unreadable: {letter.error})" if letter.error else "(no subject)")
    thread = short_id(h.thread_id) if h.thread_id else "-"
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


class MailList(ScrollView, can_focus=True):
    """The letters as a table drawn line by line (only the rows on screen are rendered, so 1,000 cost
    what 30 do); a header line stays on top; the cursor follows a letter (by file name) across reloads."""

    BINDINGS = [  # noqa: RUF012 - Textual's form
        Binding("j,down", "move(1)", "down", show=False),
        Binding("k,up", "move(-1)", "up", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("home", "move(-1000000000)", show=False),
        Binding("end", "move(1000000000)", show=False),
        Binding("enter", "select", "read"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"mail-list--header", "mail-list--cursor"}
    DEFAULT_CSS = """
    MailList { height: 1fr; overflow-x: hidden; }
    MailList > .mail-list--header { text-style: bold; background: $panel; }
    MailList > .mail-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    MailList:blur > .mail-list--cursor { background: $block-cursor-blurred-background; }
    """

    class Selected(Message):
        """Enter or a click on the row under the cursor."""

        def __init__(self, letter: Letter) -> None:
            super().__init__()
            self.letter = letter

    def __init__(self) -> None:
        super().__init__(id="mail")
        self.letters: list[Letter] = []
        self.cursor_row = 0
        self._rows: dict[int, Text] = {}

    @property
    def row_count(self) -> int:
        """How many letters are listed."""
        return len(self.letters)

    @property
    def current(self) -> Letter | None:
        """The letter under the cursor, if any."""
        return self.letters[self.cursor_row] if 0 <= self.cursor_row < len(self.letters) else None

    def show(self, letters: Sequence[Letter]) -> None:
        """Replace the rows, keeping the cursor on the letter it was on (by file name) if it is still listed."""
        current = self.current
        self.letters = list(letters)
        self._rows.clear()
        index = next((i for i, x in enumerate(self.letters) if current and x.name == current.name), self.cursor_row)
        self.virtual_size = Size(self.content_width, len(self.letters) + 1)
        self.move_cursor(index)
        self.refresh()

    def move_cursor(self, row: int) -> None:
        """Put the cursor on ``row`` (clamped) and scroll it into view."""
        self.cursor_row = max(0, min(row, len(self.letters) - 1))
        visible_rows = max(1, self.scrollable_content_region.height - 1)
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible_rows:
            self.scroll_to(y=self.cursor_row - visible_rows + 1, animate=False, immediate=True)
        self.refresh()

    def action_move(self, step: int) -> None:
        """Up or down by ``step`` rows."""
        self.move_cursor(self.cursor_row + step)

    def action_page(self, way: int) -> None:
        """A screenful up or down."""
        self.move_cursor(self.cursor_row + way * max(1, self.scrollable_content_region.height - 2))

    def action_select(self) -> None:
        """Open the letter under the cursor."""
        if (letter := self.current) is not None:
            self.post_message(self.Selected(letter))

    def on_click(self, event: events.Click) -> None:
        """A click moves the cursor; a click on the cursor's row (or a double click) opens it."""
        if event.y < 1:
            return
        row = event.y - 1 + self.scroll_offset.y
        if not 0 <= row < len(self.letters):
            return
        if row == self.cursor_row or event.chain > 1:
            self.move_cursor(row)
            self.action_select()
        else:
            self.move_cursor(row)

    def on_resize(self) -> None:
        """New widths: draw the rows again."""
        self._rows.clear()
        self.virtual_size = Size(self.content_width, len(self.letters) + 1)

    @property
    def content_width(self) -> int:
        """The width the rows have (without the scroll bar)."""
        return self.scrollable_content_region.width

    def widths(self) -> list[int]:
        """The columns' widths; the subject takes what the others leave."""
        fixed = sum(w + 1 for label, w in COLUMNS if label != "Subject")
        return [max(12, self.content_width - fixed - 1) if label == "Subject" else w for label, w in COLUMNS]

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the widget: the header, or a letter's row."""
        width = self.content_width
        if y == 0:
            header = self.line([Text(label) for label, _ in COLUMNS])
            return self._strip(header, width, self.get_component_rich_style("mail-list--header"))
        row = y - 1 + self.scroll_offset.y
        if row >= len(self.letters):
            return Strip.blank(width, self.rich_style)
        text = self._rows.get(row)
        if text is None:
            text = self._rows[row] = self.line(cells(self.letters[row]))
        style = self.get_component_rich_style("mail-list--cursor") if row == self.cursor_row else self.rich_style
        return self._strip(text, width, style)

    def line(self, values: list[Text]) -> Text:
        """Cells padded or cut to their columns, one space apart."""
        line = Text(" ")
        for value, width in zip(values, self.widths(), strict=True):
            cell = value.copy()
            cell.truncate(width, overflow="ellipsis", pad=True)
            line.append_text(cell)
            line.append(" ")
        return line

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        segments = list(text.render(self.app.console))
        return Strip(segments).crop_extend(0, width, None).apply_style(style)

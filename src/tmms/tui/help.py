"""``?``: the keys of the mailbox, the reader and the traffic tab."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("↑ ↓  j k", "move in the list (the mouse too)"),
    ("Enter", "read the message (marks it read)"),
    ("r", "reply in $EDITOR (an empty message cancels)"),
    ("c", "compose a new message in $EDITOR"),
    ("t", "the whole thread"),
    ("/", "search sender, subject, id as typed; Enter: bodies too; Esc clears"),
    ("u", "mark unread"),
    ("a", "archive (into inbox/archive/)"),
    ("1  2", "the mailbox tab, the traffic tab of this tmux server (or a click)"),
    ("In a message", "space/b page, g/G top/end, q or Esc back"),
    ("?", "this help"),
    ("q  Ctrl+C", "back; quit from the list (Ctrl+C: from anywhere)"),
)


class Help(ModalScreen[None]):
    """The keys, in a box over the list; any of Esc, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "close")]  # noqa: RUF012 - Textual's form
    DEFAULT_CSS = """
    Help { align: center middle; }
    Help > Vertical {
        width: 76; max-width: 100%; height: auto; border: round $accent; padding: 0 1; background: $surface;
    }
    """

    def compose(self) -> ComposeResult:
        """The key table."""
        table = Table.grid(padding=(0, 2))
        for key, what in KEYS:
            table.add_row(f"[bold]{key}[/]", what)
        with Vertical():
            yield Static("tmms ui: keys", classes="title")
            yield Static(table)

"""Reading: the headers stay at the top while the body (Markdown, made visible first) scrolls under them."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..mailbox import Letter, body_of
from ..terminal import visible_text
from ..views import header_block


class Reader(Screen[None]):
    """One message (or a thread: ``title`` and ``text`` given), scrollable; keys act on ``letter``."""

    BINDINGS = [  # noqa: RUF012 - Textual's form
        Binding("escape,q", "app.pop_screen", "back"),
        Binding("j,down", "scroll('down')", "scroll", show=False),
        Binding("k,up", "scroll('up')", show=False),
        Binding("space,pagedown", "page('down')", "page", show=False),
        Binding("b,pageup", "page('up')", show=False),
        Binding("g,home", "edge('home')", "top", show=False),
        Binding("G,end", "edge('end')", "end", show=False),
        Binding("r", "app.reply", "reply"),
        Binding("t", "app.thread", "thread"),
        Binding("u", "app.unread", "mark unread"),
        Binding("a", "app.archive", "archive"),
        Binding("question_mark", "app.help", "help"),
    ]

    def __init__(self, letter: Letter, heading: str | None = None, text: str | None = None) -> None:
        super().__init__()
        self.letter = letter
        self.heading = heading
        self.text = text

    def compose(self) -> ComposeResult:
        """The headers, a scrolling body, the keys."""
        heading = self.heading if self.heading is not None else header_block(self.letter)
        yield Static(Text(heading, style="bold"), id="headers")
        with VerticalScroll(id="body"):
            if self.text is not None:
                yield Static(Text(visible_text(self.text)), id="text")
            else:
                from rich.markdown import Markdown  # here: markdown-it and pygments cost the start-up 30 ms

                yield Static(Markdown(visible_text(body_of(self.letter.path)), hyperlinks=False), id="text")
        yield Footer()

    @property
    def body(self) -> VerticalScroll:
        """The scrolling part."""
        return self.query_one("#body", VerticalScroll)

    def action_scroll(self, way: str) -> None:
        """One line down or up."""
        (self.body.scroll_down if way == "down" else self.body.scroll_up)(animate=False)

    def action_page(self, way: str) -> None:
        """One page down or up."""
        (self.body.scroll_page_down if way == "down" else self.body.scroll_page_up)(animate=False)

    def action_edge(self, where: str) -> None:
        """To the top or the end."""
        (self.body.scroll_home if where == "home" else self.body.scroll_end)(animate=False)

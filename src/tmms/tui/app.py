"""The mailbox app: a list tab and a traffic tab, live from file events; the keys act through tmms.api."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from .. import api
from ..api import Here
from ..errors import TmmsError
from ..mailbox import Letter
from ..terminal import visible
from . import compose
from .help import Help
from .listing import FirstScreen, MailList, first_screen, matches, newest_first
from .live import Live
from .reader import Reader
from .traffic import Flow, Follower, Traffic

REGISTRY_TTL = 2.0  # seconds: how old the traffic tab's list of this server's mailboxes may get
MAIL_ACTIONS = frozenset({"reply", "compose", "thread", "search", "unread", "archive", "refresh", "tab", "help"})


class MailChanged(Message):
    """A mail folder changed (from the watcher thread)."""


class JournalGrew(Message):
    """The journal was written to (from the watcher thread)."""


class MailApp(App[int]):
    """``tmms ui``: the mailbox of one pane, and the traffic of its tmux server."""

    TITLE = "tmms"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #bar { height: 1; background: $primary-background; padding: 0 1; }
    #search { dock: bottom; display: none; }
    #search.shown { display: block; }
    #headers { background: $boost; padding: 0 1; border-bottom: solid $primary; }
    #body { padding: 0 1; }
    TabbedContent, TabbedContent > ContentSwitcher, TabPane { height: 1fr; }
    TabPane { padding: 0; }
    """
    BINDINGS = [  # noqa: RUF012 - Textual's form
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", show=False),  # in a popup people press it to leave, as in a pager
        Binding("r", "reply", "reply"),
        Binding("c", "compose", "compose"),
        Binding("t", "thread", "thread"),
        Binding("slash", "search", "search"),
        Binding("u", "unread", "unread"),
        Binding("a", "archive", "archive"),
        Binding("g", "refresh", "refresh", show=False),
        Binding("1", "tab('mail-tab')", "mailbox", show=False),
        Binding("2", "tab('traffic-tab')", "traffic", show=False),
        Binding("question_mark", "help", "help"),
    ]

    def __init__(self, at: Here, *, watch: bool = True) -> None:
        super().__init__()
        self.at = at
        self.needle = ""
        self.in_bodies: set[str] = set()  # names of the letters whose body holds the needle (after Enter)
        self.all_letters: list[Letter] = []
        self.live: Live | None = None
        self._watch = watch
        self._mail_pending = False
        self.loaded = False  # True once all the mail is read (the first frame shows the newest screenful)
        self.status = self.notice = ""
        self.notice_error = False
        box = at.me
        self.follower = Follower(api.journal(at), [], set())
        self._serve(at)
        self._served_at = time.monotonic()
        self._folders = [box.inbox, os.path.join(box.inbox, "read"), os.path.join(box.inbox, "archive")]
        self.mail = MailList()
        self.traffic = Traffic()
        self.bar = Static(id="bar")
        self.search = Input(placeholder="search: sender, subject or id (Enter keeps it, Esc clears)", id="search")
        self.tabs = TabbedContent(initial="mail-tab")

    def compose(self) -> ComposeResult:
        """The bar, the two tabs, the keys."""
        yield self.bar
        with self.tabs:
            with TabPane("Mailbox", id="mail-tab"):
                yield self.mail
                yield self.search
            with TabPane("Traffic", id="traffic-tab"):
                yield self.traffic
        yield Footer()

    def on_mount(self) -> None:
        """Show the newest screenful at once; after the first frame, all the mail, the journal, the watcher."""
        self.reload(first_screen(self.at.me.inbox, max(40, self.size.height)))
        self.mail.focus()
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        if self._watch:  # first: nothing that arrives while the folders are read is missed
            self.live = Live(self._folders, self.follower.path,
                             lambda: self._from_thread(MailChanged()), lambda: self.post_message(JournalGrew()))
            self.live.start()
        self.reload()
        self.loaded = True
        self.on_journal_grew()

    def on_unmount(self) -> None:
        """Stop the watcher thread."""
        if self.live is not None:
            self.live.stop()

    def _from_thread(self, message: MailChanged) -> None:
        if not self._mail_pending:  # a burst of events is one reload
            self._mail_pending = True
            self.post_message(message)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Over the help, the keys only close it."""
        return not (isinstance(self.screen, Help) and action in MAIL_ACTIONS)

    # -- what is shown -----------------------------------------------------------------------------

    def reload(self, first: FirstScreen | None = None) -> None:
        """Read the inbox and read mail again and redraw the list (the cursor stays on its letter).

        ``first``: only the newest screenful is read yet (the counts are the folders' own).
        """
        self._mail_pending = False
        try:
            self.all_letters = first.letters if first else newest_first(api.inbox(self.at, include_read=True))
        except TmmsError as exc:
            self.say(str(exc), error=True)
        self.mail.show([x for x in self.all_letters if matches(x, self.needle) or x.name in self.in_bodies])
        unread = first.unread if first else sum(1 for x in self.all_letters if x.folder == "inbox")
        total = first.total if first else len(self.all_letters)
        me = self.at.me
        live = "" if self.live is None or self.live.available else " · no file events here: g refreshes"
        found = f" · {len(self.mail.letters)} match '{self.needle}'" if self.needle else ""
        count = f"{unread} unread · {total} messages"
        self.status = f"tmms · {me.name} ({me.pane_id}) · {count}{found}{live}"
        self._draw_bar()

    def _draw_bar(self) -> None:
        bar = Text(visible(self.status))
        if self.notice:
            style = "bold red" if self.notice_error else "bold"
            bar.append("  │  ", style="dim").append(visible(self.notice), style=style)
        self.bar.update(bar)

    def on_mail_changed(self, _: MailChanged) -> None:
        """Mail arrived, was read, moved or deleted."""
        self.reload()

    def on_journal_grew(self, _: JournalGrew | None = None) -> None:
        """New journal lines: update the traffic rows. Records of no known mailbox make the panes be read again
        (every REGISTRY_TTL s at most), so the mail of a pane registered meanwhile shows too."""
        flows = self.follower.poll()
        if self.follower.strangers and time.monotonic() - self._served_at > REGISTRY_TTL:
            self._served_at = time.monotonic()
            try:
                flows += self._serve(api.here(self.at.tmux, self.at.me.pane_id))
            except TmmsError:
                pass  # the pane went away: keep the mailboxes known so far
        self.traffic.update_flows(flows, shown=self.tabs.active == "traffic-tab")

    def _serve(self, at: Here) -> list[Flow]:
        boxes = at.registry.mailboxes
        return self.follower.serve([f for b in boxes for f in (b.inbox, b.outbox)], {b.name for b in boxes})

    def say(self, text: str, error: bool = False) -> None:
        """A notice in the top bar (until the next one) and in the corner; never markup."""
        self.notice, self.notice_error = text, error
        self._draw_bar()
        self.notify(visible(text), severity="error" if error else "information", markup=False)

    def target(self) -> Letter | None:
        """The letter the keys act on: the one being read, else the one under the cursor in the mailbox tab."""
        if isinstance(self.screen, Reader):
            return self.screen.letter
        if self.tabs.active != "mail-tab":
            return None
        return self.mail.current

    # -- keys --------------------------------------------------------------------------------------

    def on_mail_list_selected(self, event: MailList.Selected) -> None:
        """Enter (or a click) on a letter reads it."""
        self.read(event.letter)

    def read(self, letter: Letter) -> None:
        """Show a letter, marking it read."""
        if not letter.readable:
            self.say(f"cannot read {letter.name}: {letter.error}", error=True)
            return
        if letter.folder == "inbox":
            try:
                letter = api.mark_read(self.at, letter)
            except FileNotFoundError:
                self.say("that message was moved meanwhile")
                self.reload()
                return
            except TmmsError as exc:
                self.say(str(exc), error=True)
                return
            self.reload()
        self.push_screen(Reader(letter))

    def action_reply(self) -> None:
        """Answer the letter in $EDITOR."""
        letter = self.target()
        if letter is None:
            return
        text = self.editor(compose.reply_template(letter))
        if text is None:
            return
        draft = compose.parse(text, with_headers=False)
        if not draft.body:
            self.say("empty reply: nothing sent")
            return
        try:
            api.reply(self.at, letter, draft.body)
        except TmmsError as exc:
            self.say(str(exc), error=True)
            return
        self.say(f"reply sent to {letter.headers.sender}")

    def action_compose(self) -> None:
        """Write a new message in $EDITOR."""
        text = self.editor(compose.new_template())
        if text is None:
            return
        draft = compose.parse(text, with_headers=True)
        if not draft.body:
            self.say("empty message: nothing sent")
            return
        try:
            posted = api.post(self.at, draft.body, draft.to, draft.subject or None)
        except TmmsError as exc:
            self.say(str(exc), error=True)
            return
        self.say("sent to " + ", ".join(posted.recipients))

    def editor(self, template: str) -> str | None:
        """The text of the template after $EDITOR, the app suspended meanwhile; None when no editor ran."""
        try:
            try:
                with self.suspend():
                    return compose.edit(template)
            except SuspendNotSupported:  # no terminal to give away (a headless test run)
                return compose.edit(template)
        except OSError as exc:
            program = os.path.basename(compose.editor_command()[0])
            self.say(f"cannot run the editor {program}: {exc.strerror or exc}", error=True)
            return None

    def action_thread(self) -> None:
        """Show the whole thread of the letter."""
        letter = self.target()
        if letter is None:
            return
        from ..views import conversation

        try:
            letters = api.thread(self.at, letter.message_id or letter.name)
        except TmmsError as exc:
            self.say(str(exc), error=True)
            return
        heading = f"Thread: {letter.headers.subject or '(no subject)'} · {len(letters)} message(s)"
        self.push_screen(Reader(letter, heading=visible(heading), text=conversation(letters, self.at.me.name)))

    def action_unread(self) -> None:
        """Mark the letter unread again."""
        letter = self.target()
        if letter is None or letter.folder == "inbox":
            return
        self._move(lambda: api.mark_unread(self.at, letter), "marked unread")

    def action_archive(self) -> None:
        """Move the letter into inbox/archive/."""
        letter = self.target()
        if letter is not None:
            self._move(lambda: api.archive(self.at, letter), "archived")

    def _move(self, do: Callable[[], object], done: str) -> None:
        try:
            do()
        except FileNotFoundError:
            self.say("that message was moved meanwhile")
        except TmmsError as exc:
            self.say(str(exc), error=True)
            return
        else:
            self.say(done)
        if isinstance(self.screen, Reader):
            self.pop_screen()
        self.reload()

    def action_search(self) -> None:
        """Show the search field."""
        if self.tabs.active != "mail-tab" or isinstance(self.screen, Reader):
            return
        field = self.search
        field.add_class("shown")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Filter as the text is typed."""
        self.needle = event.value.strip()
        self.in_bodies = set()
        self.reload()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        """Search the bodies too (tmms.api.search, as ``tmms search``), keep the filter, back to the list."""
        if self.needle:
            try:
                self.in_bodies = {x.name for x in api.search(self.at, self.needle, ("inbox", "read"))}
            except TmmsError as exc:
                self.say(str(exc), error=True)
            self.reload()
        self.mail.focus()

    def on_key(self, event: events.Key) -> None:
        """Esc in the search field clears it."""
        field = self.search
        if event.key == "escape" and field.has_focus:
            field.value = ""
            field.remove_class("shown")
            self.mail.focus()

    def action_refresh(self) -> None:
        """Read the folders and the journal again."""
        self.reload()
        self.on_journal_grew()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A tab shown: its table takes the keys; the traffic tab draws what the journal said meanwhile."""
        if event.pane.id == "traffic-tab":
            self.traffic.update_flows([])
            self.traffic.focus()
        else:
            self.mail.focus()

    def action_tab(self, tab: str) -> None:
        """Switch tabs."""
        self.tabs.active = tab

    def action_help(self) -> None:
        """The keys."""
        if not isinstance(self.screen, Help):
            self.push_screen(Help())

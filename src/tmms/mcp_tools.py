"""What the ``tmms mcp`` tools do: the same ``tmms.api`` calls as the CLI, typed records out, errors as hints.

Each function takes the ``Identity`` the server acts for and returns a TypedDict (the SDK publishes
it as the tool's output schema). A ``TmmsError`` becomes a ``ToolError`` whose one line tells the
model what to do next. Only ``tmms mcp`` imports this module (it needs the ``mcp`` extra).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NotRequired, cast

from mcp.server.mcpserver.exceptions import ToolError
from typing_extensions import TypedDict  # not typing's: pydantic refuses it in nested types below 3.12

from . import api
from .errors import (
    AmbiguousMessage,
    MessageNotFound,
    NoRecipient,
    NotInsideTmux,
    PaneNotFound,
    PaneNotRegistered,
    TmmsError,
    TmuxServerNotRunning,
)

if TYPE_CHECKING:
    from .api import Here
    from .api_types import MailboxInfo
    from .mailbox import Letter
    from .post import Posted
    from .tmux import Tmux

WAIT_CAP = 50.0
"""The longest a ``wait`` or ``ask`` call blocks, in seconds: below Codex's default tool timeout (60 s)."""

REGISTER_HINT = "tmms register NAME --agent KIND"

Mail = TypedDict("Mail", {  # the message of docs/json.md (views.letter_record), as every tmms --json prints it
    "id": str, "thread_id": str, "in_reply_to": str | None, "from": str, "to": str, "recipients": list[str],
    "subject": str, "created_at": str, "state": str, "folder": str, "path": str,
    "front_matter": dict[str, str | list[str]], "error": NotRequired[str], "body": NotRequired[str],
})


class Box(TypedDict):
    """A registered pane: its mailbox name, pane, groups and unread count."""

    name: str
    pane_id: str
    location: str
    groups: list[str]
    reply_to: str
    unread: int


class Me(Box):
    """This server's mailbox, its folders, and whether a tmms server delivers mail."""

    inbox: str
    outbox: str
    server_running: bool


class Peers(TypedDict):
    """Every registered pane of this tmux server, and whether a tmms server delivers mail."""

    server_running: bool
    peers: list[Box]


class Registered(TypedDict):
    """A pane made a mailbox, and the tmms server that delivers its mail."""

    name: str
    pane_id: str
    server_running: bool
    server_started: bool


class Sent(TypedDict):
    """One message id per recipient, and their thread ('' for a new message to several: each starts its own)."""

    ids: list[str]
    to: list[str]
    thread_id: str


class Inbox(TypedDict):
    """Messages, oldest first, without their bodies (``read`` gives a body)."""

    count: int
    messages: list[Mail]


class Waited(TypedDict):
    """The message that came (now marked read), or ``timed_out`` when none came in time."""

    timed_out: bool
    message: Mail | None


class Asked(TypedDict):
    """The question's thread, the replies that came (marked read), and who did not reply in time."""

    thread_id: str
    ids: list[str]
    replies: list[Mail]
    missing: list[str]
    timed_out: bool


class Thread(TypedDict):
    """Every message of a thread this mailbox knows, oldest first, with bodies."""

    messages: list[Mail]


class Place(TypedDict):
    """One copy of a message: whose folder, which folder, the path."""

    owner: str
    folder: str
    path: str


class Status(TypedDict):
    """Where a message is (queued, delivered, read, dead-lettered) and the journal's events for it."""

    id: str
    state: str
    places: list[Place]
    events: list[dict[str, str]]


class DeadMail(TypedDict):
    """A message the server could not deliver, and why."""

    id: str
    sender: str
    to: str
    subject: str
    reason: str
    path: str


class Dead(TypedDict):
    """Every dead letter, oldest first."""

    folder: str
    letters: list[DeadMail]


# -- identity and errors -------------------------------------------------------------------------


class Identity:
    """The mailbox the server acts for: the pane it runs in ($TMUX_PANE), or the pane registered as ``name``."""

    def __init__(self, tmux: Tmux, name: str | None = None) -> None:
        self.tmux = tmux
        self.name = name

    def here(self) -> Here:
        """The mailbox now: panes are read on every call, so a registration made later counts."""
        if self.name is None:
            return api.here(self.tmux)
        from .registry import Registry

        boxes = Registry.from_panes(self.tmux.list_panes(), self.tmux.env).by_name.get(self.name)
        if not boxes:
            raise ToolError(f"no pane is registered as '{self.name}': run `{REGISTER_HINT}` in the agent's pane "
                            "(or call the register tool from a server started in it)")
        return api.here(self.tmux, boxes[0].pane_id)


def hint(exc: TmmsError) -> str:
    """A library error as one line that tells a model what to do next."""
    text = str(exc).replace("\n", " ")
    if isinstance(exc, PaneNotRegistered):
        return (f"this pane ({exc.pane_id}) is not a tmms mailbox: call the register tool with a name, "
                f"or run `{REGISTER_HINT}` in it")
    if isinstance(exc, NotInsideTmux):
        return ("tmms mcp does not know its pane ($TMUX_PANE is not set): start the agent in a tmux pane and pass "
                "TMUX and TMUX_PANE to the server (Codex: env_vars), or start it as `tmms mcp --name NAME`")
    if isinstance(exc, PaneNotFound | TmuxServerNotRunning):
        return f"{text}: start the agent (and tmms mcp) inside a running tmux server"
    if isinstance(exc, MessageNotFound):
        return f"{text}: call inbox (include_read: true) or thread to see the ids this mailbox knows"
    if isinstance(exc, AmbiguousMessage):
        return text
    if isinstance(exc, NoRecipient):
        return f"{text}; call peers to see the names"
    return text


@contextmanager
def as_tool_errors() -> Iterator[None]:
    """Turn a library error into a tool error (``is_error``) with its hint."""
    try:
        yield
    except TmmsError as exc:
        raise ToolError(hint(exc)) from None


# -- records -------------------------------------------------------------------------------------


def mail(letter: Letter, with_body: bool = False) -> Mail:
    """A message as the CLI's ``--json`` shows it."""
    from .views import letter_record

    return cast(Mail, letter_record(letter, with_body=with_body))


def box(info: MailboxInfo) -> Box:
    """A registered pane."""
    return Box(name=info.name, pane_id=info.pane_id, location=info.location, groups=list(info.groups),
               reply_to=info.reply_to, unread=info.unread)


def sent(posted: Posted) -> Sent:
    """What a post wrote."""
    ids = list(posted.message_ids)
    return Sent(ids=ids, to=list(posted.recipients), thread_id=posted.thread_id or (ids[0] if len(ids) == 1 else ""))


def capped(timeout_s: float) -> float:
    """A timeout within 0 and ``WAIT_CAP``."""
    return min(max(0.0, timeout_s), WAIT_CAP)


# -- checks before posting -----------------------------------------------------------------------


def deliverable(at: Here, to: list[str]) -> None:
    """Refuse a post that would not be delivered now: a name no pane answers to, or no tmms server."""
    from .post import resolve_recipients

    names = resolve_recipients(to, at.registry, at.me.name) if to else []
    unknown = [n for n in names if not at.registry.by_name.get(n)]
    if unknown:
        raise ToolError(f"no pane is registered as {', '.join(repr(n) for n in unknown)}: call peers to see the "
                        "names, or ask that agent to register")
    served(at, "mail would wait in the outbox")


def served(at: Here, otherwise: str) -> None:
    """Refuse when no tmms server delivers mail for this tmux server."""
    from .server.service import server_pid

    if server_pid(at.tmux) is None:
        raise ToolError(f"no tmms server runs for this tmux server, so {otherwise}: run `tmms server` in a pane "
                        "(or call register, which starts one)")


# -- the tools' bodies ---------------------------------------------------------------------------


def whoami(ident: Identity) -> Me:
    """This mailbox."""
    with as_tool_errors():
        me = api.whoami(ident.here())
    return Me(**box(me.info), inbox=me.info.inbox, outbox=me.info.outbox, server_running=me.server_pid is not None)


def peers(ident: Identity) -> Peers:
    """Every registered pane."""
    with as_tool_errors():
        found = api.peers(ident.tmux)
    return Peers(server_running=found.server is not None, peers=[box(p) for p in found.peers])


def register(ident: Identity, name: str, group: str | None = None, agent: str | None = None) -> Registered:
    """Make the server's own pane a mailbox (and start the tmms server if none runs)."""
    with as_tool_errors():
        target = ident.tmux.current_pane_id()
        done = api.register(ident.tmux, name, target=target, groups=[group] if group else None, agent=agent)
    if ident.name is not None:
        ident.name = name
    return Registered(name=done.registration.name, pane_id=done.registration.pane_id,
                      server_running=done.server_pid is not None, server_started=done.server_started)


def send(ident: Identity, to: str, subject: str, body: str, thread: str | None = None) -> Sent:
    """Post one message per recipient."""
    with as_tool_errors():
        at = ident.here()
        deliverable(at, [to])
        return sent(api.post(at, body, [to], subject, thread=thread))


def inbox(ident: Identity, include_read: bool = False) -> Inbox:
    """Unread (and read) mail."""
    with as_tool_errors():
        letters = api.inbox(ident.here(), include_read=include_read)
        return Inbox(count=len(letters), messages=[mail(x) for x in letters])


def read(ident: Identity, ref: str, keep: bool = False) -> Mail:
    """One message with its body, marked read unless ``keep``."""
    with as_tool_errors():
        letter = api.read(ident.here(), ref, keep=keep)
        assert letter is not None  # an id names a message or raises
        return mail(letter, with_body=True)


def reply(ident: Identity, ref: str, body: str, subject: str | None = None) -> Sent:
    """Answer a received message, in its thread."""
    with as_tool_errors():
        at = ident.here()
        original = api.received(at, ref)
        deliverable(at, [original.headers.sender] if original.headers.sender else [])
        return sent(api.reply(at, original, body, subject))


def wait_unread(ident: Identity, senders: list[str], thread: str | None,
                timeout_s: float) -> tuple[Here, Letter | None]:
    """Block (on file events) until a matching message is unread; it stays unread (``take`` marks it)."""
    with as_tool_errors():
        at = ident.here()
        served(at, "no mail would come")
        return at, api.wait(at, senders, thread, capped(timeout_s), keep=True)


def take(at: Here, letter: Letter | None) -> Waited:
    """Mark the message ``wait_unread`` found read (if another reader did first, its read copy), and say so."""
    if letter is None:
        return Waited(timed_out=True, message=None)
    with as_tool_errors():
        try:
            taken = api.mark_read(at, letter)
        except FileNotFoundError:
            taken = api.read(at, letter.message_id, keep=False) or letter
    return Waited(timed_out=False, message=mail(taken, with_body=True))


def ask(ident: Identity, to: str, subject: str, body: str, timeout_s: float) -> Asked:
    """Post a question that starts a thread, then wait (capped) for every recipient's reply in it."""
    with as_tool_errors():
        at = ident.here()
        deliverable(at, [to])
        done = api.ask(at, body, [to], subject, timeout=capped(timeout_s))
        return Asked(thread_id=done.posted.thread_id, ids=list(done.posted.message_ids),
                     replies=[mail(x, with_body=True) for x in done.replies], missing=list(done.missing),
                     timed_out=bool(done.missing))


def thread(ident: Identity, ref: str) -> Thread:
    """A conversation."""
    with as_tool_errors():
        return Thread(messages=[mail(x, with_body=True) for x in api.thread(ident.here(), ref)])


def status(ident: Identity, ref: str) -> Status:
    """Where a message is."""
    with as_tool_errors():
        found = api.status(ident.tmux, api.dead_letters(ident.tmux), ref)
    places = [Place(owner=p.owner, folder=str(p.folder), path=p.path) for p in found.places]
    return Status(id=found.message_id, state=found.state, places=places, events=[dict(e) for e in found.events])


def dead(ident: Identity) -> Dead:
    """Every dead letter."""
    with as_tool_errors():
        place = api.dead_letters(ident.tmux)
        letters = api.dead_list(place)
    return Dead(folder=place.folder, letters=[_dead_mail(x.letter, x.why) for x in letters])


def _dead_mail(letter: Letter, why: str) -> DeadMail:
    h = letter.headers
    return DeadMail(id=h.message_id, sender=h.sender, to=h.recipient, subject=h.subject, reason=why,
                    path=letter.path)

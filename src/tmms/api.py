"""The use cases of tmms as plain typed functions: they return data, raise ``TmmsError`` and never print.

The command line, the popup ui, the demo (and the MCP server and hooks to come) call these. Each
takes its tmux handle, or ``at``: the pane it acts for (``here(tmux, pane)``), as a parameter.
Only what ``tmms post`` needs is imported at module level; everything else, the records the other
functions return too (``tmms.api_types``), is imported inside the function that uses it, so ``post``
starts as fast as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from .errors import UsageError
from .post import Posted
from .registry import Here, Mailbox, here

if TYPE_CHECKING:
    from .api_types import Asked, DeadPlace, MailboxInfo, Me, Peers, Registered, Retried
    from .deadletter import DeadLetter
    from .hosts.links import LinkState
    from .mailbox import Letter
    from .tmux import Tmux
    from .tracking import MessageStatus
    from .wake.nudge import Nudged

__all__ = [
    "Here", "Posted", "archive",
    "ask", "dead_letters", "dead_list", "dead_purge", "dead_retry", "dead_show", "describe", "filed", "here",
    "host_links", "inbox", "journal", "mark_read", "mark_unread", "nudge", "peers", "post", "read", "received",
    "refresh_unread", "register", "reply", "search", "status",
    "thread", "thread_root", "unregister", "wait", "whoami",
]


# -- sending -----------------------------------------------------------------------------------------


def post(at: Here, text: str, to: Sequence[str] = (), subject: str | None = None, *,
         thread: str | None = None) -> Posted:
    """Post ``text`` from ``at``'s outbox (to @tmms_reply_to when ``to`` is empty), in ``thread`` if given."""
    from .post import post as compose_and_post

    thread_id = thread_root(at, thread) if thread else None
    return compose_and_post(at.tmux, text, to, subject, thread_id=thread_id, where=at)


def reply(at: Here, original: Letter | str, text: str, subject: str | None = None, *,
          to_all: bool = False) -> Posted:
    """Answer a message (a letter, or an id of received mail): to its sender (``to_all``: everyone), in its
    thread; the message answered is marked read if it was still unread."""
    from .post import reply as answer

    letter = received(at, original) if isinstance(original, str) else original
    posted = answer(at, letter, text, subject, to_all=to_all)
    if letter.folder == "inbox":
        try:
            mark_read(at, letter)
        except FileNotFoundError:
            pass  # another reader took it meanwhile: it is read all the same
    return posted


def ask(at: Here, text: str, to: Sequence[str], subject: str | None = None, *, timeout: float | None = None,
        on_posted: Callable[[Posted], None] | None = None) -> Asked:
    """Post a message that starts a thread, then wait until every recipient replied in it (or ``timeout``).

    ``on_posted`` is called once the message is posted, before the wait begins.
    """
    import time

    from .api_types import Asked
    from .post import post as compose_and_post
    from .waiting import Match, wait_for

    posted = compose_and_post(at.tmux, text, to, subject, start_thread=True, where=at)
    if on_posted is not None:
        on_posted(posted)
    waiting = set(posted.recipients)
    replies: list[Letter] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    while waiting:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        answer = wait_for(at.me, Match(frozenset(waiting), posted.thread_id), left, journal_path=journal(at))
        if answer is None:
            break
        replies.append(answer)
        waiting.discard(answer.headers.sender)
    if replies:
        refresh_unread(at)
    return Asked(posted, replies, sorted(waiting))


# -- reading -----------------------------------------------------------------------------------------


def journal(at: Here) -> str:
    """The journal that reads and posts of ``at`` are recorded in."""
    from .journal import default_path

    return default_path(at.tmux.env)


def received(at: Here, ref: str) -> Letter:
    """The unread or read message of ``at``'s inbox that ``ref`` (an id or unique prefix) names."""
    from . import mailbox

    return mailbox.find(mailbox.unread(at.me) + mailbox.already_read(at.me), ref, f"the inbox of {at.me.name}")


def filed(at: Here, ref: str) -> Letter:
    """The message of ``at``'s inbox, unread, read or archived, that ``ref`` (an id or unique prefix) names."""
    from . import mailbox

    letters = mailbox.unread(at.me) + mailbox.already_read(at.me) + mailbox.archived(at.me)
    return mailbox.find(letters, ref, f"the inbox of {at.me.name} (unread, read or archived)")


def inbox(at: Here, include_read: bool = False) -> list[Letter]:
    """The unread mail of ``at``, oldest first (and then the read mail, ``include_read``)."""
    from . import mailbox

    return mailbox.unread(at.me) + (mailbox.already_read(at.me) if include_read else [])


def read(at: Here, ref: str | None = None, *, keep: bool = False) -> Letter | None:
    """The message ``ref`` names, else the oldest unread one, marked read unless ``keep``; None if none is unread."""
    letter = _read_id(at, ref, keep) if ref else _read_next(at, keep)
    if letter is not None and not keep:
        refresh_unread(at)
    return letter


def refresh_unread(at: Here) -> int:
    """Count ``at``'s unread mail again and set ``@tmms_unread`` on the panes of its inbox: the count.

    Called after every read, archive and unread, so status lines never show a stale count; a pane
    that tmux cannot set (closed meanwhile) is left as it is.
    """
    from .alert import count_unread, set_unread
    from .errors import TmmsError

    panes = [box.pane_id for box in at.registry.by_inbox.get(at.me.inbox, [])] or [at.me.pane_id]
    try:
        return set_unread(at.tmux, panes, at.me.inbox)
    except TmmsError:
        return count_unread(at.me.inbox)


def _read_next(at: Here, keep: bool) -> Letter | None:
    """The oldest unread message (taken unless ``keep``); when another reader takes it first, the next.

    Files that cannot be read (a FIFO, a folder, a symlink) are never picked; a malformed message
    only when nothing else is unread. None when no message is left.
    """
    from . import mailbox

    lost: set[str] = set()
    while True:
        unread = [x for x in mailbox.unread(at.me) if x.readable and x.path not in lost]
        candidates = [x for x in unread if not x.error] or unread
        if not candidates:
            return None
        if keep:
            return candidates[0]
        try:
            return mailbox.take(candidates[0], at.me, journal(at))
        except FileNotFoundError:
            lost.add(candidates[0].path)  # another reader took it: list again, take the next


def _read_id(at: Here, ref: str, keep: bool) -> Letter:
    """The message ``ref`` names, taken unless ``keep``; if another reader took it first, its read copy."""
    from . import mailbox
    from .errors import InputError

    letter = received(at, ref)
    if not letter.readable:
        raise InputError(letter.path, letter.error)
    if keep:
        return letter
    try:
        return mailbox.take(letter, at.me, journal(at))
    except FileNotFoundError:  # another reader took it first: it is read now, so show it from there
        return mailbox.find(mailbox.already_read(at.me), letter.message_id or ref, f"the inbox of {at.me.name}")


def mark_read(at: Here, letter: Letter) -> Letter:
    """Move an unread letter into ``read/`` (journaled); the letter at its new place.

    FileNotFoundError when another reader moved it first.
    """
    from . import mailbox

    taken = mailbox.take(letter, at.me, journal(at))
    refresh_unread(at)
    return taken


def archive(at: Here, letter: Letter) -> Letter:
    """Move a letter (unread or read) into ``inbox/archive/`` (journaled); the letter at its new place.

    FileNotFoundError when another reader moved it first.
    """
    return _move(at, letter, "archive")


def mark_unread(at: Here, letter: Letter) -> Letter:
    """Move a read or archived letter back into the inbox, unread (journaled); the letter at its new place.

    FileNotFoundError when another reader moved it first.
    """
    return _move(at, letter, "inbox")


def _move(at: Here, letter: Letter, folder: str) -> Letter:
    from . import mailbox
    from .journal import record

    moved = mailbox.move_letter(letter, at.me, mailbox.Folder(folder))
    if moved.path != letter.path:
        record(journal(at), "archived" if folder == "archive" else "unread", id=moved.message_id,
               mailbox=at.me.name, path=moved.path)
        refresh_unread(at)
    return moved


def thread(at: Here, ref: str) -> list[Letter]:
    """Every message of the thread ``ref`` belongs to, oldest first: unread, read, queued and sent mail."""
    from . import mailbox

    letters = mailbox.everything(at.me)
    anchor = mailbox.find(letters, ref, f"the mail of {at.me.name}")
    return mailbox.thread(letters, anchor.thread_root)


def thread_root(at: Here, ref: str) -> str:
    """A thread given by a (prefix of a) message id that this mailbox knows, else taken as given."""
    from . import mailbox
    from .errors import AmbiguousMessage, MessageNotFound

    try:
        return mailbox.find(mailbox.everything(at.me), ref, "").thread_root
    except (MessageNotFound, AmbiguousMessage):
        return ref


def search(at: Here, text: str, folders: Sequence[str] = ("inbox", "read", "archive", "sent")) -> list[Letter]:
    """``at``'s mail whose subject or body holds ``text`` (any case), oldest first, from ``folders``
    (``inbox``: unread, ``read``, ``archive``, ``sent``: the sent copies)."""
    from . import mailbox
    from .search import search as matching

    def sent(box: Mailbox) -> list[Letter]:
        return mailbox.scan(mailbox.sent_folder(box), mailbox.Folder.SENT)

    scans: dict[str, Callable[[Mailbox], list[Letter]]] = {"inbox": mailbox.unread, "read": mailbox.already_read,
                                                           "archive": mailbox.archived, "sent": sent}
    letters = sorted((x for folder in folders for x in scans[folder](at.me)), key=mailbox.by_date)
    return matching(letters, text)


def wait(at: Here, senders: Iterable[str] = (), thread: str | None = None, timeout: float | None = None, *,
         keep: bool = False) -> Letter | None:
    """The first unread message from one of ``senders`` (``a,b`` allowed), in ``thread``, marked read unless
    ``keep``; None when ``timeout`` seconds pass first."""
    from .waiting import Match, wait_for

    names = frozenset(n.strip() for item in senders for n in item.split(",") if n.strip())
    wanted = Match(names, thread_root(at, thread) if thread else "")
    letter = wait_for(at.me, wanted, timeout, keep=keep, journal_path=journal(at))
    if letter is not None and not keep:
        refresh_unread(at)
    return letter


# -- panes -------------------------------------------------------------------------------------------


def describe(box: Mailbox, tmux: Tmux | None = None) -> MailboxInfo:
    """A mailbox with its unread count; with ``tmux``, an agent pane's state and waiting doorbell too."""
    from . import store
    from .api_types import MailboxInfo

    unread = sum(1 for _ in store.messages(box.inbox))
    state, why = ("", "")
    if tmux is not None:
        from .wake.state import agent_state

        state, why = agent_state(tmux, box, tmux.env)
    return MailboxInfo(box.name, box.pane_id, box.pane.location, box.inbox, box.outbox, box.notify_cmd,
                       box.reply_to, list(box.groups), unread, box.pane.option("agent").strip(), state, why,
                       box.pane.option("doorbell"))


def whoami(at: Here) -> Me:
    """``at``'s mailbox and whether a tmms server runs."""
    from .api_types import Me
    from .server.service import server_pid

    return Me(describe(at.me, at.tmux), server_pid(at.tmux))


def peers(tmux: Tmux) -> Peers:
    """Every registered pane of this tmux server, and its tmms server."""
    from .api_types import Peers
    from .registry import Registry
    from .server.service import running

    registry = Registry.from_panes(tmux.list_panes(), tmux.env)
    return Peers(running(tmux), [describe(box, tmux) for box in registry.mailboxes])


def register(tmux: Tmux, name: str, *, target: str | None = None, notify: str | None = None,
             reply_to: str | None = None, groups: Sequence[str] | None = None, inbox: str | None = None,
             outbox: str | None = None, start_server: bool = True, write_config: bool = True,
             agent: str | None = None, set_groups: Sequence[str] | None = None) -> Registered:
    """Make a pane a mailbox; write the default config if none is found (``write_config``); start the tmms
    server for this tmux server if none runs (``start_server``). ``groups`` are joined, ``set_groups``
    replaces the pane's groups. ``agent``: the pane's agent kind (``none`` clears it; None keeps an
    explicit one, else detects the agent CLI running in the pane)."""
    from . import config as config_mod
    from .api_types import Registered
    from .registration import register as set_options
    from .server.lock import check_runtime_dir
    from .server.service import server_pid, start_detached

    if start_server:
        check_runtime_dir()  # an unsafe runtime folder is refused before the pane is changed
    done = set_options(tmux, name, target=target, notify=notify, reply_to=reply_to, groups=groups, inbox=inbox,
                       outbox=outbox, dead_letter_dirs=_dead_letter_dirs(tmux), agent=agent, set_groups=set_groups)
    config_written = None
    if write_config and config_mod.discover(tmux.env) is None:
        config_written = config_mod.write_template(env=tmux.env)
    pid = server_pid(tmux)
    started = False
    if pid is None and start_server:
        pid = start_detached(tmux)
        started = True
    return Registered(done, config_written, pid, started)


def _dead_letter_dirs(tmux: Tmux) -> list[str]:
    """Every dead-letter folder a server may use: the running one's, the config's, the default."""
    from . import config as config_mod
    from .errors import ConfigError
    from .server.service import running

    found = running(tmux)
    folders = [found.info.dead_letter_dir] if found and found.info else []
    try:
        folders.append(config_mod.load(env=tmux.env).dead_letter_dir)
    except ConfigError:
        pass  # the server will say so when it starts
    return [*folders, config_mod.default_dead_letter(tmux.env)]


def unregister(tmux: Tmux, target: str | None = None) -> tuple[str, str]:
    """Remove the @tmms_* options (its agent kind too) from a pane; (its name, or "" if it was not registered;
    its pane id)."""
    from .registration import unregister as unset_options

    return unset_options(tmux, target)


# -- operations --------------------------------------------------------------------------------------


def dead_letters(tmux: Tmux, config: str | None = None) -> DeadPlace:
    """Where dead letters are: ``config``'s folder; else the running server's; else the discovered config's."""
    from . import config as config_mod
    from .api_types import DeadPlace
    from .journal import default_path

    if config is None:
        from .server.service import running

        found = running(tmux)
        if found and found.info:
            return DeadPlace(found.info.dead_letter_dir, found.info.journal, [])
    cfg = config_mod.load(config)
    return DeadPlace(cfg.dead_letter_dir, default_path(tmux.env), list(cfg.warnings))


def dead_list(place: DeadPlace) -> list[DeadLetter]:
    """Every dead letter, oldest first."""
    from . import deadletter

    return deadletter.listing(place.folder)


def dead_show(place: DeadPlace, ref: str) -> DeadLetter:
    """The dead letter ``ref`` (an id or unique prefix) names."""
    from . import deadletter

    return deadletter.find(place.folder, ref)


def dead_retry(tmux: Tmux, place: DeadPlace, refs: Sequence[str] = ()) -> Retried:
    """Put dead letters (``refs``; all when empty) back into an outbox to be routed again; journaled."""
    from . import deadletter
    from .api_types import Retried
    from .journal import record
    from .registry import Registry

    registry = Registry.from_panes(tmux.list_panes(), tmux.env)
    found = [deadletter.find(place.folder, ref) for ref in refs] if refs else deadletter.listing(place.folder)
    entries = list({dead.letter.path: dead for dead in found}.values())  # two refs to one letter retry it once
    done: list[tuple[str, str]] = []
    left: list[str] = []
    for dead in entries:
        outbox = deadletter.retry_target(dead, registry)
        if outbox is None:
            left.append(dead.letter.short_id)
            continue
        path = deadletter.retry(dead, outbox)
        done.append((dead.letter.message_id, path))
        record(place.journal, "retried", id=dead.letter.message_id, path=path)
    return Retried(done, left)


def dead_purge(place: DeadPlace, older_than: str) -> list[DeadLetter]:
    """Remove dead letters older than an age such as ``7d`` (``0``: all); those removed."""
    from . import deadletter

    try:
        seconds = deadletter.parse_duration(older_than)
    except ValueError:
        raise UsageError(f"--older-than: '{older_than}' is not an age such as 90s, 30m, 12h, 7d, 2w") from None
    return deadletter.purge(place.folder, seconds)


def status(tmux: Tmux, place: DeadPlace, ref: str) -> MessageStatus:
    """Where the message ``ref`` names is, in every mailbox and dead letter, and what the journal recorded."""
    from .registry import Registry
    from .tracking import locate

    registry = Registry.from_panes(tmux.list_panes(), tmux.env)
    found = locate(ref, registry, place.folder, place.journal)
    if found.hop_host and not found.state.startswith("delivered"):  # waiting for a host: its link's last error
        link = next((s for s in host_links(tmux) if s.host == found.hop_host), None)
        found.link = link.error if link and link.error else ""
    return found


def host_links(tmux: Tmux) -> list[LinkState]:
    """Each remote host this tmux server's tmms has mail or a link for: the link's state, mail queued,
    last error, round trip (``tmms peers --hosts``)."""
    from .hosts.links import read_states
    from .hosts.spool import hosts_root
    from .paths import state_dir
    from .server.lock import ledger_key

    return read_states(hosts_root(state_dir(tmux.env), ledger_key(tmux.socket_path)))


# -- waking agents -------------------------------------------------------------------------------------


def nudge(tmux: Tmux, target: str, text: str | None = None, *, wait: float = 10.0,
          queue: bool = True) -> Nudged:
    """Type ``text`` (default: the doorbell for unannounced mail) into ``target``'s agent; prove the submission.

    NudgeQueued when the agent stayed busy (the server types it later), NudgeTimedOut, NudgeRefused.
    """
    from .journal import default_path
    from .server.service import running
    from .wake.nudge import nudge as type_line

    return type_line(tmux, target, text, wait, queue_ok=queue, journal_path=default_path(tmux.env),
                     env=tmux.env, server_runs=running(tmux) is not None)

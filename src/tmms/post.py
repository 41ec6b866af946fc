"""``tmms post``: compose a message in the current pane's outbox, atomically."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from . import store
from .errors import InputError, NoRecipient, StorageError, UsageError
from .message import compose, new_id
from .registry import Here, Mailbox, Registry, here

if TYPE_CHECKING:
    from .mailbox import Letter
    from .tmux import Tmux

EVERYONE = "*"
GROUP_MARK = "@"


class Posted(NamedTuple):
    """Where a posted message was written, and recipients no pane answers to right now."""

    paths: list[str]
    message_ids: list[str]
    recipients: list[str]
    unknown: list[str]
    thread_id: str = ""


def decode_body(data: bytes, source: str) -> str:
    """Message text from raw bytes: UTF-8, no NUL bytes."""
    if b"\x00" in data:
        raise InputError(source, "binary content (NUL bytes); a message is text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(source, f"not UTF-8 text (bad byte at offset {exc.start})") from None


def read_body_file(path: str) -> str:
    """Read a message body from a file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError.from_os(path, exc) from None
    return decode_body(data, path)


def resolve_recipients(targets: Sequence[str], registry: Registry, sender: str) -> list[str]:
    """Expand ``a,b``, ``@group`` and ``*`` (every registered name but the sender's), in order, once each.

    ``name@host``, ``@group@host`` and ``*@host`` stay as they are: the host expands them.
    """
    names: list[str] = []
    for target in targets:
        for item in (part.strip() for part in target.split(",")):
            if not item:
                continue
            if is_remote(item, registry):
                expanded = [item]
            elif item == EVERYONE:
                expanded = [b.name for b in registry.mailboxes if b.name != sender]
                if not expanded:
                    raise NoRecipient("'*' means every other registered pane, and there is none")
            elif item.startswith(GROUP_MARK):
                expanded = [n for n in registry.group(item[1:]) if n != sender]
                if not expanded:
                    hint = did_you_mean(item, addresses(registry, sender))
                    raise NoRecipient(f"group '{item}' has no members{hint or ' (set @tmms_groups on their panes)'}")
            else:
                expanded = [item]
            names.extend(expanded)
    return list(dict.fromkeys(names))


def addresses(registry: Registry, sender: str = "") -> list[str]:
    """Every name (but ``sender``) and ``@group`` that a post can go to right now."""
    names = [b.name for b in registry.mailboxes if b.name != sender]
    groups = [GROUP_MARK + g for b in registry.mailboxes for g in b.groups if registry.group(g) != [sender]]
    return list(dict.fromkeys(names + sorted(groups)))


def did_you_mean(address: str, known: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` with the nearest known addresses (difflib), or ''."""
    import difflib

    near = difflib.get_close_matches(address, known, n=2, cutoff=0.75)
    if not near:
        return ""
    return " (did you mean " + " or ".join(f"'{x}'" for x in near) + "?)"


def is_remote(address: str, registry: Registry) -> bool:
    """Whether ``address`` names a pane on another host (``name@host``, ``@group@host``, ``*@host``);
    string operations only (tmms post imports nothing for it)."""
    at = address.find("@", 1)
    return 0 < at < len(address) - 1 and address not in registry.by_name


def post(
    tmux: Tmux,
    text: str,
    to: Sequence[str] = (),
    subject: str | None = None,
    *,
    thread_id: str | None = None,
    in_reply_to: str | None = None,
    start_thread: bool = False,
    where: Here | None = None,
    journal_path: str | None = None,
) -> Posted:
    """Write one message per recipient into this pane's outbox (and a copy in ``outbox/sent``).

    ``start_thread`` makes every copy carry the first copy's id as ``tmms_thread_id``, so the
    replies of all recipients land in one thread (``tmms ask`` uses it).
    """
    at = where or here(tmux)
    box = at.me
    recipients = resolve_recipients(to, at.registry, box.name) if to else ([box.reply_to] if box.reply_to else [])
    if not recipients:
        raise NoRecipient()
    unknown = [r for r in recipients if not at.registry.by_name.get(r) and not is_remote(r, at.registry)]
    store.ensure_dir(box.outbox)
    first_id = new_id()
    if start_thread and not thread_id:
        thread_id = first_id
    paths: list[str] = []
    ids: list[str] = []
    from .journal import default_path, record

    journal = journal_path or default_path(tmux.env)
    for index, recipient in enumerate(recipients):
        composed = compose(
            text, box.name, recipient, subject,
            thread_id=thread_id, in_reply_to=in_reply_to, recipients=recipients,
            message_id=first_id if index == 0 else None,
        )
        data = composed.text.encode("utf-8")
        path = store.write_new(box.outbox, composed.file_name, data)
        paths.append(path)
        ids.append(composed.message_id)
        _keep_sent_copy(box, os.path.basename(path), data)
        # the journal is a record, not the mail: a full disk must not fail a committed post
        record(journal, "posted", id=composed.message_id, to=recipient, path=path, subject=subject,
               thread=thread_id, **{"from": box.name})
    return Posted(paths, ids, recipients, unknown, thread_id or "")


def server_running(tmux: Tmux) -> bool | None:
    """Whether a tmms server holds this tmux server's lock; None when that cannot be told.

    A few system calls and no imports (``tmms post`` stays fast): the lock file as ``server.lock``
    names it (``server-DEV-INO.lock`` in ``paths.runtime_dir``), probed with a shared, non-blocking flock.
    """
    import fcntl

    from .paths import runtime_dir

    try:
        st = os.stat(tmux.socket_path)
        fd = os.open(os.path.join(runtime_dir(), f"server-{st.st_dev}-{st.st_ino}.lock"),
                     os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # closing drops a shared lock taken here
    return False


SCISSORS = "# ------------------------ >8 ------------------------"
"""The line of an editor template from which everything is dropped (git commit's, so a ``# heading`` above stays)."""


def editor_template(sender: str, to: Sequence[str], subject: str | None, about: str = "") -> str:
    """What ``$EDITOR`` opens for ``post``, ``reply`` and ``ask``: room for the body, then ``#`` lines below
    the scissors line that say who it goes to and how to cancel (``about``: a line on the message answered)."""
    lines = [SCISSORS, "# Do not modify or remove the line above; everything below it is ignored.",
             "# Write the message above it (Markdown). An empty message cancels: nothing is sent.",
             f"# From:    {sender}", f"# To:      {', '.join(to)}", f"# Subject: {subject or '(none)'}"]
    if about:
        lines.append(f"# {about}")
    from .terminal import visible  # names and subjects a sender wrote: never raw control characters in the editor

    return "\n\n" + "".join(visible(line) + "\n" for line in lines)


def from_editor(text: str) -> str:
    """The body in an edited template: the text above the scissors line, without blank lines around it
    ('' when nothing but white space is left)."""
    body = text.split(SCISSORS, 1)[0].rstrip().lstrip("\n")
    return body + "\n" if body else ""


def _keep_sent_copy(box: Mailbox, name: str, data: bytes) -> None:
    """A copy for the sender's own records (``tmms thread``); the message itself is already safe."""
    sent = os.path.join(box.outbox, store.SENT_DIR)
    try:
        if not os.path.isdir(sent):
            store.ensure_dir(sent)
        store.write_new(sent, name, data, durable=False)
    except StorageError:
        pass  # the message is committed in the outbox; a missing copy only thins the sender's history


def reply_subject(subject: str) -> str:
    """``Re: subject``, without piling up ``Re:`` prefixes."""
    if subject.lower().startswith("re:"):
        return subject
    return f"Re: {subject}" if subject else "Re:"


def reply(at: Here, original: Letter, text: str, subject: str | None = None, to_all: bool = False) -> Posted:
    """Answer a message: to its sender (and, ``to_all``, its other recipients), in its thread."""
    h = original.headers
    if not h.sender:
        raise UsageError(f"message {original.short_id} has no sender to reply to")
    to = [h.sender]
    if to_all:
        to += h.all_recipients  # tmms_recipients as flat, bounded names
        to = [r for r in dict.fromkeys(to) if r != at.me.name] or [h.sender]
    return post(at.tmux, text, to, reply_subject(h.subject) if subject is None else subject,
                thread_id=original.thread_root, in_reply_to=h.message_id, where=at)

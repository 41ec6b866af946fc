"""Mail commands: post, reply, ask, inbox, read, thread, wait."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from .. import api
from ..api import Here, Posted
from ..errors import UsageError
from .common import BODY, JSON, KEEP, PANE, RAW, TIMEOUT, ExitCode, Spec, arg, body_of, one_line, say, tmux_of, warn
from .output import COLOR, FILTERS, NO_PAGER

if TYPE_CHECKING:
    from ..mailbox import Letter


T = TypeVar("T")
SUBJECT = arg("-s", "--subject", help="message subject")
ALLOW_EMPTY = arg("--allow-empty", action="store_true", help="send a message left empty in $EDITOR")
EDITOR_NOTE = (" With no file and stdin on a terminal, $VISUAL or $EDITOR (else vi) opens on a template, as git "
               "commit does: an empty message is refused (exit 2) unless --allow-empty. Piped stdin is sent as it is.")

PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("post", "cmd_post", "send a message from this pane",
         "Compose a message in this pane's outbox and print its path. The server moves it to the "
         "recipient's inbox within milliseconds. A post while no server runs, or to a name no pane holds "
         "now, is still queued, with a warning." + EDITOR_NOTE,
         """\
  tmms post -t agent-beta -s Greeting # on a terminal: write it in $EDITOR
  echo 'Hello' | tmms post -t agent-beta -s Greeting
  tmms post -t agent-beta -s Report report.md
  tmms post -t a,b -f notes.md        # one copy per recipient
  tmms post -t @reviewers -s 'PR 7'   # every pane in the group (@tmms_groups)
  tmms post -t '*' -s 'Build is red'  # every other registered pane
""",
         (*BODY, arg("-t", "--to", action="append", metavar="NAME", help="recipient @tmms_name, @group or '*' "
                     "(repeat or comma-separate; default: @tmms_reply_to)"),
          arg("-s", "--subject", help="message subject (tmms_subject)"),
          arg("--thread", metavar="ID", help="join a thread (tmms_thread_id)"), ALLOW_EMPTY, PANE, JSON)),
    Spec("reply", "cmd_reply", "answer a message, in its thread",
         "Post to the sender of a message, in its thread (tmms_thread_id is the thread's first "
         "message, tmms_in_reply_to the message answered) and mark the message read." + EDITOR_NOTE,
         """\
  echo 'Done, all green' | tmms reply 1a2b
  tmms reply 1a2b -s 'Results' results.md
  tmms reply 1a2b --all < notes.md    # the sender and every other recipient
""",
         (arg("id", metavar="ID", help="id (or unique prefix) of the message to answer"), *BODY,
          arg("-s", "--subject", help="subject (default: 'Re: ' + the original's)"),
          arg("--all", action="store_true", help="also to the original's other recipients"), ALLOW_EMPTY, PANE, JSON),
         intermixed=True),  # `tmms reply ID -s S FILE`: a file after the options
    Spec("ask", "cmd_ask", "post, then wait for the reply",
         "Post a message that starts a thread, then block until every recipient has replied in "
         "it, and print the replies. Exit code 1 when the timeout passes first." + EDITOR_NOTE,
         """\
  echo 'Is main green?' | tmms ask -t ci-agent -s 'Status?' --timeout 300
  tmms ask -t reviewer -s 'Review PR 7' -f request.md --json
""",
         (*BODY, arg("-t", "--to", action="append", metavar="NAME", required=True, help="recipient(s), as for post"),
          SUBJECT, TIMEOUT, ALLOW_EMPTY, PANE, JSON)),
    Spec("inbox", "cmd_inbox", "list unread mail",
         "A list with column headers: id, age, sender, subject and thread, fitted to the terminal's width "
         "(a long subject is cut, never wrapped). Unread mail is the *.md files directly in the inbox.",
         """\
  tmms inbox
  tmms inbox --all      # read mail too
  tmms inbox --from ci-agent --since 2h
  tmms inbox --subject review --json
""",
         (arg("--all", action="store_true", help="include mail already read (inbox/read/)"), *FILTERS, COLOR, PANE,
          JSON)),
    Spec("thread", "cmd_thread", "show a conversation in order",
         "Every message of the thread a message belongs to, oldest first: unread, read, queued "
         "and sent mail of this mailbox. On a terminal the Markdown is rendered and paged through $PAGER "
         "(less -R by default); piped, the bodies are printed as stored.",
         """\
  tmms thread 1a2b
  tmms thread 1a2b --no-pager
  tmms thread 1a2b --json
""",
         (arg("id", metavar="ID", help="id (or unique prefix) of any message of the thread"), NO_PAGER, PANE, JSON)),
    Spec("read", "cmd_read", "print a message and mark it read",
         "Print a message and move it into inbox/read/. On a terminal the Markdown is rendered (links "
         "as 'text (url)', the date in local time) and paged through $PAGER (less -R by default); "
         "piped, the file is printed as stored. Control characters a sender wrote are shown as "
         "text (^[, <U+202E>), never raw; only --raw into a pipe prints the bytes exactly. Exit "
         "code 1 when there is no unread mail.",
         """\
  tmms read --next       # the oldest unread message
  tmms read 1a2b
  tmms read 1a2b --keep  # leave it unread
  tmms read 1a2b --no-pager
  tmms read --next --json
""",
         (arg("id", nargs="?", metavar="ID", help="id or unique id prefix (default: --next)"),
          arg("--next", action="store_true", help="the oldest unread message"), KEEP, RAW, NO_PAGER, PANE, JSON)),
    Spec("wait", "cmd_wait", "block until a matching message arrives",
         "Wait, using no CPU, until an unread message (from NAME, in thread ID) is in the inbox; "
         "print it and mark it read. Exit code 1 on timeout.",
         """\
  tmms wait --timeout 60
  tmms wait --from ci-agent --json
  tmms wait --thread 1a2b --keep
""",
         (arg("--from", dest="sender", action="append", metavar="NAME",
              help="only from NAME (repeat or comma-separate)"),
          arg("--thread", metavar="ID", help="only in this thread"), TIMEOUT, KEEP, RAW, PANE, JSON)),
)}
"""The parser of each mail command, declared."""


# -- sending -----------------------------------------------------------------------------------


def _here(args: argparse.Namespace) -> Here:
    return api.here(tmux_of(args), args.pane)


def _warn_posted(at: Here, posted: Posted) -> None:
    """Warnings for a message that is queued but will not arrive soon: no server, or no such pane now."""
    from ..post import addresses, did_you_mean, server_running

    if server_running(at.tmux) is False:
        warn("warning: no tmms server runs for this tmux server: the message waits in the outbox until one does "
             "(start one: tmms server start)")
    for name in posted.unknown:
        hint = did_you_mean(name, addresses(at.registry, at.me.name))
        warn(f"warning: no pane is registered as '{name}' now{hint}; the server will dead-letter the message "
             "unless one appears within recipient_grace_seconds")


def _report_posted(args: argparse.Namespace, at: Here, posted: Posted) -> None:
    _warn_posted(at, posted)
    if args.json:
        from ..views import posted_records, to_json

        say(to_json(posted_records(posted)))
    else:
        for path in posted.paths:
            say(one_line(path))


def _body(args: argparse.Namespace, at: Here, to: Sequence[str], subject: str | None, about: str = "") -> str:
    """The body: a file, stdin as it is when piped, else (stdin a terminal) what the user writes in $EDITOR."""
    if not _editing(args):
        return body_of(args)
    from ..post import editor_template, from_editor

    text = from_editor(_edit(editor_template(at.me.name, to, subject, about)))
    if not text and not args.allow_empty:
        raise UsageError("empty message: nothing was sent (--allow-empty sends one)")
    return text


def _editing(args: argparse.Namespace) -> bool:
    """Whether the body is to be written in $EDITOR: no file given (not even '-') and stdin a terminal."""
    return not (args.file or args.file_opt) and sys.stdin.isatty()


def _edit(template: str) -> str:
    """``template`` after $VISUAL or $EDITOR (else vi) ran on it in a private temporary file (git's order)."""
    import os
    import shlex
    import subprocess
    import tempfile

    from ..post import decode_body

    chosen = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        command = shlex.split(chosen) or ["vi"]
    except ValueError as exc:
        raise UsageError(f"cannot run the editor '{chosen}': {exc}; set $EDITOR") from None
    from ..names import SUFFIX

    fd, path = tempfile.mkstemp(prefix="tmms-", suffix=SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(template)
        try:
            done = subprocess.run([*command, path], check=False)
        except OSError as exc:
            raise UsageError(f"cannot run the editor '{command[0]}': {exc.strerror or exc}; set $EDITOR") from None
        if done.returncode != 0:
            raise UsageError(f"the editor '{command[0]}' exited with status {done.returncode}; nothing was sent")
        with open(path, "rb") as handle:
            return decode_body(handle.read(), "the message written in the editor")
    finally:
        os.unlink(path)


def _recipients(args: argparse.Namespace, at: Here) -> list[str]:
    """Who a post goes to, for the editor's template: -t expanded, else @tmms_reply_to; NoRecipient if none."""
    from ..errors import NoRecipient
    from ..post import resolve_recipients

    to = resolve_recipients(args.to, at.registry, at.me.name) if args.to else [at.me.reply_to]
    if not [x for x in to if x]:
        raise NoRecipient()
    return to


def cmd_post(args: argparse.Namespace) -> int:
    at = _here(args)
    text = _body(args, at, _recipients(args, at) if _editing(args) else [], args.subject)
    posted = api.post(at, text, args.to or [], args.subject, thread=args.thread)
    _report_posted(args, at, posted)
    return ExitCode.OK


def cmd_reply(args: argparse.Namespace) -> int:
    from ..post import reply_subject

    at = _here(args)
    original = api.received(at, args.id)  # a wrong id fails before the body is read
    h = original.headers
    subject = reply_subject(h.subject) if args.subject is None else args.subject
    to = [h.sender, *(x for x in h.all_recipients if x not in (h.sender, at.me.name) and args.all)]
    text = _body(args, at, to, subject, about=f"In reply to {original.short_id} from {h.sender}")
    _report_posted(args, at, api.reply(at, original, text, args.subject, to_all=args.all))  # marks it read
    return ExitCode.OK


def cmd_ask(args: argparse.Namespace) -> int:
    at = _here(args)
    text = _body(args, at, _recipients(args, at) if _editing(args) else [], args.subject)
    asked = api.ask(at, text, args.to, args.subject, timeout=args.timeout,
                    on_posted=lambda posted: _warn_posted(at, posted))
    _print_letters(args, asked.replies, many=True)
    if asked.missing:
        from ..message import short_id

        warn(f"no reply from {', '.join(asked.missing)} within {args.timeout:g}s "
             f"(thread {short_id(asked.posted.thread_id)})")
        return ExitCode.NOTHING
    return ExitCode.OK


# -- reading -----------------------------------------------------------------------------------


def cmd_inbox(args: argparse.Namespace) -> int:
    from ..search import select
    from ..views import json_lines, letter_record, letter_table
    from .output import senders, since_seconds, use_color, width

    since = since_seconds(args)
    at = _here(args)
    letters = select(api.inbox(at, include_read=args.all), lambda x: x, senders=sorted(senders(args)),
                     subject=args.subject, since=since)
    if args.json:
        say(json_lines(letter_record(x) for x in letters))
        return ExitCode.OK
    if letters:
        say("\n".join(letter_table(letters, width=width(), color=use_color(args.color), show_state=args.all)))
    elif sys.stdout.isatty():
        filtered = " matching the filters" if args.senders or args.subject or since is not None else ""
        say(one_line(f"no {'' if args.all else 'unread '}mail for {at.me.name}{filtered}"))
    return ExitCode.OK


def cmd_read(args: argparse.Namespace) -> int:
    at = _here(args)
    if args.id and args.next:
        raise UsageError("give an ID or --next, not both")
    letter = api.read(at, args.id, keep=args.keep)
    if letter is None:
        warn(f"no unread mail for {at.me.name}")
        return ExitCode.NOTHING
    _print_letters(args, [letter])
    return ExitCode.OK


def _print_letters(args: argparse.Namespace, letters: list[Letter], many: bool = False) -> None:
    """JSON; rendered Markdown on a terminal (paged, where the command has --no-pager); the file with its
    controls shown visibly; --raw piped: its bytes."""
    from ..views import letter_record, to_json

    if args.json:
        records = [letter_record(x, with_body=True) for x in letters]
        say(to_json(records if many else records[0]))
        return
    raw = getattr(args, "raw", False)
    if raw and not sys.stdout.isatty():  # the exact bytes, only where no terminal acts on them
        from ..store import read_regular

        for index, letter in enumerate(letters):
            sys.stdout.flush()
            if index:
                sys.stdout.buffer.write(b"\n")
            sys.stdout.buffer.write(_checked(letter, lambda x: read_regular(x.path)[0]))
        sys.stdout.flush()
        return
    from .output import page

    page("\n".join(_checked(x, lambda y: _letter_text(y, raw)) for x in letters), getattr(args, "pager", False))


def _checked(letter: Letter, show: Callable[[Letter], T]) -> T:
    """What ``show`` gives for the letter; an OSError as the InputError of its path."""
    try:
        return show(letter)
    except OSError as exc:
        from ..errors import InputError

        raise InputError.from_os(letter.path, exc) from None


def _letter_text(letter: Letter, raw: bool) -> str:
    """A letter for a terminal (rendered Markdown) or for a pipe (the file with its controls shown visibly)."""
    from ..terminal import visible_text
    from ..views import raw_text, rendered

    if sys.stdout.isatty() and not raw:
        return rendered(letter)
    return visible_text(raw_text(letter))


def cmd_thread(args: argparse.Namespace) -> int:
    from ..views import conversation, json_lines, letter_record
    from .output import page

    at = _here(args)
    members = api.thread(at, args.id)
    if args.json:
        say(json_lines(letter_record(x, with_body=True) for x in members))
    elif sys.stdout.isatty():  # rendered Markdown, as read shows it
        from ..views import rendered_conversation

        page(rendered_conversation(members, at.me.name), args.pager)
    else:
        page(conversation(members, at.me.name), args.pager)
    return ExitCode.OK


def cmd_wait(args: argparse.Namespace) -> int:
    at = _here(args)
    letter = api.wait(at, args.sender or (), args.thread, args.timeout, keep=args.keep)
    if letter is None:
        warn(f"no matching message within {args.timeout:g}s")
        return ExitCode.NOTHING
    _print_letters(args, [letter])
    return ExitCode.OK

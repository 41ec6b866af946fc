"""Mail management: ``tmms archive`` puts mail away into inbox/archive/, ``tmms unread`` makes it unread again."""

from __future__ import annotations

import argparse

from .common import JSON, PANE, ExitCode, Spec, arg, one_line, say, tmux_of, warn

IDS = arg("ids", nargs="+", metavar="ID", help="id (or unique prefix) of a message; several may be given")

PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("archive", "cmd_archive", "put mail away into inbox/archive/",
         "Move messages (unread or read) into inbox/archive/, never replacing a file there. They leave "
         "'tmms inbox' (which lists *.md directly in the inbox, and read/ with --all) but keep their "
         "ids: 'tmms unread ID' brings one back. @tmms_unread is counted again.",
         """\
  tmms archive 1a2b
  tmms archive 1a2b 3c4d --json
""", (IDS, PANE, JSON)),
    Spec("unread", "cmd_unread", "mark mail unread again",
         "Move messages from inbox/read/ (or inbox/archive/) back into the inbox, unread, never replacing "
         "a file there. @tmms_unread is counted again.",
         """\
  tmms unread 1a2b
  tmms unread 1a2b 3c4d --json
""", (IDS, PANE, JSON)),
)}
"""The parser of each mail management command, declared."""

DONE = {"archive": "archived", "inbox": "marked unread"}


def cmd_archive(args: argparse.Namespace) -> int:
    return _move(args, "archive")


def cmd_unread(args: argparse.Namespace) -> int:
    return _move(args, "inbox")


def _move(args: argparse.Namespace, folder: str) -> int:
    """Find every message first (a wrong id moves nothing), then move each; one line per message."""
    from .. import api
    from ..views import letter_record, to_json

    at = api.here(tmux_of(args), args.pane)
    letters = list({x.path: x for x in (api.filed(at, ref) for ref in args.ids)}.values())
    move = api.archive if folder == "archive" else api.mark_unread
    moved, lost = [], 0
    for letter in letters:
        if letter.folder == folder:
            moved.append(letter)
            if not args.json:
                say(one_line(f"{letter.short_id} is {DONE[folder].removeprefix('marked ')} already"))
            continue
        try:
            moved.append(move(at, letter))
        except FileNotFoundError:
            lost += 1
            warn(f"{letter.short_id} was moved by another reader meanwhile; left as it is")
            continue
        if not args.json:
            say(one_line(f"{DONE[folder]} {letter.short_id} ({letter.headers.subject or 'no subject'})"))
    if args.json:
        say(to_json([letter_record(x) for x in moved]))
    return ExitCode.NO_SUCH_MESSAGE if lost else ExitCode.OK

"""The search command: find mail by text in its subject or body, across unread, read, archived and sent mail."""

from __future__ import annotations

import argparse
import sys

from .common import JSON, PANE, ExitCode, Spec, arg, one_line, say, tmux_of
from .output import COLOR, FILTERS

PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("search", "cmd_search", "find mail by text in its subject or body",
         "List this pane's mail whose subject or body holds TEXT (any case): unread, read and archived mail "
         "and the sent copies, oldest first, as inbox lists it. Each file is read bounded and never blocks "
         "(a FIFO or a huge file cannot hang it). Exit code 1 when nothing matches.",
         """\
  tmms search deploy
  tmms search 'PR 7' --in inbox,read
  tmms search error --from ci-agent --since 3d --json
""",
         (arg("text", metavar="TEXT", help="the text to find (any case)"),
          arg("--in", dest="folders", default="inbox,read,archive,sent", metavar="FOLDERS",
              help="where to look: inbox (unread), read, archive, sent; comma-separated (default: all four)"),
          *FILTERS, COLOR, PANE, JSON)),
)}
"""The parser of the search command, declared."""


def cmd_search(args: argparse.Namespace) -> int:
    from .. import api
    from ..errors import UsageError
    from ..search import parse_folders, select
    from ..views import json_lines, letter_record, letter_table
    from .output import senders, since_seconds, use_color, width

    if not args.text.strip():
        raise UsageError("give some TEXT to search for")
    try:
        folders = parse_folders(args.folders)
    except ValueError as exc:
        raise UsageError(f"--in: '{exc}' is not a folder (inbox, read, archive, sent)") from None
    since = since_seconds(args)
    at = api.here(tmux_of(args), args.pane)
    found = select(api.search(at, args.text, folders), lambda x: x, senders=sorted(senders(args)),
                   subject=args.subject, since=since)
    if args.json:
        say(json_lines(letter_record(x) for x in found))
    elif found:
        say("\n".join(letter_table(found, width=width(), color=use_color(args.color), show_state=True)))
    elif sys.stdout.isatty():
        say(one_line(f"no mail of {at.me.name} holds '{args.text}'"))
    return ExitCode.OK if found else ExitCode.NOTHING

"""Operations commands: server, server init, dead, status, demo."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .common import CONFIG, JSON, ExitCode, Spec, arg, one_line, say, tmux_of, warn
from .output import COLOR, FILTERS

if TYPE_CHECKING:
    from ..api_types import DeadPlace
    from ..deadletter import DeadLetter


def _server_commands(server: argparse.ArgumentParser) -> None:
    """``tmms server init|start|stop|status|restart|logs``: subcommands of ``server``."""
    from .server_control import add_subcommands

    add_subcommands(server)


PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("server", "cmd_server", "route mail between panes; start, stop, status, logs",
         "Without a subcommand: route outboxes to inboxes and run notify commands in the foreground "
         "until SIGINT/SIGTERM, logging to stderr (or --log-file). One server serves one tmux server "
         "(-L/-S/$TMUX); a second one exits 8 naming the first one's pid. The subcommands control the "
         "background server of this tmux server (the one 'tmms register' starts).",
         """\
  tmms server                     # in the foreground, as TMMS does
  tmms server start               # in the background (detached), logging to its log file
  tmms server status
  tmms server logs -f
  tmms server stop
  tmms -L pipeline1 server -q &
  tmms server init -o ~/.config/tmms/config.yml
""",
         (arg("-c", "--config", metavar="PATH", help="config file (skips discovery)"),
          arg("-q", "--quiet", action="store_true", help="log warnings and errors only"),
          arg("--log-file", metavar="PATH", help="log to PATH (with stdout and stderr), rotated by size")),
         extend=_server_commands),
    Spec("dead", "cmd_dead", "list, show, retry or purge dead letters",
         "Dead letters are messages the server could not deliver (unknown recipient, unparseable, "
         "too large, ...), each with a <name>.reason.json that says why.",
         """\
  tmms dead                       # the same as 'tmms dead list'
  tmms dead --from alpha --since 1d
  tmms dead show 1a2b
  tmms dead retry 1a2b            # back to its outbox, to be routed again
  tmms dead retry                 # all of them
  tmms dead purge --older-than 7d
""",
         (arg("action", nargs="?", default="list", choices=("list", "show", "retry", "purge"),
              help="what to do (default: list)"),
          arg("ids", nargs="*", metavar="ID", help="message ids or unique prefixes (show: one; retry: any)"),
          arg("--older-than", metavar="AGE", help="purge: age such as 30m, 12h, 7d (0 purges all)"),
          *FILTERS, COLOR, CONFIG, JSON)),
    Spec("status", "cmd_status", "where a message is and what happened to it",
         "Find a message in every mailbox of this tmux server and in dead letter, and print what "
         "the journal ($XDG_STATE_HOME/tmms/journal.jsonl) recorded: posted, delivered, notified, "
         "read, dead-lettered, with times.",
         """\
  tmms status 1a2b
  tmms status 1a2b3c4d --json
""",
         (arg("id", metavar="ID", help="message id or unique prefix"),
          CONFIG, JSON)),
    Spec("demo", "cmd_demo", "run a live demo on a private tmux server",
         "Start a private tmux server with mailbox panes, run the tmms server, let an orchestrator "
         "pane ask two scripted worker agents for work, print a timeline, and clean up.",
         """\
  tmms demo
  tmms demo --attach   # watch it live
""",
         (arg("--attach", action="store_true", help="attach to the demo's tmux server to watch (needs a terminal)"),
          arg("--keep", action="store_true", help="leave the demo tmux server running"))),
)}
"""The parser of each operations command, declared."""


# -- server ------------------------------------------------------------------------------------


def cmd_server(args: argparse.Namespace) -> int:
    from .server_control import run

    return run(args)


def cmd_demo(args: argparse.Namespace) -> int:
    import signal

    from .demo import run_demo

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a SIGTERM cleans up as Ctrl-C does
    return run_demo(attach=args.attach, keep=args.keep, out=sys.stdout)


# -- dead letter -------------------------------------------------------------------------------


def _place(args: argparse.Namespace) -> DeadPlace:
    """The dead-letter folder and the journal: -c's; else those of the server that runs; else discovery's."""
    from ..api import dead_letters

    place = dead_letters(tmux_of(args), args.config)
    for warning in place.warnings:
        warn(f"warning: {warning}")
    return place


def _dead_record(dead: DeadLetter, with_body: bool = False) -> dict[str, Any]:
    from ..views import letter_record

    record = letter_record(dead.letter, with_body=with_body)
    record["reason"] = dead.why
    record["dead_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(dead.dead_at))
    record["details"] = dead.reason
    return record


def cmd_dead(args: argparse.Namespace) -> int:
    from .. import api

    place = _place(args)
    if args.action == "list":
        if args.ids:
            raise UsageError("'dead list' takes no ids (use 'dead show ID')")
        return _dead_list(args, api.dead_list(place), place.folder)
    if args.action == "show":
        if len(args.ids) != 1:
            raise UsageError("'dead show' takes exactly one id")
        return _dead_show(args, api.dead_show(place, args.ids[0]))
    if args.action == "retry":
        return _dead_retry(args, place)
    return _dead_purge(args, place)


def _dead_list(args: argparse.Namespace, entries: list[DeadLetter], dead_dir: str) -> int:
    from ..search import select
    from ..views import dead_table, to_json
    from .output import senders, since_seconds, use_color, width

    since = since_seconds(args)
    entries = select(entries, lambda d: d.letter, senders=sorted(senders(args)), subject=args.subject, since=since,
                     when=lambda d: d.dead_at)
    if args.json:
        say(to_json([_dead_record(d) for d in entries]))
        return ExitCode.OK
    if entries:
        say("\n".join(dead_table([(d.letter, d.why, d.dead_at) for d in entries], width=width(),
                                 color=use_color(args.color))))
    elif sys.stdout.isatty():
        say(one_line(f"dead letter is empty ({dead_dir})" if since is None and not args.senders and not args.subject
                     else "no dead letter matches the filters"))
    return ExitCode.OK


def _dead_show(args: argparse.Namespace, dead: DeadLetter) -> int:
    from ..views import raw_text, to_json

    if args.json:
        say(to_json(_dead_record(dead, with_body=True)))
        return ExitCode.OK
    from ..terminal import visible_text

    say(one_line(f"reason:  {dead.why}"))
    say(one_line(f"file:    {dead.letter.path}"))
    say("")
    sys.stdout.write(visible_text(raw_text(dead.letter)))
    return ExitCode.OK


def _dead_retry(args: argparse.Namespace, place: DeadPlace) -> int:
    from ..api import dead_retry
    from ..views import to_json

    retried = dead_retry(tmux_of(args), place, args.ids)
    for short_id in retried.left:
        warn(f"{short_id}: no outbox to retry from (its sender has no pane and its old outbox "
             "is gone); left in dead letter")
    if args.json:
        say(to_json({"retried": [{"id": i, "path": p} for i, p in retried.done], "left": retried.left}))
    else:
        for _, path in retried.done:
            say(one_line(path))
    return ExitCode.NOTHING if retried.left and not retried.done else ExitCode.OK


def _dead_purge(args: argparse.Namespace, place: DeadPlace) -> int:
    from ..api import dead_purge
    from ..views import to_json

    if args.older_than is None:
        raise UsageError("'dead purge' needs --older-than AGE (such as 7d; 0 purges everything)")
    if args.ids:
        raise UsageError("'dead purge' takes no ids")
    removed = dead_purge(place, args.older_than)
    if args.json:
        say(to_json([d.letter.path for d in removed]))
    else:
        say(one_line(f"purged {len(removed)} dead letter(s) from {place.folder}"))
    return ExitCode.OK


# -- status ------------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    from ..api import status as locate
    from ..tracking import describe
    from ..views import letter_record, to_json

    status = locate(tmux_of(args), _place(args), args.id)
    if args.json:
        say(to_json({
            "id": status.message_id, "state": status.state,
            "message": letter_record(status.letter) if status.letter else None,
            "places": [{"owner": p.owner, "folder": p.folder, "path": p.path} for p in status.places],
            "events": status.events, "link": status.link or None,
        }))
    else:
        say(describe(status))
    return ExitCode.OK

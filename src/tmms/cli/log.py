"""``tmms log``: the journal as readable lines (or JSON), filtered, and followed like ``journalctl -f``."""

from __future__ import annotations

import argparse
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from ..errors import UsageError
from .common import JSON, ExitCode, Spec, arg, warn

if TYPE_CHECKING:
    from ..journal_view import Describer, Filter

EVENTS = ("posted", "delivered", "notified", "notify-failed", "notify-timeout", "read", "archived", "unread",
          "dead-lettered", "retried",
          "doorbell-queued", "typed", "submitted", "failed",
          "spooled", "relayed", "acked", "refused", "link-up", "link-down")  # the last six: mail across hosts
"""The events tmms writes (a filter for another one is kept, with a warning)."""

FOLLOW_LINES = 10

PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("log", "cmd_log", "the journal as readable lines (-f follows it)",
         "Print what the journal ($XDG_STATE_HOME/tmms/journal.jsonl and its rotated files) recorded, "
         "oldest first, one line per event: local time, event, message id, from -> to, subject, reason. "
         "-f prints the last 10 and then each new event as it is written, across rotations, until "
         "Ctrl-C. --json prints a JSON array of the records as the journal holds them; with -f, one "
         "object per line (JSON Lines). The filters combine (all must match).",
         """\
  tmms log
  tmms log -f                          # like journalctl -f
  tmms log --to beta --since 1h
  tmms log --event dead-lettered,notify-failed -n 20
  tmms log -f --json | jq .event
""",
         (arg("-f", "--follow", action="store_true", help="keep printing new events (Ctrl-C ends)"),
          arg("-n", "--lines", type=int, metavar="N", help="only the last N events (-f: default 10)"),
          arg("--from", dest="sender", metavar="NAME", help="only messages from NAME"),
          arg("--to", dest="recipient", metavar="NAME", help="only messages to NAME (or read by NAME)"),
          arg("--event", action="append", metavar="EV", help="only these events (repeatable, or a,b)"),
          arg("--since", metavar="AGE", help="only events of the last AGE (90s, 30m, 12h, 7d, 2w)"),
          JSON)),
)}
"""The parser of ``tmms log``, declared."""


def cmd_log(args: argparse.Namespace) -> int:
    from ..journal import KEEP
    from ..journal_view import Describer, read_lines, rotated

    wanted = _filter(args)
    if args.lines is not None and args.lines < 0:
        raise UsageError(f"--lines must be 0 or more, not {args.lines}")
    path = _journal(args)
    describer = Describer()
    if args.follow:
        return _follow(path, rotated(path, KEEP), wanted, describer, args)
    found: Iterable[dict[str, str]] = _matching(_chain([*rotated(path, KEEP), path], read_lines), wanted, describer)
    if args.lines is not None:
        found = deque(found, maxlen=args.lines)
    if args.json:
        from ..views import to_json

        print(to_json(list(found)))
        return ExitCode.OK
    for record in found:
        print(describer.line(record))
    return ExitCode.OK


def _chain(paths: list[str], read: Callable[[str], Iterable[str]]) -> Iterator[str]:
    for path in paths:
        yield from read(path)


def _matching(lines: Iterable[str], wanted: Filter, describer: Describer) -> Iterator[dict[str, str]]:
    """The records that pass ``wanted``; every record's subject is noted (a later one may need it)."""
    from ..journal_view import decode

    for line in lines:
        record = decode(line)
        if record is not None:
            describer.note(record)
            if wanted.matches(record):
                yield record


def _filter(args: argparse.Namespace) -> Filter:
    import difflib
    import time

    from ..journal_view import Filter, parse_age

    since = None
    if args.since is not None:
        try:
            since = time.time() - parse_age(args.since)
        except ValueError:
            raise UsageError(f"--since: '{args.since}' is not an age such as 90s, 30m, 12h, 7d, 2w") from None
    events = frozenset(e.strip() for value in args.event or () for e in value.split(",") if e.strip())
    for event in sorted(events - set(EVENTS)):
        near = difflib.get_close_matches(event, EVENTS, n=1)
        hint = f"did you mean '{near[0]}'?" if near else f"the events are: {', '.join(EVENTS)}"
        warn(f"warning: tmms writes no event '{event}'; {hint}")
    return Filter(args.sender, args.recipient, events, since)


def _journal(args: argparse.Namespace) -> str:
    """The journal of the server that runs for this tmux server; else the default one."""
    from ..journal import default_path
    from ..server.service import running
    from .common import tmux_of

    tmux = tmux_of(args)
    found = running(tmux)
    return found.info.journal if found and found.info else default_path(tmux.env)


def _follow(path: str, older: list[str], wanted: Filter, describer: Describer, args: argparse.Namespace) -> int:
    from ..journal_view import follow_lines, read_lines

    keep = FOLLOW_LINES if args.lines is None else args.lines
    history: deque[dict[str, str]] = deque(_matching(_chain(older, read_lines), wanted, describer), maxlen=keep)
    live = False

    def show(record: dict[str, str]) -> None:
        if args.json:
            import json

            from ..terminal import json_visible

            sys.stdout.write(json_visible(json.dumps(record, ensure_ascii=False)) + "\n")
        else:
            sys.stdout.write(describer.line(record) + "\n")

    def caught_up() -> None:
        nonlocal live
        live = True
        for record in history:
            show(record)
        sys.stdout.flush()

    for record in _matching(follow_lines(path, caught_up=caught_up), wanted, describer):
        if live:
            show(record)
            sys.stdout.flush()
        else:
            history.append(record)
    return ExitCode.OK

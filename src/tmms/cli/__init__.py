"""The ``tmms`` command: parse arguments, call the library, turn errors into exit codes.

Only this package prints or exits; the library returns values and raises ``TmmsError``.
``COMMANDS`` names the module of each command: ``main`` imports just that one (all of them only
for the full help). The command modules import their shared pieces from ``common``, never from
here, so the imports run one way.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import ExitCode as ExitCode  # re-exported: tmms.cli.ExitCode stays importable
from ..errors import TmmsError, UsageError
from .common import FORMATTER, Command, Parser, add_command, add_spec, command_parser, one_line, unrecognized

if TYPE_CHECKING:
    from types import ModuleType

    from .common import Subparsers

COMMANDS: dict[str, str] = {
    "post": "tmms.cli.mail", "reply": "tmms.cli.mail", "ask": "tmms.cli.mail", "inbox": "tmms.cli.mail",
    "read": "tmms.cli.mail", "thread": "tmms.cli.mail", "wait": "tmms.cli.mail", "search": "tmms.cli.search",
    "archive": "tmms.cli.manage", "unread": "tmms.cli.manage",
    "register": "tmms.cli.panes", "unregister": "tmms.cli.panes", "whoami": "tmms.cli.panes",
    "peers": "tmms.cli.panes", "bind": "tmms.cli.panes", "ui": "tmms.cli.panes", "alert": "tmms.cli.panes",
    "server": "tmms.cli.ops", "dead": "tmms.cli.ops", "status": "tmms.cli.ops", "demo": "tmms.cli.ops",
    "log": "tmms.cli.log", "completion": "tmms.cli.completion",
    "hook": "tmms.cli.hook", "hooks": "tmms.cli.hook", "nudge": "tmms.cli.wake",
    "relay": "tmms.cli.relay",
    "mcp": "tmms.cli.mcp",
}
"""Every command (but ``help``) and the module that declares it, in the order of ``tmms --help``."""

HIDDEN_COMPLETE = "__complete"
"""The hidden command the shell completion scripts call for candidates (``tmms __complete KIND``)."""


EXIT_CODES_HELP = """\
exit codes: 0 ok, 1 nothing came (wait/ask timeout, no unread mail, no server to stop), 2 usage,
            3 config, 4 tmux, 5 pane not registered, 6 bad input, 7 storage (disk full, permissions),
            8 server already running, 9 file exists, 10 name taken, 11 no such message,
            12 server could not start (or stop), 13 nudge queued, 14 nudge timed out,
            15 nudge refused, 130 interrupted
"""


def exit_code_for(error: TmmsError) -> ExitCode:
    """The exit code of a library error: the one its class (or family) carries."""
    return error.exit_code


EPILOG_MAIN = """\
examples:
  tmms register agent-alpha          # join: set the pane options, make folders, start the server
  echo "Hello" | tmms post -t agent-beta -s Greeting
  tmms inbox                         # what is unread
  tmms read --next                   # read the oldest unread message
  tmms reply 1a2b -s Done < result.md
  tmms ask -t reviewer -s "Review PR 7" --timeout 600 < request.md
  tmms -L pipeline1 server           # an isolated tmux server (tmux -L pipeline1)
  tmms demo                          # see it work on a private tmux server

""" + EXIT_CODES_HELP


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every command, or just ``only`` (what ``main`` does; it starts faster)."""
    parser = Parser(prog="tmms", description="Mail between tmux panes (TMMS-compatible).",
                    epilog=EPILOG_MAIN, formatter_class=FORMATTER)
    parser.add_argument("-V", "--version", action="version", version=f"tmms {__version__}")
    parser.add_argument("-L", "--socket-name", help="tmux server socket name (as tmux -L)")
    parser.add_argument("-S", "--socket-path", help="tmux server socket path (as tmux -S)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for name, module_name in COMMANDS.items():
        if only is None or name == only:
            module = command_module(module_name)
            spec = module.PARSERS[name]
            add_spec(sub, spec, getattr(module, spec.run))
    if only is None or only == "help":
        help_parser = add_command(sub, "help", _help(parser, sub), "show help for a command",
                                  "Show the help of tmms or of one command.", "  tmms help post\n")
        help_parser.add_argument("topic", nargs="?", help="a command")
    return parser


def command_module(name: str) -> ModuleType:
    """The command module ``name`` (from ``COMMANDS``), imported now if it was not yet."""
    __import__(name)  # not importlib: it is not loaded yet when tmms starts
    return sys.modules[name]


def command_name(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (after the global options), or None."""
    with_value = {"-L", "-S", "--socket-name", "--socket-path"}
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in with_value:
            skip = True
        elif arg == "--" or not arg.startswith("-"):
            return None if arg == "--" else arg
        elif (arg.startswith(("-L", "-S")) and len(arg) > 2) or arg.startswith(("--socket-name=", "--socket-path=")):
            continue
        else:
            return None  # -h, -V or an unknown option: the full parser answers
    return None


def unknown_command(name: str) -> str:
    """The error for a command word that is not one: the nearest command, if one is near."""
    return f"unknown command '{name}'" + (_nearest(name) or " (see 'tmms --help')")


def _nearest(name: str) -> str:
    """``; did you mean 'status'?`` for the command nearest to ``name``; empty when none is near."""
    import difflib

    near = difflib.get_close_matches(name, [*COMMANDS, "help"], n=1)
    return f"; did you mean '{near[0]}'?" if near else ""


def _help(parser: argparse.ArgumentParser, sub: Subparsers) -> Command:
    def show(args: argparse.Namespace) -> int:
        target = sub.choices.get(args.topic) if args.topic else parser
        if target is None:
            raise UsageError(f"no command '{args.topic}'" + _nearest(args.topic))
        target.print_help()
        return ExitCode.OK
    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:  # from the start: a SIGINT while the parser is built is one line too, never a traceback
        name = command_name(arguments)
        known = name is not None and name in COMMANDS
        if name == HIDDEN_COMPLETE:
            from .completion import complete

            return complete(arguments, COMMANDS, build_parser)
        if name is not None and not known and name != "help":
            raise UsageError(unknown_command(name))
        parser = build_parser(name if known else None)
        args, extras = parser.parse_known_args(arguments)
        if extras:  # as parse_args says it, with the command's nearest option
            parser.error(unrecognized(extras, command_parser(parser, name) or parser))
        func: Command = args.func
        return int(func(args))
    except TmmsError as exc:
        print(one_line(f"tmms: error: {exc}"), file=sys.stderr)
        return int(exit_code_for(exc))
    except KeyboardInterrupt:
        print("tmms: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        os._exit(int(ExitCode.OK))

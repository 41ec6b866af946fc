"""The ``tmms`` command: parse arguments, call the library, turn errors into exit codes.

Only this module and its ``cli_*`` companions print or exit; the library returns values and
raises ``TmmsError``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import ExitCode as ExitCode  # re-exported: tmms.cli.ExitCode stays importable
from ..errors import TmmsError, UsageError

if TYPE_CHECKING:
    from typing import TypeAlias

    from ..tmux import Tmux


EXIT_CODES_HELP = """\
exit codes: 0 ok, 1 nothing came (wait/ask timeout, no unread mail), 2 usage, 3 config, 4 tmux,
            5 pane not registered, 6 bad input, 7 storage (disk full, permissions),
            8 server already running, 9 file exists, 10 name taken, 11 no such message,
            12 server could not start, 130 interrupted
"""


def exit_code_for(error: TmmsError) -> ExitCode:
    """The exit code of a library error: the one its class (or family) carries."""
    return error.exit_code


class Parser(argparse.ArgumentParser):
    """argparse with tmms's one-line errors and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, one_line(f"tmms: error: {message} (see '{self.prog} --help')") + "\n")


if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[Parser]

Command = Callable[[argparse.Namespace], int]
FORMATTER = argparse.RawDescriptionHelpFormatter


def tmux_of(args: argparse.Namespace) -> Tmux:
    """The tmux server the global options (or ``$TMUX``) choose."""
    from ..tmux import Tmux

    return Tmux(socket_name=args.socket_name, socket_path=args.socket_path)


def add_command(sub: Subparsers, name: str, func: Command, summary: str, description: str,
                examples: str) -> argparse.ArgumentParser:
    """A subcommand whose help ends with examples (every command has some)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=description, formatter_class=FORMATTER,
        epilog="examples:\n" + examples.rstrip("\n") + "\n")
    parser.set_defaults(func=func)
    return parser


def add_json(parser: argparse.ArgumentParser) -> None:
    """``--json``: machine-readable output."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_pane(parser: argparse.ArgumentParser) -> None:
    """``--pane``: act as another pane's mailbox (default: the pane this runs in, $TMUX_PANE)."""
    parser.add_argument("--pane", metavar="PANE", help="the pane whose mailbox to use (default: $TMUX_PANE)")


def add_body(parser: argparse.ArgumentParser) -> None:
    """A message body from ``[file]``, ``-f PATH`` or stdin."""
    parser.add_argument("file", nargs="?", help="Markdown file to send (default: stdin)")
    parser.add_argument("-f", "--file", dest="file_opt", metavar="PATH", help="Markdown file to send")


def body_of(args: argparse.Namespace) -> str:
    """The body the user gave."""
    from ..post import decode_body, read_body_file

    if args.file_opt and args.file and args.file_opt != args.file:
        raise UsageError("give the body as [file] or -f, not both")
    source = args.file_opt or args.file
    if source and source != "-":
        return read_body_file(source)
    return decode_body(sys.stdin.buffer.read(), "<stdin>")


def say(text: str = "") -> None:
    """Print to stdout."""
    print(text)


def warn(text: str) -> None:
    """One line on stderr."""
    print(one_line(f"tmms: {text}"), file=sys.stderr)


def one_line(text: str) -> str:
    """The text with every control character (a newline too) shown visibly: never raw on a terminal."""
    if text.isascii() and text.isprintable():
        return text  # nothing to escape: no import on the fast path
    from ..terminal import visible

    return visible(text)


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
    from . import mail as cli_mail
    from . import ops as cli_ops
    from . import panes as cli_panes

    parser = Parser(prog="tmms", description="Mail between tmux panes (TMMS-compatible).",
                    epilog=EPILOG_MAIN, formatter_class=FORMATTER)
    parser.add_argument("-V", "--version", action="version", version=f"tmms {__version__}")
    parser.add_argument("-L", "--socket-name", help="tmux server socket name (as tmux -L)")
    parser.add_argument("-S", "--socket-path", help="tmux server socket path (as tmux -S)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for module in (cli_mail, cli_panes, cli_ops):
        for name, add in module.PARSERS.items():
            if only is None or name == only:
                add(sub)
    if only is None or only == "help":
        help_parser = add_command(sub, "help", _help(parser, sub), "show help for a command",
                                  "Show the help of tmms or of one command.", "  tmms help post\n")
        help_parser.add_argument("topic", nargs="?", help="a command")
    return parser


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


def _is_command(name: str) -> bool:
    from . import mail as cli_mail
    from . import ops as cli_ops
    from . import panes as cli_panes

    return any(name in module.PARSERS for module in (cli_mail, cli_panes, cli_ops))


def _help(parser: argparse.ArgumentParser, sub: Subparsers) -> Command:
    def show(args: argparse.Namespace) -> int:
        target = sub.choices.get(args.topic) if args.topic else parser
        if target is None:
            raise UsageError(f"no command '{args.topic}'")
        target.print_help()
        return ExitCode.OK
    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:  # from the start: a SIGINT while the parser is built is one line too, never a traceback
        name = command_name(arguments)
        known = name is not None and name != "help" and _is_command(name)
        parser = build_parser(name if known else None)
        args = parser.parse_args(arguments)
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

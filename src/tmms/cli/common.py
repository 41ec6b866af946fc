"""What every command module shares: the parser, the help formatter, argument specs, output helpers.

The command modules (``mail``, ``ops``, ``panes``) import from here and never from the package
``tmms.cli``, which imports them: the imports run one way.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ExitCode as ExitCode  # re-exported for the command modules
from ..errors import UsageError

if TYPE_CHECKING:
    from typing import TypeAlias

    from ..tmux import Tmux

Command = Callable[[argparse.Namespace], int]


def _columns() -> int:
    """The terminal width as ``shutil.get_terminal_size`` gives it, without importing shutil (3 ms)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's raw-description formatter, told the width so that argparse never imports shutil."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


FORMATTER = Formatter


class Parser(argparse.ArgumentParser):
    """argparse with tmms's one-line errors, exit code 2 and the width formatter.

    ``intermixed``: the parser also takes positionals after options. With ``ID [file]``, plain
    argparse gives the optional ``file`` nothing as soon as it meets ID, so in
    ``tmms reply ID -s S FILE`` the FILE would be refused as an unrecognized argument.
    """

    intermixed = False
    _mixing = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", FORMATTER)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, one_line(f"tmms: error: {did_you_mean(message)} (see '{self.prog} --help')") + "\n")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if not self.intermixed or self._mixing:  # parse_known_intermixed_args calls back in here
            return super().parse_known_args(args, namespace)
        self._mixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._mixing = False


def did_you_mean(message: str) -> str:
    """argparse's "invalid choice" message with the nearest choice named (other messages unchanged)."""
    head, sep, rest = message.partition(": invalid choice: ")
    if not sep or " (choose from " not in rest:
        return message
    value, _, choices = rest.partition(" (choose from ")
    value = value.strip("'\"")
    options = [c.strip().strip("'\"") for c in choices.rstrip(")").split(",")]
    import difflib

    near = difflib.get_close_matches(value, options, n=1)
    hint = f"did you mean '{near[0]}'?" if near else f"choose from {', '.join(options)}"
    return f"{head}: invalid choice: '{value}'; {hint}"


def command_parser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser | None:
    """The subparser of ``command`` in the top-level ``parser``, if it has one."""
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    found = sub.choices.get(command) if sub is not None and command else None
    return found if isinstance(found, argparse.ArgumentParser) else None


def unrecognized(extras: Sequence[str], target: argparse.ArgumentParser) -> str:
    """argparse's "unrecognized arguments" message, with ``target``'s option nearest to the first unknown one."""
    message = "unrecognized arguments: " + " ".join(extras)
    option = next((e.split("=", 1)[0] for e in extras if e.startswith("--")), None)
    if option is None:
        return message
    import difflib

    near = difflib.get_close_matches(option, [o for o in target._option_string_actions if o.startswith("--")], n=1)
    return f"{message}; did you mean '{near[0]}'?" if near else message


if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[Parser]


class Arg:
    """One ``add_argument`` call: its flags (or name) and its keywords.

    Plain classes, not NamedTuples: making a NamedTuple class costs ``tmms post`` about 0.5 ms each.
    """

    __slots__ = ("flags", "options")

    def __init__(self, flags: tuple[str, ...], options: dict[str, Any]) -> None:
        self.flags = flags
        self.options = options


def arg(*flags: str, **options: Any) -> Arg:
    """An argument, as ``add_argument(*flags, **options)`` would take it."""
    return Arg(flags, options)


class Spec:
    """A command's parser, declared: its help texts, its arguments in order, its function's name."""

    __slots__ = ("args", "description", "examples", "extend", "intermixed", "name", "run", "summary")

    def __init__(self, name: str, run: str, summary: str, description: str, examples: str,
                 args: Sequence[Arg] = (), intermixed: bool = False,
                 extend: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
        self.name, self.run, self.summary, self.description, self.examples = name, run, summary, description, examples
        self.args, self.intermixed, self.extend = args, intermixed, extend


JSON = arg("--json", action="store_true", help="print JSON instead of text")
PANE = arg("--pane", metavar="PANE", help="the pane whose mailbox to use (default: $TMUX_PANE)")
BODY = (arg("file", nargs="?", help="Markdown file to send (default: stdin)"),
        arg("-f", "--file", dest="file_opt", metavar="PATH", help="Markdown file to send"))
KEEP = arg("--keep", action="store_true", help="do not mark it read")
RAW = arg("--raw", action="store_true", help="the file as stored, not rendered (byte for byte when piped)")
TIMEOUT = arg("--timeout", type=float, metavar="S", help="give up after S seconds (default: wait forever)")
CONFIG = arg("-c", "--config", metavar="PATH", help="config file that names dead_letter_dir")


def add_command(sub: Subparsers, name: str, func: Command, summary: str, description: str,
                examples: str) -> argparse.ArgumentParser:
    """A subcommand whose help ends with examples (every command has some)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=description, formatter_class=FORMATTER,
        epilog="examples:\n" + examples.rstrip("\n") + "\n")
    parser.set_defaults(func=func)
    return parser


def add_spec(sub: Subparsers, spec: Spec, func: Command) -> argparse.ArgumentParser:
    """The subcommand a spec declares, running ``func``."""
    parser = add_command(sub, spec.name, func, spec.summary, spec.description, spec.examples)
    if spec.intermixed and isinstance(parser, Parser):
        parser.intermixed = True
    for argument in spec.args:
        parser.add_argument(*argument.flags, **argument.options)
    if spec.extend is not None:
        spec.extend(parser)
    return parser


def tmux_of(args: argparse.Namespace) -> Tmux:
    """The tmux server the global options (or ``$TMUX``) choose."""
    from ..tmux import Tmux

    return Tmux(socket_name=args.socket_name, socket_path=args.socket_path)


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

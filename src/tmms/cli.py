"""The ``tmms`` command: parse arguments, call the library, turn errors into exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from enum import IntEnum

from . import __version__
from .errors import (
    AlreadyRunning,
    ConfigError,
    FileExists,
    InputError,
    MessageError,
    NoRecipient,
    NotInsideTmux,
    PaneNotFound,
    PaneNotRegistered,
    StorageError,
    TmmsError,
    TmuxCommandError,
    TmuxNotFound,
    TmuxServerNotRunning,
)


class ExitCode(IntEnum):
    """Documented exit codes (README.md, "Exit codes")."""

    OK = 0
    TIMEOUT = 1
    USAGE = 2
    CONFIG = 3
    TMUX = 4
    NOT_REGISTERED = 5
    INPUT = 6
    STORAGE = 7
    ALREADY_RUNNING = 8
    EXISTS = 9
    INTERRUPTED = 130


_ERROR_CODES: list[tuple[type[TmmsError], ExitCode]] = [
    (ConfigError, ExitCode.CONFIG),
    (TmuxNotFound, ExitCode.TMUX),
    (TmuxServerNotRunning, ExitCode.TMUX),
    (TmuxCommandError, ExitCode.TMUX),
    (NotInsideTmux, ExitCode.TMUX),
    (PaneNotFound, ExitCode.TMUX),
    (PaneNotRegistered, ExitCode.NOT_REGISTERED),
    (NoRecipient, ExitCode.USAGE),
    (InputError, ExitCode.INPUT),
    (MessageError, ExitCode.INPUT),
    (StorageError, ExitCode.STORAGE),
    (AlreadyRunning, ExitCode.ALREADY_RUNNING),
    (FileExists, ExitCode.EXISTS),
]


def exit_code_for(error: TmmsError) -> ExitCode:
    """The exit code of a library error."""
    for kind, code in _ERROR_CODES:
        if isinstance(error, kind):
            return code
    return ExitCode.USAGE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, f"tmms: error: {message} (see 'tmms --help')\n")


def _tmux(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from .tmux import Tmux

    return Tmux(socket_name=args.socket_name, socket_path=args.socket_path)


# -- commands ---------------------------------------------------------------------------------


def cmd_post(args: argparse.Namespace) -> int:
    from .post import decode_body, post, read_body_file

    source = args.file_opt or args.file
    if args.file_opt and args.file and args.file_opt != args.file:
        raise InputError(args.file, "give the body as [file] or -f, not both")
    if source:
        text = read_body_file(source)
    else:
        text = decode_body(sys.stdin.buffer.read(), "<stdin>")
    to = [name.strip() for item in (args.to or []) for name in item.split(",")]
    posted = post(_tmux(args), text, to, args.subject, thread_id=args.thread)
    for name in posted.unknown:
        print(f"tmms: warning: no pane is registered as '{name}' now; the server will dead-letter "
              "the message unless one appears", file=sys.stderr)
    for path in posted.paths:
        print(path)
    return ExitCode.OK


def cmd_server(args: argparse.Namespace) -> int:
    if args.server_command == "init":
        from .config import write_template

        path = write_template(args.output)
        print(path)
        print(f"tmms: wrote {path}; edit dead_letter_dir if you want another folder", file=sys.stderr)
        return ExitCode.OK
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    import logging

    from . import config as config_mod
    from .server import Server

    cfg = config_mod.load(args.config)
    _setup_logging(args.quiet)
    log = logging.getLogger("tmms")
    for warning in cfg.warnings:
        log.warning(warning)
    if cfg.source is None:
        log.info("no config file found (%s); using built-in defaults", ", ".join(config_mod.DISCOVERY))
    tmux = _tmux(args)
    server = Server(tmux, cfg)
    server.install_signal_handlers()
    counters = server.run()
    log.info("stopped: %d delivered, %d dead-lettered, %d notified", counters.delivered, counters.dead,
             counters.notified)
    return ExitCode.OK


def _setup_logging(quiet: bool) -> None:
    import logging
    import time

    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s.%(msecs)03dZ tmms %(levelname)s %(message)s",
                                  datefmt="%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger("tmms")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    root.propagate = False


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(attach=args.attach, keep=args.keep, out=sys.stdout)


# -- parser -----------------------------------------------------------------------------------

EPILOG_MAIN = """\
examples:
  echo "Hello" | tmms post -t agent-beta -s Greeting
  tmms server                      # route mail for the tmux server of this shell
  tmms -L pipeline1 server         # an isolated tmux server (tmux -L pipeline1)
  tmms demo                        # see it work on a private tmux server

exit codes: 0 ok, 2 usage, 3 config, 4 tmux, 5 pane not registered, 6 bad input,
            7 storage (disk full, permissions), 8 server already running, 9 file exists
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="tmms", description="Mail between tmux panes (TMMS-compatible).",
                     epilog=EPILOG_MAIN, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"tmms {__version__}")
    parser.add_argument("-L", "--socket-name", help="tmux server socket name (as tmux -L)")
    parser.add_argument("-S", "--socket-path", help="tmux server socket path (as tmux -S)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("post", help="send a message from this pane", formatter_class=fmt,
                       description="Compose a message in this pane's outbox and print its path.",
                       epilog="examples:\n  echo 'Hello' | tmms post -t agent-beta -s Greeting\n"
                              "  tmms post -t agent-beta -s Report report.md\n"
                              "  tmms post -t a,b -f notes.md      # one copy per recipient\n")
    p.add_argument("file", nargs="?", help="Markdown file to send (default: stdin)")
    p.add_argument("-t", "--to", action="append", metavar="NAME",
                   help="recipient @tmms_name (repeat or comma-separate; default: @tmms_reply_to)")
    p.add_argument("-s", "--subject", help="message subject (tmms_subject)")
    p.add_argument("-f", "--file", dest="file_opt", metavar="PATH", help="Markdown file to send")
    p.add_argument("--thread", metavar="ID", help="join a thread (tmms_thread_id)")
    p.set_defaults(func=cmd_post)

    s = sub.add_parser("server", help="route mail between panes", formatter_class=fmt,
                       description="Route outboxes to inboxes and run notify commands until "
                                   "SIGINT/SIGTERM.",
                       epilog="examples:\n  tmms server\n  tmms server -c ~/.tmms.yml\n"
                              "  tmms server init -o ~/.config/tmms/config.yml\n")
    s.add_argument("-c", "--config", metavar="PATH", help="config file (skips discovery)")
    s.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    s.set_defaults(func=cmd_server, server_command=None)
    ssub = s.add_subparsers(dest="server_command", metavar="init", parser_class=_Parser)
    i = ssub.add_parser("init", help="write a default config file", formatter_class=fmt,
                        description="Write a default config; refuses to overwrite.",
                        epilog="example:\n  tmms server init -o ~/.tmms.yml\n")
    i.add_argument("-o", "--output", metavar="PATH", help="where (default ~/.config/tmms/config.yml)")

    d = sub.add_parser("demo", help="run a live demo on a private tmux server", formatter_class=fmt,
                       description="Start a private tmux server with a few mailbox panes, run the "
                                   "tmms server, pass messages, print what happened, clean up.",
                       epilog="examples:\n  tmms demo\n  tmms demo --attach   # watch it live\n")
    d.add_argument("--attach", action="store_true", help="attach to the demo's tmux server to watch")
    d.add_argument("--keep", action="store_true", help="leave the demo tmux server running")
    d.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return int(func(args))
    except TmmsError as exc:
        print(f"tmms: error: {exc}", file=sys.stderr)
        return int(exit_code_for(exc))
    except KeyboardInterrupt:
        print("tmms: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        os._exit(int(ExitCode.OK))

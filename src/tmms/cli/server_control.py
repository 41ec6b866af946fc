"""``tmms server``: serve in the foreground (as TMMS does), or init, start, stop, status, restart, logs."""

from __future__ import annotations

import argparse
import sys
import time
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .common import FORMATTER, JSON, ExitCode, one_line, say, tmux_of, warn

if TYPE_CHECKING:
    import logging

    from ..server.service import Running
    from ..tmux import Tmux

_SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (summary, description, examples)
    "init": ("write a default config file",
             "Write the default config (with an absolute dead_letter_dir, so TMMS 0.1.1 reads it too); "
             "creates parent folders; refuses to overwrite (exit 9).",
             "tmms server init\ntmms server init -o ~/.tmms.yml"),
    "start": ("start the server in the background",
              "Start the tmms server of this tmux server detached (as 'tmms register' does), logging to "
              "$XDG_STATE_HOME/tmms/server-KEY.log; prints its pid once it serves. Exit 8 if one runs.",
              "tmms server start\ntmms -L pipeline1 server start -c ~/.tmms.yml"),
    "stop": ("stop the server of this tmux server",
             "Send SIGTERM to the tmms server of this tmux server (the pid in its lock) and wait until it "
             "has stopped; --kill sends SIGKILL if it still runs after --timeout. Exit 1 when none runs, "
             "12 when it still runs.",
             "tmms server stop\ntmms -L pipeline1 server stop --timeout 30\ntmms server stop --timeout 3 --kill"),
    "status": ("show the server's pid, uptime, folders, counters, log",
               "Show the tmms server of this tmux server: pid, uptime, config file, mailboxes served, "
               "what it delivered, dead-lettered and notified, its folders and its log. Exit 1 when none runs.",
               "tmms server status\ntmms server status --json"),
    "restart": ("stop the server (if one runs), then start it",
                "Stop the tmms server of this tmux server if one runs, then start it detached, with the "
                "config the stopped one used (unless -c names another).",
                "tmms server restart\ntmms server restart -c ~/.tmms.yml"),
    "logs": ("print the server log (-f follows it)",
             "Print the log of the background server of this tmux server (rotated by size: KEY.log, "
             "KEY.log.1, ...). -f keeps printing new lines, across rotations, until Ctrl-C.",
             "tmms server logs\ntmms server logs -n 20\ntmms server logs -f"),
}


def add_subcommands(server: argparse.ArgumentParser) -> None:
    """Declare the subcommands of ``server`` (plain ``tmms server`` runs in the foreground)."""
    server.set_defaults(server_command=None)
    ssub = server.add_subparsers(dest="server_command", metavar="{init,start,stop,status,restart,logs}",
                                 parser_class=type(server))
    parsers = {}
    for name, (summary, description, examples) in _SUBCOMMANDS.items():
        epilog = "examples:\n" + "".join(f"  {line}\n" for line in examples.splitlines())
        parsers[name] = ssub.add_parser(name, help=summary, description=description, epilog=epilog,
                                        formatter_class=FORMATTER)
    parsers["init"].add_argument("-o", "--output", metavar="PATH", help="where (default ~/.config/tmms/config.yml)")
    for name in ("start", "restart"):
        parsers[name].add_argument("-c", "--config", dest="start_config", metavar="PATH",
                                   help="config file for the server (skips discovery)")
    for name in ("stop", "restart"):
        parsers[name].add_argument("--timeout", type=float, default=10.0, metavar="S",
                                   help="wait this long for it to stop (default 10)")
        parsers[name].add_argument("--kill", action="store_true", help="SIGKILL it if it still runs after --timeout")
    parsers["status"].add_argument(*JSON.flags, **JSON.options)
    parsers["logs"].add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    parsers["logs"].add_argument("-n", "--lines", type=int, metavar="N", help="only the last N lines")


def run(args: argparse.Namespace) -> int:
    """``tmms server [SUBCOMMAND]``."""
    command = args.server_command
    if command == "init":
        from ..config import write_template

        path = write_template(args.output)
        say(one_line(path))
        warn(f"wrote {path}; edit dead_letter_dir if you want another folder")
        return ExitCode.OK
    if command is None:
        return _serve(args)
    handler = {"start": _start, "stop": _stop, "status": _status, "restart": _restart, "logs": _logs}[command]
    return handler(args)


# -- start, stop, restart -----------------------------------------------------------------------


def _start(args: argparse.Namespace) -> int:
    from ..config import load
    from ..server.service import log_path, preflight, start_detached

    config = args.start_config or args.config
    load(config)  # a config the server would refuse: exit 3 here, with its reason, not 12 from the child
    tmux = tmux_of(args)
    preflight(tmux)  # no tmux server (4), one already serving it (8): one line each
    pid = start_detached(tmux, config)
    say(one_line(f"started the tmms server (pid {pid}) for {tmux.socket_path}; log: {log_path(tmux)}"))
    return ExitCode.OK


def _stop(args: argparse.Namespace) -> int:
    from ..server.service import stop

    tmux = tmux_of(args)
    stopped = stop(tmux, args.timeout, kill=args.kill)
    how = f" with SIGKILL after {args.timeout:g}s" if stopped.killed else ""
    say(one_line(f"stopped the tmms server (pid {stopped.pid}) of {tmux.socket_path}{how}"))
    return ExitCode.OK


def _restart(args: argparse.Namespace) -> int:
    from ..errors import ServerNotRunning
    from ..server.service import running, stop

    tmux = tmux_of(args)
    tmux.list_panes()  # no tmux server: say so before anything stops
    found = running(tmux)
    if not (args.start_config or args.config) and found and found.info and found.info.config:
        args.start_config = found.info.config  # the same config as before, unless -c names another
    from ..config import load

    load(args.start_config or args.config)  # one the new server would refuse: exit 3 before the old one stops
    try:
        stopped = True
        stop(tmux, args.timeout, kill=args.kill)
    except ServerNotRunning:
        stopped = False
    code = _start(args)
    if not stopped:
        warn("no tmms server was running; started one")
    return code


# -- status -------------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    from ..server.service import log_path, running

    tmux = tmux_of(args)
    found = running(tmux)
    if found is None:
        tmux.list_panes()  # no tmux server at all: exit 4, as every command says it
        if args.json:
            say(_to_json({"running": False, "socket": tmux.socket_path, "log": log_path(tmux)}))
        else:
            say(one_line(f"no tmms server runs for {tmux.socket_path} (start one: tmms server start)"))
        return ExitCode.NOTHING
    record = status_record(tmux, found)
    if args.json:
        say(_to_json(record))
    else:
        for label, value in _status_lines(record):
            say(one_line(f"{label + ':':<13}{value}"))
    return ExitCode.OK


def status_record(tmux: Tmux, found: Running) -> dict[str, Any]:
    """What ``server status --json`` prints about a running server."""
    from ..server.service import log_path

    info = found.info
    record: dict[str, Any] = {"running": True, "pid": found.pid, "socket": tmux.socket_path}
    if info is None:  # it has the lock but has not published yet: it is starting
        record.update(starting=True, log=log_path(tmux))
        return record
    started = _epoch(info.started)
    stats = dict(info.stats or {})
    record.update(started=info.started, uptime_seconds=None if started is None else int(time.time() - started),
                  config=info.config, mailboxes=stats.pop("mailboxes", None), counters=stats or None,
                  watch=info.watch, dead_letter_dir=info.dead_letter_dir, journal=info.journal,
                  log=info.log)  # None: a foreground 'tmms server' logs to its stderr
    return record


def _status_lines(record: dict[str, Any]) -> list[tuple[str, str]]:
    lines = [("tmms server", f"running, pid {record['pid']}" + (" (starting)" if record.get("starting") else "")),
             ("tmux server", record["socket"])]
    if record.get("started"):
        up = record.get("uptime_seconds")
        lines.append(("up", f"{_duration(up) if up is not None else '?'} (since {_local(record['started'])})"))
    if "config" in record:
        lines.append(("config", record["config"] or "none found (built-in defaults)"))
    if record.get("mailboxes") is not None:
        lines.append(("mailboxes", f"{record['mailboxes']} served"))
    counters = record.get("counters")
    if counters:
        lines.append(("counters", f"{counters.get('delivered', 0)} delivered, {counters.get('dead', 0)} "
                                  f"dead-lettered, {counters.get('notified', 0)} notified"))
    for label, key in (("watch", "watch"), ("dead letter", "dead_letter_dir"), ("journal", "journal")):
        if record.get(key):
            lines.append((label, record[key]))
    lines.append(("log", record.get("log") or "its stderr (it runs in the foreground: plain 'tmms server')"))
    return lines


def _epoch(stamp: str) -> float | None:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _local(stamp: str) -> str:
    at = _epoch(stamp)
    return stamp if at is None else datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: int) -> str:
    """``3d 4h``, ``2h 5m``, ``5m 3s``, ``42s``."""
    parts: list[str] = []
    left = max(0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts[:2])


def _to_json(value: object) -> str:
    from ..views import to_json

    return to_json(value)


# -- logs ---------------------------------------------------------------------------------------


def _logs(args: argparse.Namespace) -> int:
    import os

    from ..errors import ServerNotRunning, UsageError
    from ..journal_view import read_lines
    from ..server.logfile import KEEP
    from ..server.service import log_path, running
    from ..terminal import visible_text

    if args.lines is not None and args.lines < 0:
        raise UsageError(f"--lines must be 0 or more, not {args.lines}")
    tmux = tmux_of(args)
    found = running(tmux)
    path = found.info.log if found and found.info and found.info.log else log_path(tmux)
    if not os.path.isfile(path) and not args.follow:
        raise ServerNotRunning(f"no server log at {path} (a foreground 'tmms server' logs to its stderr)")
    history: deque[str] = deque(maxlen=args.lines if args.lines is not None else None)
    if args.lines != 0:
        for old in [f"{path}.{i}" for i in range(KEEP, 0, -1)] + ([] if args.follow else [path]):
            history.extend(read_lines(old))
    if not args.follow:
        sys.stdout.write(visible_text("".join(history)))
        return ExitCode.OK
    return _follow(path, history)


def _follow(path: str, history: deque[str]) -> int:
    from ..journal_view import follow_lines
    from ..terminal import visible_text

    live = False

    def caught_up() -> None:
        nonlocal live
        live = True
        sys.stdout.write(visible_text("".join(history)))
        sys.stdout.flush()

    for line in follow_lines(path, caught_up=caught_up):
        if live:
            sys.stdout.write(visible_text(line))
            sys.stdout.flush()
        else:
            history.append(line)
    return ExitCode.OK


# -- the server in the foreground ---------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    import logging
    import os
    import signal

    # until the server installs its own handlers, SIGTERM ends it like SIGINT: one line, exit 130
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    from .. import config as config_mod
    from ..privacy import tighten_own_folders
    from ..server.loop import Server
    from ..server.service import preflight

    cfg = config_mod.load(args.config)
    tmux = tmux_of(args)
    preflight(tmux)  # no tmux server, no tmux, an unsafe runtime folder, a server running: one line
    log_file = os.path.abspath(args.log_file) if args.log_file else None
    _setup_logging(args.quiet, log_file)
    log = logging.getLogger("tmms")
    for warning in cfg.warnings:
        log.warning(warning)
    if cfg.source is None:
        log.info("no config file found (%s); using built-in defaults", ", ".join(config_mod.DISCOVERY))
    tighten_own_folders(cfg.dead_letter_dir, tmux.env)
    server = Server(tmux, cfg)
    server.log_path = log_file
    server.install_signal_handlers()
    counters = server.run()
    log.info("stopped: %d delivered, %d dead-lettered, %d notified", counters.delivered, counters.dead,
             counters.notified)
    return ExitCode.OK


def _setup_logging(quiet: bool, log_file: str | None = None) -> None:
    import logging

    handler: logging.Handler
    if log_file:
        from ..server.logfile import LogFile

        handler = LogFile(log_file, redirect=True)
    else:
        handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s.%(msecs)03dZ tmms %(levelname)s %(message)s",
                                  datefmt="%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_visible_record)
    root = logging.getLogger("tmms")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    root.propagate = False


def _visible_record(record: logging.LogRecord) -> bool:
    """A log filter: the message on one line and a traceback with every control character shown visibly."""
    import logging

    from ..terminal import visible, visible_text

    record.msg, record.args = visible(record.getMessage()), None
    if record.exc_info and not record.exc_text:
        record.exc_text = visible_text(logging.Formatter().formatException(record.exc_info))
    return True

"""Pane commands: register, unregister, whoami, peers, bind, ui, alert."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from .common import JSON, PANE, ExitCode, Spec, arg, one_line, say, tmux_of, warn
from .output import COLOR

if TYPE_CHECKING:
    from ..tmux import Tmux

PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("register", "cmd_register", "make this pane a mailbox, in one command",
         "Set every @tmms_* option on this pane (or PANE), create its inbox and outbox (under "
         "$XDG_DATA_HOME/tmms/mail/NAME unless given), write the default config if there is "
         "none, and start the tmms server for this tmux server if none runs. Refuses a name "
         "that another live pane holds. Marks the pane as an agent's (@tmms_agent KIND): --agent KIND, "
         "or the agent CLI found running in the pane (a kind set with --agent is kept until --agent "
         "is given again).",
         """\
  tmms register agent-alpha
  tmms register reviewer --group reviewers --reply-to lead
  tmms register worker-1 --pane %3 --notify 'echo "mail: ${{tmms_subject}}"'
  tmms register reviewer --set-groups reviewers,leads   # replace the pane's groups
  tmms register beta --inbox ~/tmms/beta/inbox --outbox ~/tmms/beta/outbox --no-server
  tmms register coder --agent codex
  tmms register notes --agent none      # not an agent pane, whatever runs in it
""",
         (arg("name", metavar="NAME", help="the address other panes post to"),
          arg("--pane", dest="target", metavar="PANE", help="the pane to register (default: this pane)"),
          arg("-t", "--target", dest="target", help=argparse.SUPPRESS),  # TMMS-era spelling, kept hidden
          arg("--notify", metavar="CMD", help="@tmms_notify_cmd (default: keep the pane's, else 'tmms alert')"),
          arg("--reply-to", metavar="NAME", help="@tmms_reply_to: default recipient of post"),
          arg("--group", action="append", metavar="GROUP", help="join a group, keeping the pane's others "
              "(repeatable; post -t @GROUP)"),
          arg("--set-groups", metavar="GROUPS", help="replace the pane's groups (comma-separated; '' for none)"),
          arg("--inbox", metavar="DIR", help="inbox folder (default: under $XDG_DATA_HOME/tmms/mail/NAME)"),
          arg("--outbox", metavar="DIR", help="outbox folder"),
          arg("--agent", metavar="KIND", help="@tmms_agent: claude, codex, gemini, aider, opencode, a kind of "
              "~/.config/tmms/agents.yml, or none (default: keep one set with --agent, else detect)"),
          arg("--no-server", action="store_true", help="do not start a tmms server"), JSON)),
    Spec("unregister", "cmd_unregister", "stop this pane being a mailbox",
         "Remove the @tmms_* options from this pane (or PANE), its agent kind too. Its folders and mail stay.",
         """\
  tmms unregister
  tmms unregister --pane %3
""",
         (arg("--pane", dest="target", metavar="PANE", help="the pane (default: this pane)"),
          arg("-t", "--target", dest="target", help=argparse.SUPPRESS))),
    Spec("whoami", "cmd_whoami", "this pane's mailbox",
         "Print this pane's name, folders, notify command, groups and unread count.",
         """\
  tmms whoami
  tmms whoami --json
""", (PANE, JSON)),
    Spec("peers", "cmd_peers", "every registered pane",
         "List the registered panes of this tmux server with column headers, fitted to the terminal's "
         "width: name, pane id, session:window.pane, unread count, agent kind and state, groups; and "
         "whether the tmms server runs. --json prints an array of panes (the server's facts: whoami --json).",
         """\
  tmms peers
  tmms peers --color never
  tmms -L pipeline1 peers --json
  tmms peers --hosts              # links to other hosts: up or down, queued, last error, round trip
""", (COLOR, JSON, arg("--hosts", action="store_true",
                        help="the links to other hosts (name@host mail): state, queued, last error, round trip"))),
    Spec("bind", "cmd_bind", "tmux key bindings for the mailbox, the unread count in the status line",
         "Print the tmux key binding that opens the mailbox of the current pane in a popup "
         "(prefix+M by default; tmux 3.2 or later). --install adds it to the running tmux server; "
         "to keep it, add the printed line to ~/.tmux.conf. With --status, the same for the status "
         "line: '[tmms N] ' (the active pane's @tmms_unread, when not 0) in front of the global "
         "status-right, which is kept; installing twice adds it once; --uninstall --status takes it out.",
         """\
  tmms bind >> ~/.tmux.conf
  tmms bind --install
  tmms bind --key m --install
  tmms bind --install --status
  tmms bind --uninstall --status
""",
         (arg("--key", default="M", help="the key after the prefix (default: M)"),
          arg("--install", action="store_true", help="bind it in the running tmux server now"),
          arg("--uninstall", action="store_true", help="with --status: take the unread count out of the status line"),
          arg("--status", action="store_true", help="the unread count in the status line instead of the key"))),
    Spec("ui", "cmd_ui", "browse the mailbox interactively",
         "The full-screen mailbox for a terminal or a tmux popup (Textual): a live list, a reader, reply "
         "and compose in $EDITOR, thread, search, archive, mark unread, and the live traffic of this tmux "
         "server. Press ? in it for the keys. Needs a terminal (exit 2 without one).",
         """\
  tmms ui
  tmms ui --pane %3      # what prefix+M runs (see tmms bind)
""", (PANE,)),
    Spec("alert", "cmd_alert", "show new mail in this pane (the default notify command)",
         "Show 'mail for NAME (session:window.pane) from X: subject' in the status line of the pane's clients "
         "for alert_seconds (config, default 4; the server passes it as $TMMS_ALERT_SECONDS) and set the "
         "pane option @tmms_unread to the unread count (use #{@tmms_unread} in status lines, or "
         "'tmms bind --install --status'). Run by the server as the notify command of panes registered "
         "without --notify.",
         """\
  tmms alert ~/.local/share/tmms/mail/alpha/inbox/20261122-143005_b_to_alpha_1a2b3c4d.md
""",
         (arg("path", metavar="FILE", help="the delivered message"),)),
)}
"""The parser of each pane command, declared."""


def cmd_register(args: argparse.Namespace) -> int:
    from ..api import register

    done = register(tmux_of(args), args.name, target=args.target, notify=args.notify, reply_to=args.reply_to,
                    groups=args.group, inbox=args.inbox, outbox=args.outbox, start_server=not args.no_server,
                    agent=args.agent, set_groups=None if args.set_groups is None else [args.set_groups])
    reg, pid = done.registration, done.server_pid
    if reg.detected is not None:
        print(one_line(f"register: pane {reg.pane_id} runs {reg.agent} (process {reg.detected.pid} "
                       f"'{reg.detected.name}'); set @tmms_agent {reg.agent}"), file=sys.stderr)
    elif reg.agent_dropped:
        print(one_line(f"register: pane {reg.pane_id} no longer runs {reg.agent_dropped}; unset @tmms_agent"),
              file=sys.stderr)
    if args.json:
        from ..views import to_json

        say(to_json({"name": reg.name, "pane_id": reg.pane_id, "location": reg.location, "inbox": reg.inbox,
                     "outbox": reg.outbox, "notify_cmd": reg.notify_cmd, "reply_to": reg.reply_to,
                     "groups": list(reg.groups), "created": list(reg.created), "config_written": done.config_written,
                     "agent": reg.agent, "agent_source": reg.agent_source,
                     "server_pid": pid, "server_started": done.server_started}))
        return ExitCode.OK
    say(one_line(f"registered '{reg.name}' on pane {reg.pane_id} ({reg.location})"))
    say(one_line(f"  inbox   {reg.inbox}"))
    say(one_line(f"  outbox  {reg.outbox}"))
    if reg.groups:
        say(one_line(f"  groups  {', '.join(reg.groups)}"))
    if reg.agent:
        how = {"detected": " (detected)", "kept": " (kept)"}.get(reg.agent_source, "")
        say(one_line(f"  agent   {reg.agent}{how}"))
    if done.config_written:
        say(one_line(f"  config  {done.config_written} (written with the defaults)"))
    if pid is None:
        say("  server  not running (--no-server): start one with 'tmms server &'")
    else:
        say(f"  server  {'started' if done.server_started else 'running'}, pid {pid}")
    return ExitCode.OK


def cmd_unregister(args: argparse.Namespace) -> int:
    from ..api import unregister

    name, pane_id = unregister(tmux_of(args), args.target)
    if name:
        say(one_line(f"unregistered '{name}' from pane {pane_id}; its folders and mail are kept"))
    else:
        warn(f"pane {pane_id} was not registered; nothing to do")
    return ExitCode.OK


def cmd_whoami(args: argparse.Namespace) -> int:
    from .. import api

    tmux = tmux_of(args)
    me = api.whoami(api.here(tmux, args.pane))
    info: dict[str, Any] = {**me.info._asdict(), "server_pid": me.server_pid}
    if args.json:
        from dataclasses import asdict

        from ..server.service import running
        from ..views import to_json

        found = running(tmux) if me.server_pid else None
        say(to_json({**info, "server": asdict(found.info) if found and found.info else None}))
        return ExitCode.OK
    say(one_line(f"{info['name']} on pane {info['pane_id']} ({info['location']}): {info['unread']} unread"))
    for key in ("inbox", "outbox", "notify_cmd", "reply_to", "groups", "agent", "state", "doorbell"):
        value = info[key]
        if value:
            say(one_line(f"  {key:<10} {', '.join(value) if isinstance(value, list) else value}"))
    pid = info["server_pid"]
    say(f"  server     {'running, pid ' + str(pid) if pid else 'not running'}")
    return ExitCode.OK


def cmd_peers(args: argparse.Namespace) -> int:
    from ..api import peers as list_peers
    from .output import use_color, width

    tmux = tmux_of(args)
    if args.hosts:
        return _host_links(tmux, args.json)
    found, boxes = list_peers(tmux)
    pid = found.pid if found else None
    peers = [box._asdict() for box in boxes]
    if args.json:  # an array of panes; the server's facts are in 'whoami --json' and 'server status --json'
        from ..views import to_json

        say(to_json(peers))
        return ExitCode.OK
    say(one_line(f"tmms server: {'running, pid ' + str(pid) if pid else 'not running'} ({tmux.socket_path})"))
    if found and found.info and found.info.watch != "file events":
        say(one_line(f"  warning: new mail is found by {found.info.watch}"))  # the scan only, for some folders
    if not peers:
        say("no registered panes")
        return ExitCode.OK
    say("\n".join(_peer_lines(peers, width(), use_color(args.color))))
    return ExitCode.OK


def _host_links(tmux: Tmux, as_json: bool) -> int:
    """``tmms peers --hosts``: one line per remote host."""
    import time

    from ..api import host_links

    links = host_links(tmux)
    if as_json:
        from ..views import to_json

        say(to_json([link._asdict() for link in links]))
        return ExitCode.OK
    if not links:
        say("no links to other hosts (mail to name@host starts one)")
        return ExitCode.OK
    say(f"{'HOST':<24} {'LINK':<10} {'QUEUED':>6} {'RTT':>9}  {'SINCE':<8}  LAST ERROR")
    for link in links:
        since = time.strftime("%H:%M:%S", time.localtime(link.since)) if link.since else "-"
        rtt = f"{link.rtt_ms} ms" if link.rtt_ms else "-"
        line = f"{link.host[:24]:<24} {link.state:<10} {link.queued:>6} {rtt:>9}  {since:<8}  {link.error or '-'}"
        say(one_line(line))
    return ExitCode.OK


def _peer_lines(peers: list[dict[str, Any]], columns: int | None, color: bool) -> list[str]:
    """The panes as a list with column headers; a waiting doorbell on a line of its own below its pane."""
    from ..table import Column, cut, render
    from ..terminal import visible

    heads = [Column("NAME", most=24, style="name"), Column("PANE", style="id"), Column("WHERE", most=24),
             Column("UNREAD", ">"), Column("AGENT", most=24), Column("GROUPS", flex=True)]
    rows = [[visible(p["name"]), visible(p["pane_id"]), visible(p["location"]), str(p["unread"]),
             visible(f"{p['agent']} ({p['state']})" if p["agent"] else "-"), visible(",".join(p["groups"]) or "-")]
            for p in peers]
    table = render(heads, rows, columns, color)
    lines = table[:1]
    for peer, line in zip(peers, table[1:], strict=True):
        lines.append(line)
        if peer["doorbell"]:
            note = visible(f"    doorbell waiting ({peer['state_reason']}): {peer['doorbell']}")
            lines.append(cut(note, columns) if columns else note)
    return lines


def cmd_bind(args: argparse.Namespace) -> int:
    from ..errors import TmuxCommandError, UsageError
    from ..keys import config_lines, popup_binding

    if args.install and args.uninstall:
        raise UsageError("give --install or --uninstall, not both")
    if args.status:
        return _bind_status(args)
    if args.uninstall:
        raise UsageError("--uninstall takes the unread count out of the status line: add --status")
    binding = popup_binding(args.key)
    if args.install:
        tmux = tmux_of(args)
        try:
            tmux.run(binding)
        except TmuxCommandError as exc:
            if "unknown key" in exc.stderr:
                raise UsageError(f"--key: tmux knows no key '{args.key}' (such as M, m, C-m, F5)") from None
            raise
        say(one_line(f"bound prefix+{args.key} on {tmux.socket_path}; to keep it, add this to ~/.tmux.conf:"))
    sys.stdout.write("".join(one_line(line) + "\n" for line in config_lines([binding]).splitlines()))
    return ExitCode.OK


def _bind_status(args: argparse.Namespace) -> int:
    """The unread count in the global status-right: installed, taken out, or the line for ~/.tmux.conf printed."""
    from ..keys import config_lines, status_binding, with_status, without_status

    tmux = tmux_of(args)
    current = tmux.run(["show-options", "-gv", "status-right"]).removesuffix("\n")
    wanted = without_status(current) if args.uninstall else with_status(current)
    if args.install or args.uninstall:
        if wanted != current:
            tmux.run(status_binding(wanted))
        done = {(True, True): "took the unread count out of", (True, False): "the unread count was not in",
                (False, True): "added the unread count to", (False, False): "the unread count is already in"}
        say(one_line(f"{done[(args.uninstall, wanted != current)]} status-right on {tmux.socket_path}; "
                     "to keep it, put this in ~/.tmux.conf:"))
    sys.stdout.write("".join(one_line(line) + "\n" for line in config_lines([status_binding(wanted)]).splitlines()))
    return ExitCode.OK


def cmd_ui(args: argparse.Namespace) -> int:
    from ..errors import TmmsError
    from .ui import browse

    try:
        return browse(tmux_of(args), args.pane)
    except TmmsError as exc:
        if not sys.stdin.isatty():
            raise
        # in a popup (prefix+M in a pane that is not registered) the error must stay readable
        print(one_line(f"tmms: error: {exc}"), file=sys.stderr)
        print("press Enter to close", file=sys.stderr)
        sys.stdin.readline()
        return exc.exit_code


def cmd_alert(args: argparse.Namespace) -> int:
    from ..alert import alert, alert_seconds

    tmux = tmux_of(args)
    alert(tmux, os.path.abspath(args.path), tmux.current_pane_id(), alert_seconds(os.environ))
    return ExitCode.OK

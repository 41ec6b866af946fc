"""The mcp command: serve this pane's mailbox as MCP tools over stdio (needs the ``mcp`` extra)."""

from __future__ import annotations

import argparse
import os
import sys

from .common import ExitCode, Spec, arg, tmux_of, warn

PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("mcp", "cmd_mcp", "serve the mailbox as MCP tools (stdio), for agent CLIs",
         "Serve MCP over stdin/stdout for an agent CLI that launches it (Claude Code, Codex, Gemini "
         "CLI): tools whoami, peers, register, send, inbox, read, reply, wait, ask, thread, status, "
         "dead, and the resource tmms://inbox (subscribe: notifications/resources/updated on new "
         "mail). The mailbox is the pane the server runs in ($TMUX_PANE and $TMUX), or --name. "
         "wait and ask block at most 50 s a call. --channel also declares Claude Code's "
         "experimental claude/channel capability and sends notifications/claude/channel on new "
         "mail (claude needs --dangerously-load-development-channels). Needs the mcp extra: "
         "pip install 'tmms[mcp]' (exit code 3 without it).",
         """\
  claude mcp add -s user tmms -- tmms mcp
  codex mcp add tmms -- tmms mcp      # then env_vars = ["TMUX", "TMUX_PANE"] in config.toml
  tmms mcp --name reviewer           # act as the pane registered as 'reviewer'
  tmms mcp --channel                 # push new mail into a Claude Code session
""", (arg("--name", metavar="NAME", help="act for the pane registered as NAME (default: $TMUX_PANE)"),
      arg("--channel", action="store_true",
          help="declare claude/channel and send notifications/claude/channel on new mail (experimental)"))),
)}

INSTALL_HINT = "tmms mcp needs the MCP SDK: pip install 'tmms[mcp]'"


def cmd_mcp(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    if find_spec("mcp") is None or find_spec("mcp.server") is None:
        warn(f"error: {INSTALL_HINT}")
        return ExitCode.CONFIG
    import anyio

    from ..mcp_server import serve
    from ..mcp_tools import Identity

    anyio.run(serve, Identity(tmux_of(args), args.name), args.channel)
    # The client closed stdin. A wait still blocked on a worker thread (it takes no message) would hold
    # the process for up to its 50 s: leave now, as the client expects.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(ExitCode.OK)

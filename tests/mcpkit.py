"""Helpers for the ``tmms mcp`` tests and bench: a real ``tmms mcp`` process per identity, driven by the SDK client."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.client import ClientExtension, NotificationBinding
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict

from conftest import Pane, TmuxServer


def pane_env(server: TmuxServer, pane_id: str) -> dict[str, str]:
    """The environment of a process in ``pane_id``: $TMUX (socket,pid,session) and $TMUX_PANE as tmux sets them."""
    env = server.env(pane_id)
    env["TMUX"] = server.tmux("display-message", "-p", "-t", pane_id, "#{socket_path},#{pid},#{session_id}").strip()
    env["TMUX"] = env["TMUX"].replace(",$", ",")  # tmux gives the session id as $0; $TMUX carries the number
    return env


def mcp_argv(*extra: str) -> list[str]:
    """``tmms mcp`` as the test runs it: this interpreter, the package's module."""
    return [sys.executable, "-m", "tmms", "mcp", *extra]


class ChannelParams(BaseModel):
    """notifications/claude/channel params, exactly: nothing else is allowed."""

    model_config = ConfigDict(extra="forbid")
    content: str
    meta: dict[str, str]


class ChannelWatch(ClientExtension):
    """Collects Claude Code channel notifications (the SDK client drops unknown methods unless bound)."""

    identifier = "dev.tmms.test/channel"

    def __init__(self) -> None:
        self.seen: list[ChannelParams] = []

    def notifications(self) -> list[NotificationBinding[Any]]:
        async def got(params: ChannelParams) -> None:
            self.seen.append(params)

        return [NotificationBinding(method="notifications/claude/channel", params_type=ChannelParams, handler=got)]


@asynccontextmanager
async def agent(server: TmuxServer, pane_id: str, *extra: str, env: dict[str, str] | None = None,
                **options: Any) -> AsyncIterator[Client]:
    """An SDK client on a ``tmms mcp`` that runs as if inside ``pane_id`` (by default in the handshake era, as the
    agent CLIs speak; ``mode="auto"``: the 2026-07-28 protocol)."""
    params = StdioServerParameters(command=sys.executable, args=mcp_argv(*extra)[1:],
                                   env=env if env is not None else pane_env(server, pane_id))
    options.setdefault("mode", "legacy")
    async with Client(params, **options) as client:
        yield client


@asynccontextmanager
async def both(server: TmuxServer, panes: tuple[Pane, Pane], guard: float = 20) -> AsyncIterator[tuple[Client, Client]]:
    """Clients for two panes' servers; ``guard`` seconds for all of it, so that a broken build fails, never hangs."""
    with anyio.fail_after(guard):
        async with agent(server, panes[0].pane_id) as first, agent(server, panes[1].pane_id) as second:
            yield first, second


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured result; fails the test on a tool error."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def failure(client: Client, tool: str, **arguments: Any) -> str:
    """The one line of a tool error (``is_error``)."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result
    line = text_of(result)
    assert "\n" not in line
    return line


def text_of(result: CallToolResult) -> str:
    """The text content of a tool result."""
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


class RawSession:
    """``tmms mcp`` over a plain pipe: JSON-RPC lines in and out, to see exactly what is on the wire."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env)
        self.next_id = 0

    def send(self, message: dict[str, Any] | str) -> None:
        line = message if isinstance(message, str) else json.dumps(message)
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "tmms mcp closed its stdout"
        message: dict[str, Any] = json.loads(line)
        return message

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request; the response to it (notifications before it are skipped)."""
        self.next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        while True:
            answer = self.receive()
            if answer.get("id") == self.next_id:
                return answer

    def initialize(self) -> dict[str, Any]:
        """The handshake, as an agent CLI does it; the initialize result."""
        result = self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                             "clientInfo": {"name": "raw", "version": "0"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    def close(self) -> None:
        """Close stdin, as a client does when it leaves; tmms mcp must end by itself."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("tmms mcp did not end within 10 s of its stdin closing") from None
        finally:
            self.proc.stdout.close()

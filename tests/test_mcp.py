"""``tmms mcp`` end to end: real ``tmms mcp`` processes in panes of a real tmux server, a real tmms server,
driven by the MCP SDK's own stdio client (and, for the exact bytes, a plain JSON-RPC pipe)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import ResourceUpdatedNotification, TextResourceContents

from conftest import REPO, Pane, TmuxServer
from mcpkit import ChannelWatch, RawSession, agent, both, call, failure, mcp_argv, pane_env

pytestmark = pytest.mark.anyio

TOOLS = {"whoami", "peers", "register", "send", "inbox", "read", "reply", "wait", "ask", "thread", "status", "dead"}
GUARD = 20  # seconds: only so that a broken build fails instead of hanging; nothing is timed


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def pair(tmux_server: TmuxServer) -> tuple[Pane, Pane]:
    """Two registered panes, alpha and beta, and a tmms server delivering between them."""
    alpha, beta = tmux_server.register("alpha"), tmux_server.register("beta")
    tmux_server.start_server()
    return alpha, beta


# -- the tool set --------------------------------------------------------------------------------


async def test_the_tools_publish_typed_inputs_and_outputs(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    async with agent(tmux_server, alpha.pane_id) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.description and tool.output_schema, tool.name
            assert tool.input_schema["type"] == "object"
        send = tools["send"].input_schema
        assert send["required"] == ["to", "subject", "body"] and "thread" in send["properties"]
        wait = tools["wait"].input_schema["properties"]
        assert set(wait) == {"from", "thread", "timeout_s"} and "at most 50" in wait["timeout_s"]["description"]
        assert set((tools["wait"].output_schema or {})["required"]) == {"timed_out", "message"}
        assert tools["read"].input_schema["required"] == ["id"]
        assert "body" in (tools["read"].output_schema or {})["properties"]
        assert tools["register"].input_schema["required"] == ["name"]
        assert tools["inbox"].annotations is not None and tools["inbox"].annotations.read_only_hint
        capabilities = client.server_capabilities
        assert capabilities.resources is not None and capabilities.resources.subscribe
        assert not capabilities.experimental and "<channel" not in (client.instructions or "")
        assert "wait blocks until mail comes (at most 50 s a call" in (client.instructions or "")
        resources = (await client.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["tmms://inbox"]
        me = await call(client, "whoami")
        assert (me["name"], me["pane_id"], me["server_running"]) == ("alpha", alpha.pane_id, True)
        names = sorted(p["name"] for p in (await call(client, "peers"))["peers"])
        assert names == ["alpha", "beta"]


# -- conversations -------------------------------------------------------------------------------


async def test_send_then_the_other_identity_waits_reads_replies_and_the_thread_holds_both(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    async with both(tmux_server, pair) as (a, b):
        sent = await call(a, "send", to="beta", subject="Build", body="Is *main* green?")
        assert sent["to"] == ["beta"] and len(sent["ids"]) == 1
        got = await call(b, "wait", **{"from": "alpha", "timeout_s": GUARD})
        assert got["timed_out"] is False
        message = got["message"]
        assert (message["id"], message["from"], message["subject"]) == (sent["ids"][0], "alpha", "Build")
        assert message["body"].strip() == "Is *main* green?" and message["folder"] == "read"
        assert (await call(b, "inbox"))["count"] == 0
        answered = await call(b, "reply", id=message["id"][:8], body="Yes, all green.")
        back = await call(a, "wait", thread=sent["ids"][0][:8], timeout_s=GUARD)
        assert back["message"]["id"] == answered["ids"][0]
        assert back["message"]["subject"] == "Re: Build" and back["message"]["thread_id"] == sent["ids"][0]
        conversation = (await call(a, "thread", id=sent["ids"][0]))["messages"]
        assert [m["from"] for m in conversation] == ["alpha", "beta"]
        assert [m["body"].strip() for m in conversation] == ["Is *main* green?", "Yes, all green."]
        status = await call(a, "status", id=sent["ids"][0])
        assert status["state"] == "read" and status["id"] == sent["ids"][0]


async def test_read_keep_leaves_the_message_unread_and_inbox_lists_it(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    async with both(tmux_server, pair) as (a, b):
        sent = await call(a, "send", to="beta", subject="Note", body="one")
        await call(b, "wait", **{"from": "alpha", "timeout_s": GUARD})
        again = await call(a, "send", to="beta", subject="Note 2", body="two")
        listed = await anyio.to_thread.run_sync(_wait_for_unread, pair[1], 1)
        assert listed == 1
        kept = await call(b, "read", id=again["ids"][0], keep=True)
        assert kept["folder"] == "inbox" and kept["body"].strip() == "two"
        inbox = await call(b, "inbox", include_read=True)
        assert [m["id"] for m in inbox["messages"]] == [again["ids"][0], sent["ids"][0]]


def _wait_for_unread(pane: Pane, count: int) -> int:
    from conftest import messages, wait_until

    return len(wait_until(lambda: messages(pane.inbox) if len(messages(pane.inbox)) >= count else []))


async def test_ask_returns_the_reply_of_a_scripted_replier(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    async with both(tmux_server, pair) as (a, b):

        async def replier() -> None:
            question = (await call(b, "wait", **{"from": "alpha", "timeout_s": GUARD}))["message"]
            await call(b, "reply", id=question["id"], body=f"Answer to: {question['subject']}")

        async with anyio.create_task_group() as group:
            group.start_soon(replier)
            asked = await call(a, "ask", to="beta", subject="Review PR 7", body="please", timeout_s=GUARD)
        assert asked["timed_out"] is False and asked["missing"] == []
        assert [r["body"].strip() for r in asked["replies"]] == ["Answer to: Review PR 7"]
        assert asked["replies"][0]["thread_id"] == asked["thread_id"] == asked["ids"][0]


async def test_a_wait_with_nothing_coming_times_out_as_a_result(tmux_server: TmuxServer,
                                                                pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    with anyio.fail_after(GUARD):
        async with agent(tmux_server, alpha.pane_id) as a:
            result = await call(a, "wait", **{"from": "beta", "timeout_s": 0.2})
            assert result == {"timed_out": True, "message": None}
            asked = await call(a, "ask", to="beta", subject="Anyone?", body="?", timeout_s=0.2)
            assert asked["timed_out"] is True and asked["missing"] == ["beta"] and asked["replies"] == []


async def test_a_blocked_wait_leaves_the_server_answering_and_a_cancelled_one_takes_nothing(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    async with both(tmux_server, pair) as (a, b):
        got: list[dict[str, Any]] = []

        async def waiting() -> None:
            got.append(await call(b, "wait", **{"from": "alpha", "timeout_s": GUARD}))

        async with anyio.create_task_group() as group:
            group.start_soon(waiting)
            assert (await call(b, "whoami"))["name"] == "beta"  # answered while the wait blocks
            assert (await call(b, "inbox"))["count"] == 0
            await call(a, "send", to="beta", subject="Release", body="go")
        assert got[0]["message"]["subject"] == "Release"
        with anyio.move_on_after(0.3):  # the client gives up: notifications/cancelled
            await b.call_tool("wait", {"from": "alpha", "timeout_s": GUARD})
        sent = await call(a, "send", to="beta", subject="After", body="later")
        await anyio.to_thread.run_sync(_wait_for_unread, pair[1], 1)
        inbox = await call(b, "inbox")
        assert [m["id"] for m in inbox["messages"]] == sent["ids"]  # the cancelled wait took nothing


def test_wait_and_ask_are_capped_below_codexs_tool_timeout() -> None:
    from tmms.mcp_tools import WAIT_CAP, capped

    assert WAIT_CAP < 60
    assert capped(3600) == WAIT_CAP and capped(-1) == 0 and capped(2.5) == 2.5


async def test_register_makes_the_servers_own_pane_a_mailbox(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    tmux_server.start_server()  # register starts one when none runs; test_api covers that
    with anyio.fail_after(GUARD):
        async with agent(tmux_server, pane) as client:
            line = await failure(client, "whoami")
            assert f"this pane ({pane}) is not a tmms mailbox" in line
            assert "call the register tool" in line and "tmms register NAME --agent KIND" in line
            line = await failure(client, "register", name="gamma", agent="no-such-kind")
            assert "no-such-kind" in line
            done = await call(client, "register", name="gamma", group="reviewers", agent="claude")
            assert (done["name"], done["pane_id"], done["server_started"]) == ("gamma", pane, False)
            me = await call(client, "whoami")
            assert (me["name"], me["groups"]) == ("gamma", ["reviewers"])
    assert tmux_server.tmux("show-options", "-pqv", "-t", pane, "@tmms_name").strip() == "gamma"
    assert tmux_server.tmux("show-options", "-pqv", "-t", pane, "@tmms_agent").strip() == "claude"


async def test_name_chooses_the_identity_outside_its_pane(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    _, beta = pair
    env = tmux_server.env()
    env["TMUX"] = pane_env(tmux_server, beta.pane_id)["TMUX"]
    with anyio.fail_after(GUARD):
        async with agent(tmux_server, "", "--name", "beta", env=env) as client:
            assert (await call(client, "whoami"))["pane_id"] == beta.pane_id
        async with agent(tmux_server, "", "--name", "nobody", env=env) as client:
            line = await failure(client, "inbox")
            assert "no pane is registered as 'nobody'" in line and "tmms register NAME --agent KIND" in line


# -- errors --------------------------------------------------------------------------------------


async def test_every_error_is_a_one_line_tool_error_and_the_server_keeps_serving(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    _put_message(alpha.inbox, "abc00001-0000-4000-8000-000000000001")
    _put_message(alpha.inbox, "abc00002-0000-4000-8000-000000000002")
    with anyio.fail_after(GUARD):
        async with agent(tmux_server, alpha.pane_id) as a:
            line = await failure(a, "send", to="nobody", subject="s", body="b")
            assert "no pane is registered as 'nobody'" in line and "call peers" in line
            line = await failure(a, "send", to="@nogroup", subject="s", body="b")
            assert "group '@nogroup' has no members" in line and "call peers" in line
            line = await failure(a, "read", id="ffffffff")
            assert "no message matches 'ffffffff'" in line and "call inbox" in line
            line = await failure(a, "read", id="abc0")
            assert "'abc0' matches 2 messages" in line and "give more of the id" in line
            line = await failure(a, "reply", id="abc0", body="x")
            assert "matches 2 messages" in line
            line = await failure(a, "status", id="ffffffff")
            assert "no message matches" in line
            assert (await call(a, "read", id="abc00001"))["id"].startswith("abc00001")
            line = await failure(a, "register", name="bad name!")
            assert "cannot be a mailbox name" in line
            assert (await call(a, "whoami"))["name"] == "alpha"  # still serving


def _put_message(inbox: Path, message_id: str) -> None:
    """A message file with a chosen id, as a sender would leave it."""
    from tmms.message import compose

    composed = compose("hello", "beta", "alpha", "chosen id", message_id=message_id)
    (inbox / composed.file_name).write_text(composed.text)


async def test_without_a_tmms_server_sending_says_how_to_start_one(tmux_server: TmuxServer) -> None:
    alpha, _ = tmux_server.register("alpha"), tmux_server.register("beta")
    with anyio.fail_after(GUARD):
        async with agent(tmux_server, alpha.pane_id) as a:
            line = await failure(a, "send", to="beta", subject="s", body="b")
            assert "no tmms server runs" in line and "mail would wait in the outbox" in line and "tmms server" in line
            line = await failure(a, "wait", timeout_s=1)
            assert "no tmms server runs" in line and "no mail would come" in line
            assert (await call(a, "whoami"))["server_running"] is False
    assert list(alpha.outbox.glob("*.md")) == []


async def test_outside_tmux_the_error_says_how_to_give_the_pane(tmux_server: TmuxServer) -> None:
    env = tmux_server.env()
    with anyio.fail_after(GUARD):
        async with agent(tmux_server, "", env=env) as client:
            line = await failure(client, "inbox")
            assert "$TMUX_PANE is not set" in line and "--name NAME" in line


def test_a_malformed_request_gets_a_protocol_error(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    raw = RawSession(mcp_argv(), pane_env(tmux_server, alpha.pane_id))
    try:
        raw.initialize()
        assert raw.request("tools/frobnicate")["error"]["code"] == -32601
        assert raw.request("tools/call", {"arguments": {}})["error"]["code"] == -32602
        raw.send("{not json")  # the SDK drops a line that is not JSON-RPC (no id to answer); the server goes on
        bad = raw.request("tools/call", {"name": "read", "arguments": {"id": 7}})  # a wrong type: the model can fix it
        assert bad["result"]["isError"] is True
        ok = raw.request("tools/call", {"name": "whoami", "arguments": {}})
        assert ok["result"]["structuredContent"]["name"] == "alpha"
    finally:
        raw.close()


def test_the_server_ends_when_the_client_closes_even_while_a_wait_blocks(tmux_server: TmuxServer,
                                                                        pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    raw = RawSession(mcp_argv(), pane_env(tmux_server, alpha.pane_id))
    raw.initialize()
    raw.send({"jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": {"name": "wait",
                                                                              "arguments": {"timeout_s": 50}}})
    assert raw.request("ping")["result"] == {}  # the wait is running
    raw.close()  # closes stdin, then waits for the exit (and would kill it after 10 s)
    assert raw.proc.returncode == 0


async def test_a_protocol_error_reaches_the_sdk_client_as_mcperror(tmux_server: TmuxServer,
                                                                  pair: tuple[Pane, Pane]) -> None:
    alpha, _ = pair
    async with agent(tmux_server, alpha.pane_id) as client:
        with pytest.raises(MCPError):
            await client.read_resource("tmms://nothing")
        assert (await call(client, "whoami"))["name"] == "alpha"


# -- push ----------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:resources/subscribe is removed")  # the handshake era agent CLIs speak
async def test_a_subscribed_inbox_gets_resources_updated_on_new_mail(tmux_server: TmuxServer,
                                                                    pair: tuple[Pane, Pane]) -> None:
    alpha, beta = pair
    updated = anyio.Event()
    seen: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            seen.append(str(message.params.uri))
            updated.set()

    with anyio.fail_after(GUARD):
        async with agent(tmux_server, alpha.pane_id, message_handler=on_message) as a, \
                agent(tmux_server, beta.pane_id) as b:
            await a.subscribe_resource("tmms://inbox")
            sent = await call(b, "send", to="alpha", subject="Ping", body="ping")
            await updated.wait()
            assert seen[0] == "tmms://inbox"
            contents = (await a.read_resource("tmms://inbox")).contents
            import json

            assert isinstance(contents[0], TextResourceContents)
            listed = json.loads(contents[0].text)
            assert [m["id"] for m in listed["messages"]] == sent["ids"]


async def test_the_2026_protocol_serves_the_tools_and_listen_streams_the_inbox_updates(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, beta = pair
    with anyio.fail_after(GUARD):
        async with agent(tmux_server, alpha.pane_id, mode="auto") as a, agent(tmux_server, beta.pane_id) as b:
            assert a.protocol_version == "2026-07-28"
            assert (await call(a, "whoami"))["name"] == "alpha"
            async with a.listen(resource_subscriptions=["tmms://inbox"]) as events:
                await call(b, "send", to="alpha", subject="Modern", body="hi")
                async for event in events:
                    assert getattr(event, "uri", None) == "tmms://inbox"
                    break


async def test_channel_declares_the_capability_and_sends_the_exact_notification(
        tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, beta = pair
    watch = ChannelWatch()
    with anyio.fail_after(GUARD):
        async with agent(tmux_server, alpha.pane_id, "--channel", extensions=[watch]) as a, \
                agent(tmux_server, beta.pane_id) as b:
            assert a.server_capabilities.experimental == {"claude/channel": {}}
            sent = await call(b, "send", to="alpha", subject="Deploy", body="the body stays for read")
            while not watch.seen:
                await anyio.sleep(0.02)
    message_id = sent["ids"][0]
    assert watch.seen[0].meta == {"message_id": message_id, "sender": "beta", "subject": "Deploy",
                                  "thread_id": message_id}
    assert watch.seen[0].content == (f"New tmms mail from beta: Deploy (id {message_id[:8]}). Call the tmms read "
                                     "tool with this id to read it, and reply to answer.")


def test_the_channel_notification_on_the_wire(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, beta = pair
    raw = RawSession(mcp_argv("--channel"), pane_env(tmux_server, alpha.pane_id))
    try:
        init = raw.initialize()
        assert init["result"]["capabilities"]["experimental"] == {"claude/channel": {}}
        assert '<channel source="tmms">' in init["result"]["instructions"]
        raw.request("ping")  # the server has seen notifications/initialized by now
        posted = tmux_server.tmms("post", "-t", "alpha", "-s", "Wire", "--json", pane=beta.pane_id, input="x")
        import json

        message_id = json.loads(posted.stdout)[0]["id"]
        note = raw.receive()
    finally:
        raw.close()
    assert note == {"jsonrpc": "2.0", "method": "notifications/claude/channel", "params": {
        "content": f"New tmms mail from beta: Wire (id {message_id[:8]}). Call the tmms read tool with this id to "
                   "read it, and reply to answer.",
        "meta": {"message_id": message_id, "sender": "beta", "subject": "Wire", "thread_id": message_id}}}


# -- packaging -----------------------------------------------------------------------------------


def test_without_the_extra_it_says_how_to_install_it_in_one_line() -> None:
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": os.environ["PATH"], "HOME": os.environ["HOME"]}
    proc = subprocess.run([sys.executable, "-S", "-m", "tmms", "mcp"], capture_output=True, text=True, env=env,
                          timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr == "tmms: error: tmms mcp needs the MCP SDK: pip install 'tmms[mcp]'\n"


def test_nothing_on_the_post_path_imports_mcp() -> None:
    code = ("import sys, tmms.cli, tmms.cli.mail, tmms.cli.mcp, tmms.api, tmms.post\n"
            "from tmms.cli import build_parser\n"
            "build_parser('post'); build_parser('mcp')\n"
            "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'mcp_types', 'pydantic'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert proc.stdout.strip() == "[]"

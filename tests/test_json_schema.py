"""The JSON shapes of docs/json.md: the schemas are valid, every --json command has one, the check catches a wrong
shape, and one message with the author's own front matter has the one shape in every command that prints it.

Every --json output of the whole suite is checked too: tests/conftest.py (checked_json, as_json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, SCHEMAS, Pane, TmuxServer, as_json, check_json, json_schema_key, ok, schema_validator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def schema_files() -> list[Path]:
    return sorted(SCHEMAS.glob("*.json"))


def table() -> dict[str, str]:
    data = json.loads((SCHEMAS / "commands.json").read_text())
    return {k: v for k, v in data.items() if k != "title"}


@pytest.mark.parametrize("path", schema_files(), ids=lambda p: p.name)
def test_every_schema_is_a_valid_draft_2020_12_schema(path: Path) -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads(path.read_text())
    if path.name == "commands.json":
        assert all((SCHEMAS / file).is_file() for file in table().values())
        return
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"https://tmms.invalid/schema/{path.name}"


def json_commands() -> list[str]:
    """Every 'COMMAND' and 'COMMAND SUBCOMMAND' whose parser takes --json."""
    from tmms.cli import build_parser

    found: list[str] = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{prefix} {name}".strip())
        if any("--json" in action.option_strings for action in parser._actions) and prefix:
            found.append(prefix)

    walk(build_parser(), "")
    return found


def test_every_command_that_takes_json_has_a_schema() -> None:
    commands = json_commands()
    assert {"inbox", "read", "thread", "wait", "post", "reply", "ask", "search", "peers", "whoami", "dead",
            "status", "register"} <= set(commands)
    missing = [c for c in commands if c not in table() and c.split()[0] not in table()]
    assert missing == [], f"add these to docs/schema/commands.json and docs/json.md: {missing}"


@pytest.mark.parametrize("argv, key", [
    (["/usr/bin/python", "-m", "tmms", "-L", "sock", "dead", "show", "1a2b", "--json"], "dead show"),
    (["tmms", "-L", "sock", "dead", "--json"], "dead"),
    (["tmms", "dead", "-c", "/cfg.yml", "show", "1a2b", "--json"], "dead show"),
    (["tmms", "-S", "/x/y", "read", "1a2b", "--json"], "read"),
    (["tmms", "--socket-name=s", "server", "status", "--json"], "server status"),
    (["tmms", "inbox", "--from", "alpha", "--json"], "inbox"),
    (["tmms", "peers", "--hosts", "--json"], "peers --hosts"),
    (["tmms", "hook"], None),
    (["tmms"], None),
])
def test_the_schema_of_a_command_line(argv: list[str], key: str | None) -> None:
    assert json_schema_key(argv) == key


MESSAGE: dict[str, Any] = {
    "id": "i", "thread_id": "i", "in_reply_to": None, "from": "a", "to": "b", "recipients": ["b"], "subject": "",
    "created_at": "", "state": "unread", "folder": "inbox", "path": "/p", "front_matter": {}}


@pytest.mark.parametrize("argv, value, where", [
    (["tmms", "inbox", "--json"], [{**MESSAGE, "thread_id": None}], "0/thread_id"),
    (["tmms", "inbox", "--json"], [{k: v for k, v in MESSAGE.items() if k != "recipients"}], "0"),
    (["tmms", "read", "--json"], {**MESSAGE, "extra": 1}, "(top)"),
    (["tmms", "read", "--json"], {**MESSAGE, "state": "lost"}, "state"),
    (["tmms", "read", "--json"], {**MESSAGE, "front_matter": {"k": {"nested": "x"}}}, "front_matter/k"),
    (["tmms", "peers", "--json"], {"server_pid": None, "peers": []}, "(top)"),  # the shape of 0.3.0
    (["tmms", "dead", "--json"], [MESSAGE], "0"),  # a dead letter needs reason, dead_at, details
])
def test_the_check_refuses_a_wrong_shape(argv: list[str], value: Any, where: str) -> None:
    with pytest.raises(AssertionError, match=f"at {re.escape(where)}:"):
        check_json(argv, value)


def test_the_check_takes_the_right_shape() -> None:
    check_json(["tmms", "read", "--json"], {**MESSAGE, "body": "x", "front_matter": {"k": "v", "l": ["a"]}})
    check_json(["tmms", "inbox", "--json"], [])
    check_json(["tmms", "dead", "show", "x", "--json"],
               {**MESSAGE, "state": "dead", "reason": "r", "dead_at": "t", "details": {}})


def test_the_example_in_docs_json_md_follows_the_message_schema() -> None:
    text = (REPO / "docs" / "json.md").read_text()
    example = json.loads(re.search(r"## A message\n\n```json\n(.*?)```", text, re.S).group(1))  # type: ignore[union-attr]
    assert not list(schema_validator("message.json").iter_errors(example))
    for key in MESSAGE:
        assert f"| `{key}` |" in text, key


# -- one message, every command ------------------------------------------------------------------------

FRONT = """\
---
priority: high
labels: [ci, urgent]
due: 2026-12-01
nested: {deep: value}
lists: [[a], [b]]
long: {long}
tmms_subject: ignored
---
The body mentions Zanzibar.
""".replace("{long}", "x" * 5000)
KEPT = {"priority": "high", "labels": ["ci", "urgent"], "due": "2026-12-01"}


def deliver(path: Path, to: Pane) -> Path:
    target = to.inbox / path.name
    os.rename(path, target)
    return target


def test_one_message_has_one_shape_in_every_command(tmux_server: TmuxServer) -> None:
    alpha, beta = tmux_server.register("alpha"), tmux_server.register("beta")
    posted = as_json(tmux_server.tmms("post", "-t", "beta", "-s", "Shapes", "--json", pane=alpha.pane_id,
                                      input=FRONT))
    (record,) = posted
    assert (record["state"], record["folder"], record["front_matter"]) == ("queued", "outbox", KEPT)
    assert record["thread_id"] == record["id"] and record["in_reply_to"] is None  # a root: its own id
    assert record["recipients"] == ["beta"] and record["subject"] == "Shapes"
    inbox_path = deliver(Path(record["path"]), beta)
    (listed,) = as_json(tmux_server.tmms("inbox", "--json", pane=beta.pane_id))
    assert listed == {**record, "state": "unread", "folder": "inbox", "path": str(inbox_path)}
    read = as_json(tmux_server.tmms("read", "--next", "--json", pane=beta.pane_id))
    assert read["body"] == "The body mentions Zanzibar.\n"
    assert {k: v for k, v in read.items() if k != "body"} == {**listed, "state": "read", "folder": "read",
                                                               "path": str(beta.inbox / "read" / inbox_path.name)}
    (found,) = as_json(tmux_server.tmms("search", "zanzibar", "--in", "read", "--json", pane=beta.pane_id))
    assert found == {k: v for k, v in read.items() if k != "body"}
    (sent,) = as_json(tmux_server.tmms("search", "ZANZIBAR", "--in", "sent", "--json", pane=alpha.pane_id))
    assert (sent["state"], sent["front_matter"]) == ("sent", KEPT)
    (answer,) = as_json(tmux_server.tmms("reply", record["id"][:8], "--json", pane=beta.pane_id, input="ok\n"))
    assert (answer["thread_id"], answer["in_reply_to"], answer["to"]) == (record["id"], record["id"], "alpha")
    deliver(Path(answer["path"]), alpha)
    thread = as_json(tmux_server.tmms("thread", record["id"][:8], "--json", pane=alpha.pane_id))
    assert [(m["state"], m["thread_id"]) for m in thread] == [("sent", record["id"]), ("unread", record["id"])]
    status = as_json(tmux_server.tmms("status", record["id"][:8], "--json"))
    assert status["message"]["front_matter"] == KEPT


def test_a_post_to_several_lists_every_recipient_in_each_copy(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta"), tmux_server.register("gamma")
    records = as_json(tmux_server.tmms("post", "-t", "beta,gamma", "--json", pane=alpha.pane_id, input="hi\n"))
    assert [(r["to"], r["recipients"]) for r in records] == [("beta", ["beta", "gamma"]), ("gamma", ["beta", "gamma"])]
    assert all(r["thread_id"] == r["id"] for r in records)


def test_peers_is_an_array_and_whoami_carries_the_server(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    server = tmux_server.start_server()
    (pane,) = as_json(tmux_server.tmms("peers", "--json"))
    assert (pane["name"], pane["pane_id"], pane["unread"]) == ("alpha", alpha.pane_id, 0)
    me = as_json(tmux_server.tmms("whoami", "--json", pane=alpha.pane_id))
    assert me["server_pid"] == me["server"]["pid"] == server.pid
    assert ok(tmux_server.tmms("peers")).startswith(f"tmms server: running, pid {server.pid}")

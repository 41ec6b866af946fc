"""End-to-end tests of ``tmms dead`` and ``tmms status`` (real ``python -m tmms`` processes, real tmux).

Dead letters are made the way the server makes them: a posted file moved from the sender's outbox
into dead_letter_dir, with a ``.reason.json`` next to it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import Pane, TmuxServer, as_json, failed, messages, ok, wait_until
from tmms import journal

ISO_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@dataclass
class Sent:
    """A posted message: its id and where it is now."""

    message_id: str
    path: Path

    @property
    def short(self) -> str:
        return self.message_id.replace("-", "")[:8]


def post(server: TmuxServer, sender: Pane, to: str, subject: str, body: str = "Body.\n") -> Sent:
    """``tmms post`` from ``sender`` (no server runs, so it stays in the outbox)."""
    record = as_json(server.tmms("post", "-t", to, "-s", subject, "--json", pane=sender.pane_id, input=body))
    return Sent(record[0]["id"], Path(record[0]["path"]))


def write_queued(outbox: Path, message_id: str, sender: str, to: str, subject: str) -> Sent:
    """A message written straight into an outbox (as TMMS or an editor would), with a chosen id."""
    path = outbox / f"20300101-000000_{sender}_to_{to}_{message_id[:8]}.md"
    path.write_text(f"---\ntmms_id: {message_id}\ntmms_from: {sender}\ntmms_to: {to}\n"
                    f"tmms_subject: {subject}\n---\nHi\n")
    return Sent(message_id, path)


def kill_letter(sent: Sent, dead_dir: Path, reason: str, dead_at: float | None = None) -> Sent:
    """Move a queued message into dead letter with a reason, as the router does."""
    dead_dir.mkdir(parents=True, exist_ok=True)
    target = dead_dir / sent.path.name
    data = yaml.safe_load(sent.path.read_text().split("---\n")[1])
    sent.path.rename(target)
    reason_path = Path(str(target) + ".reason.json")
    reason_path.write_text(json.dumps({
        "reason": reason, "source": str(sent.path), "at": "2030-01-01T00:00:00.000Z", "tmms_id": sent.message_id,
        "tmms_from": data["tmms_from"], "tmms_to": data["tmms_to"]}) + "\n")
    if dead_at is not None:
        os.utime(reason_path, (dead_at, dead_at))
    return Sent(sent.message_id, target)


def deliver(sent: Sent, inbox: Path) -> Sent:
    """Move a queued message into an inbox, as the server does."""
    target = inbox / sent.path.name
    sent.path.rename(target)
    return Sent(sent.message_id, target)


@dataclass
class World:
    """Two registered panes, a config naming the dead letter folder, and the journal path."""

    server: TmuxServer
    alpha: Pane
    beta: Pane
    config: Path
    dead: Path
    journal: Path

    def tmms(self, *args: str, pane: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.server.tmms(*args, "-c", str(self.config), pane=pane)

    def main(self, *args: str, pane: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.server.main(*args, "-c", str(self.config), pane=pane)

    def dead_letter(self, to: str = "ghost", subject: str = "Lost", reason: str = "unknown recipient 'ghost'",
                    dead_at: float | None = None) -> Sent:
        return kill_letter(post(self.server, self.alpha, to, subject), self.dead, reason, dead_at)


@pytest.fixture
def world(tmux_server: TmuxServer, home: Path) -> World:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    config = tmux_server.config(recipient_grace_seconds=0)
    dead = tmux_server.root / "dead"
    return World(tmux_server, alpha, beta, config, dead, home / ".local" / "state" / "tmms" / "journal.jsonl")


# -- dead list -----------------------------------------------------------------------------------


def test_dead_list_shows_each_letter_with_its_reason(world: World) -> None:
    first = world.dead_letter(subject="First lost", dead_at=time.time() - 7200)
    second = world.dead_letter(to="beta", subject="Too big", reason="larger than max_message_bytes")
    lines = ok(world.tmms("dead")).splitlines()
    assert len(lines) == 3
    assert lines[0].split() == ["ID", "AGE", "FROM", "TO", "SUBJECT", "REASON"]
    assert re.fullmatch(rf"{first.short} +2h  alpha  ghost  First lost  +unknown recipient 'ghost'", lines[1]), lines[1]
    assert re.fullmatch(rf"{second.short} +\d+s  alpha  beta   Too big  +larger than max_message_bytes",
                        lines[2]), lines[2]
    assert ok(world.tmms("dead", "list")).splitlines() == lines


def test_dead_list_json_has_reason_time_and_details(world: World) -> None:
    sent = world.dead_letter(subject="Lost one")
    (record,) = as_json(world.tmms("dead", "list", "--json"))
    assert (record["id"], record["from"], record["to"], record["subject"]) == (sent.message_id, "alpha", "ghost",
                                                                               "Lost one")
    assert (record["path"], record["folder"]) == (str(sent.path), "dead")
    assert record["reason"] == "unknown recipient 'ghost'"
    assert ISO_SECONDS.match(record["dead_at"]), record["dead_at"]
    assert record["details"]["source"] == str(world.alpha.outbox / sent.path.name)
    assert "body" not in record
    assert as_json(world.tmms("dead", "--json")) == [record]


def test_dead_list_of_an_empty_folder_prints_nothing(world: World) -> None:
    assert ok(world.tmms("dead")) == ""
    assert as_json(world.tmms("dead", "--json")) == []


def test_dead_without_a_config_uses_the_default_folder(world: World, home: Path) -> None:
    default = home / ".local" / "share" / "tmms" / "dead_letter"
    sent = kill_letter(post(world.server, world.alpha, "ghost", "Default"), default, "why not")
    (record,) = as_json(world.server.tmms("dead", "--json"))
    assert (record["id"], record["reason"]) == (sent.message_id, "why not")
    assert as_json(world.server.tmms("status", sent.short, "--json"))["state"] == "dead-lettered"


def test_dead_list_with_ids_exits_2(world: World) -> None:
    line = failed(world.main("dead", "list", "1a2b"), 2)
    assert line == "tmms: error: 'dead list' takes no ids (use 'dead show ID')"


def test_dead_with_an_unknown_action_exits_2(world: World) -> None:
    line = failed(world.main("dead", "frobnicate"), 2)
    assert line.startswith("tmms: error: argument action: invalid choice: 'frobnicate'")


# -- dead show -----------------------------------------------------------------------------------


def test_dead_show_prints_the_reason_and_the_message(world: World) -> None:
    sent = world.dead_letter(subject="Show me", reason="unknown recipient 'ghost'")
    world.dead_letter(subject="Another")
    out = ok(world.tmms("dead", "show", sent.short))
    assert out == f"reason:  unknown recipient 'ghost'\nfile:    {sent.path}\n\n{sent.path.read_text()}"
    record = as_json(world.tmms("dead", "show", sent.message_id[:5], "--json"))
    assert (record["id"], record["reason"], record["body"]) == (sent.message_id, "unknown recipient 'ghost'",
                                                                "Body.\n")


@pytest.mark.parametrize("ids", [[], ["aaaa", "bbbb"]], ids=["no-id", "two-ids"])
def test_dead_show_needs_exactly_one_id(world: World, ids: list[str]) -> None:
    world.dead_letter()
    line = failed(world.main("dead", "show", *ids), 2)
    assert line == "tmms: error: 'dead show' takes exactly one id"


def test_dead_show_of_an_unknown_id_exits_11(world: World) -> None:
    world.dead_letter()
    line = failed(world.main("dead", "show", "zzzz"), 11)
    assert line == f"tmms: error: no message matches 'zzzz' in dead letter ({world.dead})"


def test_dead_show_of_an_ambiguous_prefix_exits_11(world: World) -> None:
    for n, message_id in enumerate(["abcd0000-0000-4000-8000-000000000001", "abcd1111-0000-4000-8000-000000000002"]):
        kill_letter(write_queued(world.alpha.outbox, message_id, "alpha", f"ghost{n}", "Twin"), world.dead, "why")
    line = failed(world.main("dead", "show", "abcd"), 11)
    assert line == ("tmms: error: 'abcd' matches 2 messages: "
                    "abcd0000 (dead: 20300101-000000_alpha_to_ghost0_abcd0000.md), "
                    "abcd1111 (dead: 20300101-000000_alpha_to_ghost1_abcd1111.md); give more of the id")


# -- dead retry ----------------------------------------------------------------------------------


def test_dead_retry_puts_the_letter_back_in_its_outbox_without_its_reason(world: World) -> None:
    sent = world.dead_letter()
    other = world.dead_letter(subject="Stays")
    out = ok(world.tmms("dead", "retry", sent.short))
    back = world.alpha.outbox / sent.path.name
    assert out == f"{back}\n"
    assert back.exists()
    assert sorted(p.name for p in world.dead.iterdir()) == [other.path.name, other.path.name + ".reason.json"]
    events = journal.events_for(str(world.journal), {sent.message_id})
    assert [e["event"] for e in events] == ["posted", "retried"]
    assert events[1]["path"] == str(back)


def test_dead_retry_of_one_letter_named_twice_retries_it_once(world: World) -> None:
    sent = world.dead_letter()
    report = as_json(world.tmms("dead", "retry", sent.short, sent.message_id[:5], "--json"))
    assert report == {"retried": [{"id": sent.message_id, "path": str(world.alpha.outbox / sent.path.name)}],
                      "left": []}


def test_dead_retry_without_ids_retries_all_and_reports_json(world: World) -> None:
    letters = [world.dead_letter(subject=f"n{n}") for n in range(3)]
    report = as_json(world.tmms("dead", "retry", "--json"))
    assert report["left"] == []
    assert sorted(r["id"] for r in report["retried"]) == sorted(s.message_id for s in letters)
    assert sorted(Path(r["path"]) for r in report["retried"]) == messages(world.alpha.outbox)
    assert list(world.dead.iterdir()) == []


def test_dead_retry_falls_back_to_the_senders_current_outbox(world: World) -> None:
    sent = world.dead_letter()
    moved = world.server.root / "mail" / "alpha-new" / "outbox"
    moved.mkdir(parents=True)
    world.server.tmux("set-option", "-p", "-t", world.alpha.pane_id, "@tmms_outbox", str(moved))
    world.alpha.outbox.rename(world.server.root / "old-outbox")  # its old outbox is gone
    assert ok(world.tmms("dead", "retry", sent.short)) == f"{moved / sent.path.name}\n"


def test_dead_retry_with_nowhere_to_go_leaves_it_and_exits_1(world: World) -> None:
    sent = world.dead_letter()
    world.server.tmux("set-option", "-p", "-u", "-t", world.alpha.pane_id, "@tmms_enabled")  # alpha left
    world.alpha.outbox.rename(world.server.root / "old-outbox")
    proc = world.main("dead", "retry", sent.short, "--json")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout) == {"retried": [], "left": [sent.short]}
    assert proc.stderr == (f"tmms: {sent.short}: no outbox to retry from (its sender has no pane and its old "
                           "outbox is gone); left in dead letter\n")
    assert sent.path.exists()


def test_dead_retry_of_an_unknown_id_exits_11(world: World) -> None:
    world.dead_letter()
    line = failed(world.main("dead", "retry", "zzzz"), 11)
    assert line == f"tmms: error: no message matches 'zzzz' in dead letter ({world.dead})"
    assert len(messages(world.dead)) == 1


def test_dead_retry_with_a_server_running_delivers_once_the_recipient_exists(world: World) -> None:
    sent = world.dead_letter(to="gamma", reason="unknown recipient 'gamma'")
    gamma = world.server.register("gamma")
    world.server.start_server(config=world.config)
    ok(world.tmms("dead", "retry", sent.short))
    wait_until(lambda: messages(gamma.inbox))
    (delivered,) = messages(gamma.inbox)
    assert delivered.name == sent.path.name
    assert messages(world.dead) == []
    assert not Path(str(sent.path) + ".reason.json").exists()


# -- dead purge ----------------------------------------------------------------------------------


def test_dead_purge_removes_letters_older_than_the_age(world: World) -> None:
    old = world.dead_letter(subject="old", dead_at=time.time() - 3 * 86400)
    fresh = world.dead_letter(subject="fresh", dead_at=time.time() - 3600)
    assert ok(world.tmms("dead", "purge", "--older-than", "2d")) == f"purged 1 dead letter(s) from {world.dead}\n"
    assert not old.path.exists() and not Path(str(old.path) + ".reason.json").exists()
    assert fresh.path.exists()
    assert as_json(world.tmms("dead", "purge", "--older-than", "30m", "--json")) == [str(fresh.path)]
    assert list(world.dead.iterdir()) == []


def test_dead_purge_age_zero_purges_everything(world: World) -> None:
    world.dead_letter()
    world.dead_letter()
    assert len(as_json(world.tmms("dead", "purge", "--older-than", "0", "--json"))) == 2
    assert messages(world.dead) == []


def test_dead_purge_without_older_than_exits_2(world: World) -> None:
    sent = world.dead_letter()
    line = failed(world.main("dead", "purge"), 2)
    assert line == "tmms: error: 'dead purge' needs --older-than AGE (such as 7d; 0 purges everything)"
    assert sent.path.exists()


@pytest.mark.parametrize("age", ["soon", "-1d", "7x", ""])
def test_dead_purge_with_a_bad_age_exits_2(world: World, age: str) -> None:
    sent = world.dead_letter()
    line = failed(world.main("dead", "purge", f"--older-than={age}"), 2)
    assert line == f"tmms: error: --older-than: '{age}' is not an age such as 90s, 30m, 12h, 7d, 2w"
    assert sent.path.exists()


def test_dead_purge_with_ids_exits_2(world: World) -> None:
    line = failed(world.main("dead", "purge", "1a2b", "--older-than", "1d"), 2)
    assert line == "tmms: error: 'dead purge' takes no ids"


# -- status --------------------------------------------------------------------------------------


def test_status_of_a_posted_message_is_queued(world: World) -> None:
    sent = post(world.server, world.alpha, "beta", "Queued one")
    report = as_json(world.tmms("status", sent.short, "--json"))
    assert (report["id"], report["state"]) == (sent.message_id, "queued")
    assert report["message"]["subject"] == "Queued one"
    assert {(p["owner"], p["folder"]) for p in report["places"]} == {("alpha", "outbox"), ("alpha", "sent")}
    assert [e["event"] for e in report["events"]] == ["posted"]
    posted = report["events"][0]
    assert (posted["from"], posted["to"], posted["path"], posted["subject"]) == ("alpha", "beta", str(sent.path),
                                                                                 "Queued one")
    lines = ok(world.tmms("status", sent.short)).splitlines()
    assert lines[0] == f"message {sent.message_id}: queued"
    assert lines[1] == "  alpha → beta: Queued one"
    assert f"  outbox of alpha: {sent.path}" in lines
    assert re.fullmatch(r"  \S+Z  posted +beta +" + re.escape(str(sent.path)), lines[-1]), lines[-1]


def test_status_of_a_delivered_and_then_read_message(world: World) -> None:
    sent = deliver(post(world.server, world.alpha, "beta", "Read me"), world.beta.inbox)
    delivered = as_json(world.tmms("status", sent.short, "--json"))
    assert delivered["state"] == "delivered"
    assert {"owner": "beta", "folder": "inbox", "path": str(sent.path)} in delivered["places"]
    ok(world.server.tmms("read", sent.short, pane=world.beta.pane_id))
    report = as_json(world.tmms("status", sent.short, "--json"))
    assert report["state"] == "read"
    assert ("beta", "read") in {(p["owner"], p["folder"]) for p in report["places"]}
    assert [e["event"] for e in report["events"]] == ["posted", "read"]
    assert report["events"][1]["mailbox"] == "beta"


def test_status_of_a_message_read_and_then_deleted_comes_from_the_journal(world: World) -> None:
    sent = deliver(post(world.server, world.alpha, "beta", "Gone"), world.beta.inbox)
    ok(world.server.tmms("read", sent.short, pane=world.beta.pane_id))
    for folder in (world.beta.inbox / "read", world.alpha.outbox / "sent"):
        for path in messages(folder):
            path.unlink()
    report = as_json(world.tmms("status", sent.short, "--json"))
    assert (report["state"], report["places"], report["message"]) == ("read, then removed", [], None)


def test_status_of_a_dead_lettered_message(world: World) -> None:
    sent = world.dead_letter(subject="Dead one")
    report = as_json(world.tmms("status", sent.short, "--json"))
    assert report["state"] == "dead-lettered"
    assert {"owner": "dead letter", "folder": "dead", "path": str(sent.path)} in report["places"]
    assert ok(world.tmms("status", sent.short)).startswith(f"message {sent.message_id}: dead-lettered\n")


def test_status_of_a_retried_message_is_queued_again(world: World) -> None:
    sent = world.dead_letter()
    ok(world.tmms("dead", "retry", sent.short))
    report = as_json(world.tmms("status", sent.short, "--json"))
    assert report["state"] == "queued"
    assert [e["event"] for e in report["events"]] == ["posted", "retried"]


def test_status_of_a_message_written_by_another_tool_has_no_journal_entries(world: World) -> None:
    path = write_queued(world.alpha.outbox, "0badcafe-0000-4000-8000-000000000000", "alpha", "beta",
                        "From TMMS").path
    lines = ok(world.tmms("status", "0badcafe")).splitlines()
    assert lines == ["message 0badcafe-0000-4000-8000-000000000000: queued", "  alpha → beta: From TMMS",
                     f"  outbox of alpha: {path}",
                     f"  (no journal entries in {world.journal})"]


@pytest.mark.parametrize("command", [["dead"], ["status", "1a2b"]], ids=["dead", "status"])
def test_dead_and_status_with_a_missing_config_exit_3(world: World, command: list[str]) -> None:
    missing = world.server.root / "nope.yml"
    line = failed(world.server.main(*command, "-c", str(missing)), 3)
    assert line == f"tmms: error: {missing}: config file not found"


def test_status_of_an_unknown_id_exits_11(world: World) -> None:
    post(world.server, world.alpha, "beta", "Something")
    line = failed(world.main("status", "deadbeef"), 11)
    assert line == "tmms: error: no message matches 'deadbeef' in any mailbox, the dead letter folder or the journal"


def test_status_of_an_ambiguous_prefix_exits_11(world: World) -> None:
    write_queued(world.alpha.outbox, "abcd0000-0000-4000-8000-000000000001", "alpha", "beta", "One")
    write_queued(world.alpha.outbox, "abcd1111-0000-4000-8000-000000000002", "alpha", "beta", "Two")
    line = failed(world.main("status", "abcd"), 11)
    assert line == "tmms: error: 'abcd' matches 2 messages: abcd0000, abcd1111; give more of the id"


def test_status_shows_what_the_server_journaled(world: World) -> None:
    world.server.tmux("set-option", "-p", "-t", world.beta.pane_id, "@tmms_notify_cmd", "true")
    world.server.start_server(config=world.config)
    sent = post(world.server, world.alpha, "beta", "Routed")
    lost = post(world.server, world.alpha, "ghost", "Nobody home")
    wait_until(lambda: messages(world.beta.inbox) and messages(world.dead))

    def events(message_id: str) -> list[str]:
        return [e["event"] for e in as_json(world.tmms("status", message_id, "--json"))["events"]]

    wait_until(lambda: "notified" in events(sent.message_id), timeout=5)
    assert events(sent.message_id) == ["posted", "delivered", "notified"]
    report = as_json(world.tmms("status", sent.short, "--json"))
    assert report["state"] == "delivered"
    assert report["events"][1].get("mailbox") == "beta" or report["events"][1].get("to") == "beta"
    assert all(ISO_MILLIS.match(e["at"]) for e in report["events"]), report["events"]
    wait_until(lambda: "dead-lettered" in events(lost.message_id), timeout=5)
    dead = as_json(world.tmms("status", lost.short, "--json"))
    assert dead["state"] == "dead-lettered"
    assert "unknown recipient 'ghost'" in dead["events"][-1]["reason"]

"""Mail across hosts end to end over a real sshd (tests/sshkit.py): each host has its HOME, tmux server
and tmms server; the laptop's server links to the gpu-box with ``ssh -T gpu-box tmms relay``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import ok
from polling import wait_until as poll
from sshkit import Host, SshBed
from tmms.message import compose


def journal(host: Host) -> list[dict[str, Any]]:
    path = host.home / ".local/state/tmms/journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def events(host: Host, kind: str) -> list[dict[str, Any]]:
    return [e for e in journal(host) if e["event"] == kind]


def letters(inbox: Path) -> list[Path]:
    return sorted(inbox.glob("*.md"))


def front(path: Path) -> dict[str, str]:
    head = path.read_text().split("\n---\n", 1)[0]
    return dict(line.split(": ", 1) for line in head.splitlines()[1:] if ": " in line and not line.startswith(" "))


def pair(bed: SshBed) -> tuple[Host, Host, tuple[str, Path, Path], tuple[str, Path, Path]]:
    gpu, laptop = bed.host("gpu-box"), bed.host("laptop", sshd=False)
    bob, alice = gpu.register("bob"), laptop.register("alice")
    gpu.start_server(host_name="gpu-box")
    laptop.start_server(host_name="laptop")
    return gpu, laptop, alice, bob


def test_post_to_a_remote_pane_and_reply_back_over_the_same_link(ssh_bed: SshBed) -> None:
    gpu, laptop, alice, bob = pair(ssh_bed)
    ok(laptop.tmms("post", "-t", "bob@gpu-box", "-s", "hi", pane=alice[0], input="hello there\n"))
    (got,) = poll(lambda: letters(bob[1]), 30)
    head = front(got)
    assert (head["tmms_from"], head["tmms_to"], head["tmms_subject"]) == ("alice@laptop", "bob", "hi")
    message_id = head["tmms_id"]
    poll(lambda: events(laptop, "acked"), 30)  # the file is there before the ack is back
    assert [e["event"] for e in journal(laptop) if e.get("id") == message_id] == [
        "posted", "spooled", "relayed", "acked"]
    acked = events(laptop, "acked")[0]
    assert acked["host"] == "gpu-box" and acked["remote_path"] == str(got) and float(acked["rtt_ms"]) > 0
    (delivered,) = poll(lambda: events(gpu, "delivered"), 30)
    assert (delivered["via"], delivered["from"], delivered["mailbox"]) == ("laptop", "alice@laptop", "bob")

    ok(gpu.tmms("reply", message_id[:8], pane=bob[0], input="back at you\n"))  # no set-up on the gpu-box
    (back,) = poll(lambda: letters(alice[1]), 30)
    assert (front(back)["tmms_from"], front(back)["tmms_to"]) == ("bob@gpu-box", "alice")
    assert front(back)["tmms_in_reply_to"] == message_id

    status = ok(laptop.tmms("status", message_id[:8]))
    assert "delivered on gpu-box (acked)" in status and "gpu-box" in status
    hosts = ok(laptop.tmms("peers", "--hosts", "--json"))
    (link,) = json.loads(hosts)
    assert (link["host"], link["state"], link["queued"], link["error"]) == ("gpu-box", "up", 0, "")
    assert float(link["rtt_ms"]) > 0
    text = ok(laptop.tmms("peers", "--hosts"))
    assert text.splitlines()[0].split()[:3] == ["HOST", "LINK", "QUEUED"] and "gpu-box" in text


def test_groups_and_everyone_on_the_remote_host(ssh_bed: SshBed) -> None:
    gpu, laptop, alice, bob = pair(ssh_bed)
    carol = gpu.register("carol")
    gpu.tmux("set-option", "-p", "-t", carol[0], "@tmms_groups", "ops")
    gpu.tmux("set-option", "-p", "-t", bob[0], "@tmms_groups", "ops")
    ok(laptop.tmms("post", "-t", "@ops@gpu-box", pane=alice[0], input="to ops\n"))
    ok(laptop.tmms("post", "-t", "*@gpu-box", pane=alice[0], input="to all\n"))
    poll(lambda: len(letters(bob[1])) == 2 and len(letters(carol[1])) == 2, 30)
    assert {front(p)["tmms_to"] for p in letters(carol[1])} == {"carol"}


def test_a_name_the_remote_host_lacks_comes_back_as_a_dead_letter_with_its_reason(ssh_bed: SshBed) -> None:
    _gpu, laptop, alice, bob = pair(ssh_bed)
    ok(laptop.tmms("post", "-t", "nobody@gpu-box", pane=alice[0], input="anyone?\n"))
    config = str(laptop.config(host_name="laptop"))
    dead: list[dict[str, Any]] = poll(lambda: json.loads(ok(laptop.tmms("dead", "--json", "-c", config))), 30)
    (letter,) = dead
    assert "refused by gpu-box: unknown recipient 'nobody' on gpu-box" in json.dumps(letter)
    assert letters(bob[1]) == []


def test_a_host_without_tmms_gets_a_one_line_reason_and_keeps_the_mail(ssh_bed: SshBed) -> None:
    gpu, laptop = ssh_bed.host("gpu-box"), ssh_bed.host("laptop", sshd=False)
    alice = laptop.register("alice")
    laptop.start_server(config=laptop.config("hosts:\n  gpu-box:\n    command: /nowhere/tmms\n", host_name="laptop"))
    ok(laptop.tmms("post", "-t", "bob@gpu-box", pane=alice[0], input="wait for me\n"))
    reason = "gpu-box: tmms is not installed there: pip install tmms"
    poll(lambda: any(e.get("reason") == reason for e in events(laptop, "link-down")), 30)
    (link,) = json.loads(ok(laptop.tmms("peers", "--hosts", "--json")))
    assert (link["state"], link["queued"], link["error"]) == ("down", 1, reason)
    message_id = events(laptop, "spooled")[0]["id"]
    status = ok(laptop.tmms("status", message_id[:8]))
    assert "waiting for gpu-box" in status and reason in status
    assert gpu.root.joinpath("home/.local/state/tmms").exists() is False or not events(gpu, "delivered")


def test_an_unknown_host_gets_ssh_s_own_words(ssh_bed: SshBed) -> None:
    laptop = ssh_bed.host("laptop", sshd=False)
    alice = laptop.register("alice")
    laptop.start_server(host_name="laptop")
    ok(laptop.tmms("post", "-t", "bob@no-such-host.invalid", pane=alice[0], input="x\n"))
    down = poll(lambda: events(laptop, "link-down"), 30)
    assert down[0]["reason"].startswith("no-such-host.invalid: ssh: ") and "\n" not in down[0]["reason"]


def test_many_messages_arrive_once_each_in_posting_order(ssh_bed: SshBed) -> None:
    gpu, laptop, alice, bob = pair(ssh_bed)
    staging = laptop.root / "staging"
    staging.mkdir()
    ids = []
    for n in range(400):
        message = compose(f"number {n}\n", "alice", "bob@gpu-box", f"n{n}")
        (staging / message.file_name).write_text(message.text)
        ids.append(message.message_id)
        os.rename(staging / message.file_name, alice[2] / message.file_name)
    poll(lambda: len(events(gpu, "delivered")) >= 400, 120)  # journaled right after each batch is renamed in
    delivered = [e["id"] for e in events(gpu, "delivered")]
    assert delivered == ids and len(letters(bob[1])) == 400


def test_ask_a_pane_on_another_host(ssh_bed: SshBed) -> None:
    gpu, laptop, alice, bob = pair(ssh_bed)
    body = laptop.root / "question.md"
    body.write_text("what is 2+2?\n")
    argv = [sys.executable, "-m", "tmms", "ask", "-t", "bob@gpu-box", "-s", "2+2?", "--timeout", "60", str(body)]
    asking = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=laptop.env(alice[0]))
    (question,) = poll(lambda: letters(bob[1]), 30)
    ok(gpu.tmms("reply", front(question)["tmms_id"][:8], pane=bob[0], input="4\n"))
    out, err = asking.communicate(timeout=60)
    assert asking.returncode == 0, err
    assert b"4" in out and b"bob@gpu-box" in out


def test_mail_for_a_host_that_links_in_later_waits_for_its_link(ssh_bed: SshBed) -> None:
    gpu, laptop, alice, bob = pair(ssh_bed)
    ok(gpu.tmms("post", "-t", "alice@laptop", pane=bob[0], input="are you there?\n"))  # no way to dial the laptop
    poll(lambda: events(gpu, "link-down"), 30)
    assert letters(alice[1]) == []
    ok(laptop.tmms("post", "-t", "bob@gpu-box", pane=alice[0], input="here I am\n"))  # the laptop links in
    (got,) = poll(lambda: letters(alice[1]), 30)  # and takes what waited for it
    assert front(got)["tmms_from"] == "bob@gpu-box"
    hosts = {link["host"]: link for link in json.loads(ok(gpu.tmms("peers", "--hosts", "--json")))}
    assert hosts["laptop"]["inbound"] is True and hosts["laptop"]["queued"] == 0


def test_an_idle_link_closes_and_the_next_message_opens_one(ssh_bed: SshBed) -> None:
    gpu, laptop = ssh_bed.host("gpu-box"), ssh_bed.host("laptop", sshd=False)
    bob, alice = gpu.register("bob"), laptop.register("alice")
    gpu.start_server(host_name="gpu-box")
    laptop.start_server(host_name="laptop", link_idle_seconds=0.5)
    for n in (1, 2):
        ok(laptop.tmms("post", "-t", "bob@gpu-box", pane=alice[0], input=f"message {n}\n"))
        poll(lambda n=n: len(letters(bob[1])) == n, 30)  # type: ignore[misc]
        poll(lambda: json.loads(ok(laptop.tmms("peers", "--hosts", "--json")))[0]["state"] == "idle", 30)
        poll(lambda: not laptop.ssh_clients(), 30)
    assert [e["event"] for e in journal(laptop) if e["event"].startswith("link-")] == ["link-up", "link-up"]

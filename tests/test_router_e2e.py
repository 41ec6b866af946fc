"""The router's hardening through the real server (issue #7 items 1, 4, 5, 11, 16): real tmux, real files."""

from __future__ import annotations

import json
import os
import stat
import time
import uuid
from pathlib import Path

from conftest import TmuxServer, messages, wait_until
from routerkit import drop, front, message

NESTED_500 = message("alpha", "beta", extra="x: " + "[" * 500 + "]" * 500 + "\n")


def _log(server: TmuxServer, index: int = 0) -> str:
    return server.server_log(server.procs[index]).decode(errors="replace")


def _journal(server: TmuxServer) -> list[dict[str, str]]:
    path = Path(os.environ["HOME"]) / ".local" / "state" / "tmms" / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_deeply_nested_file_placed_before_start_neither_stops_the_server_nor_the_mail(
    tmux_server: TmuxServer,
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    drop(alpha.outbox, "000-nested.md", NESTED_500)
    good = drop(alpha.outbox, "zzz-good.md", message("alpha", "beta"))
    proc = tmux_server.start_server(settle_seconds=0)
    wait_until(lambda: (beta.inbox / good.name).exists())
    wait_until(lambda: messages(tmux_server.root / "dead"))
    assert [p.name for p in messages(tmux_server.root / "dead")] == ["000-nested.md"]
    later = drop(alpha.outbox, "later.md", message("alpha", "beta"))
    wait_until(lambda: (beta.inbox / later.name).exists())
    assert proc.poll() is None
    assert "Traceback" not in _log(tmux_server)


def test_an_outbox_that_is_an_inbox_is_never_routed_and_the_log_says_so_once(tmux_server: TmuxServer) -> None:
    tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    loopy = tmux_server.register("loopy")
    other = tmux_server.register("other")
    # set by hand (tmms register refuses it): loopy's outbox is its inbox; other's outbox is beta's inbox
    tmux_server.tmux("set-option", "-p", "-t", loopy.pane_id, "@tmms_outbox", str(loopy.inbox))
    tmux_server.tmux("set-option", "-p", "-t", other.pane_id, "@tmms_outbox", str(beta.inbox))
    looped = drop(loopy.inbox, "loop.md", message("loopy", "loopy"))
    stolen = drop(beta.inbox, "for-beta.md", message("alpha", "beta"))
    before = (looped.read_bytes(), stolen.read_bytes())
    proc = tmux_server.start_server(polling_interval=0.2)
    wait_until(lambda: _log(tmux_server).count("not routing") >= 2)
    time.sleep(1.0)  # five more scans: still one line per folder
    text = _log(tmux_server)
    assert text.count(f"not routing {loopy.inbox}:") == 1
    assert text.count(f"not routing {beta.inbox}:") == 1
    assert (looped.read_bytes(), stolen.read_bytes()) == before
    assert sorted(p.name for p in messages(beta.inbox)) == ["for-beta.md"]
    assert messages(tmux_server.root / "dead") == []
    assert proc.poll() is None


def test_a_reused_id_is_given_a_new_one_and_the_journal_keeps_the_old(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    carol = tmux_server.register("carol")
    tmux_server.start_server()
    taken = str(uuid.uuid4())
    drop(alpha.outbox, "real.md", message("alpha", "beta", message_id=taken))
    wait_until(lambda: (beta.inbox / "real.md").exists())
    drop(carol.outbox, "impostor.md", message("carol", "beta", body="impostor\n", message_id=taken))
    wait_until(lambda: (beta.inbox / "impostor.md").exists())
    impostor = front(beta.inbox / "impostor.md")
    assert impostor["tmms_id"] != taken and impostor["tmms_original_id"] == taken
    assert front(beta.inbox / "real.md")["tmms_id"] == taken
    record = wait_until(lambda: [r for r in _journal(tmux_server) if r.get("original_id") == taken])
    assert record[0]["event"] == "delivered" and record[0]["id"] == impostor["tmms_id"]
    assert "was delivered before" in _log(tmux_server)


def test_a_reused_id_is_caught_after_a_restart_too(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    proc = tmux_server.start_server()
    taken = str(uuid.uuid4())
    drop(alpha.outbox, "first.md", message("alpha", "beta", message_id=taken))
    wait_until(lambda: (beta.inbox / "first.md").exists())
    tmux_server.stop(proc)
    tmux_server.start_server()
    drop(alpha.outbox, "again.md", message("alpha", "beta", message_id=taken))
    wait_until(lambda: (beta.inbox / "again.md").exists())
    assert front(beta.inbox / "again.md")["tmms_original_id"] == taken


def test_a_dead_letter_folder_that_is_a_symlink_to_an_inbox_is_never_used(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    dead = tmux_server.root / "dead-link"
    dead.symlink_to(beta.inbox)
    proc = tmux_server.start_server(config=tmux_server.config(dead_letter_dir=str(dead), recipient_grace_seconds=0))
    forged = message("beta", "nobody", body="looks like it came from beta\n")
    drop(alpha.outbox, "spoof.md", forged)
    fallback = Path(os.environ["HOME"]) / ".local" / "state" / "tmms" / "dead-letter"
    [letter] = wait_until(lambda: messages(fallback))
    assert messages(beta.inbox) == []
    assert front(letter)["tmms_from"] == "alpha"  # stamped with the true sender
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o700
    assert _log(tmux_server).count("is not safe") == 1
    assert proc.poll() is None
    listed = json.loads(tmux_server.tmms("dead", "--json").stdout)  # the run info names the fallback
    assert [Path(x["path"]) for x in listed] == [letter]


def test_a_255_byte_name_needing_a_correction_is_delivered_not_stuck(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    tmux_server.register("carol")
    name = "20260322-143005_carol_to_beta_" + "n" * 213 + "_1a2b3c4d.md"
    assert len(name.encode()) == 255
    (beta.inbox / name).write_text("an earlier message of that name\n")
    proc = tmux_server.start_server()
    drop(alpha.outbox, name, message("carol", "beta"))
    fresh = wait_until(lambda: [p for p in messages(beta.inbox) if p.name != name])
    assert front(fresh[0])["tmms_from"] == "alpha"
    assert messages(alpha.outbox) == []
    assert "ERROR" not in _log(tmux_server)
    assert proc.poll() is None

"""End-to-end tests of ``tmms server``: real tmux servers, real files, real notify commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from conftest import TmuxServer, messages, private_tmux, wait_until


def atomic_write(folder: Path, name: str, data: bytes) -> Path:
    """Write a file the way a careful writer does: a dot-named temporary file, fsync, rename."""
    temp = folder / f".{name}.writing-{uuid.uuid4().hex[:6]}"
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    final = folder / name
    os.rename(temp, final)
    return final


def message_text(sender: str, to: str, body: str = "body\n", *, message_id: str | None = None,
                 subject: str = "", extra: str = "") -> str:
    """A complete message as TMMS writes it."""
    message_id = message_id or str(uuid.uuid4())
    return (f"---\ntmms_id: {message_id}\ntmms_from: {sender}\ntmms_to: {to}\n"
            f"tmms_created_at: '2026-03-22T14:30:05.000Z'\ntmms_subject: {json.dumps(subject)}\n{extra}---\n{body}")


def message_name(sender: str, to: str, message_id: str) -> str:
    return f"20260322-143005_{sender}_to_{to}_{message_id.replace('-', '')[:8]}.md"


def front(path: Path) -> tuple[dict[str, Any], str]:
    """The loaded front matter and the body of a message file."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), text
    head, sep, body = text[4:].partition("\n---\n")
    assert sep, text
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data, body


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def dead_letters(server: TmuxServer) -> list[Path]:
    return messages(server.root / "dead")


def reason_of(dead: Path) -> dict[str, Any]:
    """The reason record next to a dead letter (written just after the move)."""
    reason = dead.parent / (dead.name + ".reason.json")
    wait_until(reason.exists, timeout=5)
    record = json.loads(reason.read_text())
    assert isinstance(record, dict)
    return record


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def log(server: TmuxServer, proc: subprocess.Popen[bytes]) -> str:
    return server.server_log(proc).decode(errors="replace")


def post(server: TmuxServer, pane: str, *args: str, body: str = "hello\n") -> Path:
    proc = server.tmms("post", *args, pane=pane, input=body)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip())


# -- delivery and notification -------------------------------------------------------------------------


def test_delivers_to_the_inbox_and_runs_notify_with_the_variables(tmux_server: TmuxServer) -> None:
    out = tmux_server.root / "notified"
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify=(
        "printf '%s|%s|%s|%s|%s|%s|%s\\n' ${{filepath}} ${{tmms_id}} ${{tmms_from}} ${{tmms_to}} "
        f"\"${{{{tmms_subject}}}}\" '${{{{tmms_thread_id}}}}' \"$TMUX_PANE\" >> {out}"))
    proc = tmux_server.start_server()
    posted = post(tmux_server, alpha.pane_id, "-t", "beta", "-s", "Task complete", "--thread", "t-42")
    delivered = wait_until(lambda: messages(beta.inbox))
    assert [p.name for p in delivered] == [posted.name]
    assert messages(alpha.outbox) == []
    data, body = front(beta.inbox / posted.name)
    assert (data["tmms_from"], data["tmms_to"], body) == ("alpha", "beta", "hello\n")
    line = wait_until(lambda: lines_of(out))[0]
    assert line.split("|") == [str(beta.inbox / posted.name), data["tmms_id"], "alpha", "beta", "Task complete",
                               "t-42", beta.pane_id]
    assert proc.poll() is None


def test_unknown_recipient_goes_to_dead_letter_with_a_reason(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.start_server()
    posted = post(tmux_server, alpha.pane_id, "-t", "ghost")
    dead = wait_until(lambda: dead_letters(tmux_server))
    assert [p.name for p in dead] == [posted.name]
    record = reason_of(dead[0])
    assert "unknown recipient 'ghost'" in record["reason"]
    assert record["source"] == str(posted)
    assert record["tmms_to"] == "ghost"
    assert messages(alpha.outbox) == []


def test_the_server_rereads_panes_before_dead_lettering_an_unknown_recipient(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    proc = tmux_server.start_server()
    # Freeze the server so that its pane list is stale when it sees the file: it must re-read
    # the panes before it gives up on the recipient.
    proc.send_signal(signal.SIGSTOP)
    try:
        posted = post(tmux_server, alpha.pane_id, "-t", "late")
        late = tmux_server.register("late")
    finally:
        proc.send_signal(signal.SIGCONT)
    wait_until(lambda: messages(late.inbox))
    assert [p.name for p in messages(late.inbox)] == [posted.name]
    assert dead_letters(tmux_server) == []


def test_a_pane_registered_as_soon_as_post_returns_still_gets_its_mail(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    pane = tmux_server.new_pane()
    tmux_server.start_server()
    posted = post(tmux_server, alpha.pane_id, "-t", "late")
    late = tmux_server.register("late", pane_id=pane)
    wait_until(lambda: messages(late.inbox) or dead_letters(tmux_server))
    assert [p.name for p in messages(late.inbox)] == [posted.name]
    assert dead_letters(tmux_server) == []


def test_a_redead_lettered_file_gets_its_own_reason_next_to_it(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    dead_dir = tmux_server.root / "dead"
    dead_dir.mkdir()
    name = message_name("alpha", "ghost", str(uuid.uuid4()))
    # Left behind when someone moved the file back to an outbox to retry it, or removed only the .md.
    (dead_dir / (name + ".reason.json")).write_text(json.dumps({"reason": "an older reason"}) + "\n")
    tmux_server.start_server()
    atomic_write(alpha.outbox, name, message_text("alpha", "ghost").encode())
    dead = wait_until(lambda: dead_letters(tmux_server))
    assert "unknown recipient 'ghost'" in reason_of(dead[0])["reason"]


def test_startup_warns_when_dead_letter_holds_messages(tmux_server: TmuxServer) -> None:
    dead = tmux_server.root / "dead"
    dead.mkdir()
    for n in range(3):
        (dead / f"old-{n}.md").write_text(message_text("a", "b"))
    (dead / "old-0.md.reason.json").write_text("{}")
    tmux_server.register("alpha")
    proc = tmux_server.start_server()
    assert f"dead letter holds 3 message(s) in {dead}" in log(tmux_server, proc)


def test_no_dead_letter_warning_when_it_is_empty(tmux_server: TmuxServer) -> None:
    tmux_server.register("alpha")
    proc = tmux_server.start_server()
    assert "dead letter holds" not in log(tmux_server, proc)


# -- files that are not ready -------------------------------------------------------------------------


def test_a_file_still_open_for_writing_is_not_delivered_until_closed(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    tmux_server.start_server()
    text = message_text("alpha", "beta", body="part one\n" + "part two\n" * 100)
    first, second = text[: text.index("part two")], text[text.index("part two"):]
    target = alpha.outbox / message_name("alpha", "beta", str(uuid.uuid4()))
    with open(target, "w") as writer:
        writer.write(first)  # a complete front matter: parseable, but not finished
        writer.flush()
        # Another message through the same outbox proves the server has looked at this folder.
        other = post(tmux_server, alpha.pane_id, "-t", "beta")
        wait_until(lambda: (beta.inbox / other.name).exists())
        assert target.exists()
        assert not (beta.inbox / target.name).exists()
        writer.write(second)
    delivered = beta.inbox / target.name
    wait_until(delivered.exists)
    assert delivered.read_text() == text
    assert dead_letters(tmux_server) == []


def test_an_unparseable_file_is_not_dead_lettered_while_it_keeps_changing(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    tmux_server.start_server(settle_seconds=0.5, polling_interval=0.1)
    target = alpha.outbox / "slow-writer.md"
    target.write_text("---\ntmms_to: beta\n")  # front matter not closed yet
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # appended by short-lived writers, like `echo >> file`
        with open(target, "a") as handle:
            handle.write("note: still writing\n")
        time.sleep(0.1)
        assert target.exists(), "dead-lettered while it was still changing"
        assert dead_letters(tmux_server) == []
    with open(target, "a") as handle:
        handle.write("still: [not closed\n")
    dead = wait_until(lambda: dead_letters(tmux_server))
    assert [p.name for p in dead] == ["slow-writer.md"]
    assert "front matter is not closed" in reason_of(dead[0])["reason"]
    assert messages(beta.inbox) == []


def test_a_slowly_appended_message_is_delivered_whole_once_complete(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    tmux_server.start_server(settle_seconds=0.5, polling_interval=0.1)
    text = message_text("alpha", "beta", body="the whole body\n")
    head, tail = text[: text.index("tmms_created_at")], text[text.index("tmms_created_at"):]
    target = alpha.outbox / "appended.md"
    target.write_text(head)
    for _ in range(8):
        time.sleep(0.1)
        assert target.exists() and dead_letters(tmux_server) == []
        with open(target, "a") as handle:
            handle.write("# more to come\n")
    with open(target, "a") as handle:
        handle.write(tail)
    wait_until(lambda: messages(beta.inbox))
    data, body = front(beta.inbox / "appended.md")
    assert (data["tmms_to"], body) == ("beta", "the whole body\n")
    assert dead_letters(tmux_server) == []


class BadFile(NamedTuple):
    test_id: str
    data: bytes
    reason: str


BAD_FILES = [
    BadFile("malformed-yaml", b"---\ntmms_to: beta\ntmms_from: [alpha\n---\nbody\n", "malformed YAML"),
    BadFile("list-front-matter", b"---\n- tmms_to: beta\n- tmms_from: alpha\n---\nbody\n", "not a mapping"),
    BadFile("non-utf8", b"---\ntmms_to: beta\ntmms_from: alpha\n---\ncaf\xe9 \xff\xfe\n", "not UTF-8"),
    BadFile("binary", b"---\ntmms_to: beta\ntmms_from: alpha\n---\n\x00\x01\x02", "binary content"),
    BadFile("huge", message_text("alpha", "beta", body="x" * 5000).encode(), "too large"),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=[c.test_id for c in BAD_FILES])
def test_a_bad_file_goes_to_dead_letter_and_good_mail_still_flows(tmux_server: TmuxServer, case: BadFile) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    proc = tmux_server.start_server(settle_seconds=0.2, max_message_bytes=2000)
    atomic_write(alpha.outbox, "000-bad.md", case.data)
    good_id = str(uuid.uuid4())
    good = atomic_write(alpha.outbox, "zzz-good.md", message_text("alpha", "beta", message_id=good_id).encode())
    wait_until(lambda: (beta.inbox / good.name).exists())
    assert front(beta.inbox / good.name)[0]["tmms_id"] == good_id
    dead = wait_until(lambda: dead_letters(tmux_server))
    assert [p.name for p in dead] == ["000-bad.md"]
    assert dead[0].read_bytes() == case.data
    assert case.reason in reason_of(dead[0])["reason"]
    assert messages(alpha.outbox) == []
    # The server carries on: more mail is delivered after the bad file.
    later = post(tmux_server, alpha.pane_id, "-t", "beta")
    wait_until(lambda: (beta.inbox / later.name).exists())
    assert proc.poll() is None


# -- moves, senders --------------------------------------------------------------------------------


def test_a_delivery_never_replaces_an_inbox_file_of_the_same_name(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    message_id = str(uuid.uuid4())
    name = message_name("alpha", "beta", message_id)
    existing = beta.inbox / name
    existing.write_text("an earlier message with the same name\n")
    tmux_server.start_server()
    atomic_write(alpha.outbox, name, message_text("alpha", "beta", message_id=message_id).encode())
    wait_until(lambda: len(messages(beta.inbox)) == 2)
    assert existing.read_text() == "an earlier message with the same name\n"
    [fresh] = [p for p in messages(beta.inbox) if p != existing]
    assert fresh.name == name.removesuffix(".md") + "-2.md"
    assert front(fresh)[0]["tmms_id"] == message_id
    assert messages(alpha.outbox) == []


def test_a_forged_sender_is_corrected_to_the_outbox_owner(tmux_server: TmuxServer) -> None:
    out = tmux_server.root / "notified"
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify=f"echo ${{{{tmms_from}}}} >> {out}")
    tmux_server.register("carol")
    tmux_server.start_server()
    extra = "# the author's comment\ncode: 007\n"
    forged = message_text("carol", "beta", body="trust me\n", subject="from carol", extra=extra)
    atomic_write(alpha.outbox, "forged.md", forged.encode())
    wait_until(lambda: messages(beta.inbox))
    delivered = beta.inbox / "forged.md"
    text = delivered.read_text()
    data, body = front(delivered)
    assert data["tmms_from"] == "alpha"
    assert "carol" not in text.replace("from carol", "")
    assert text.replace("tmms_from: alpha", "tmms_from: carol") == forged  # every other byte kept
    assert body == "trust me\n"
    assert wait_until(lambda: lines_of(out)) == ["alpha"]


# -- notify commands -------------------------------------------------------------------------------


def test_notify_templates_never_run_message_text_as_code(tmux_server: TmuxServer) -> None:
    out = tmux_server.root / "notified"
    pwned = tmux_server.root / "pwned"
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify=(
        f"printf '%s\\n' ${{{{tmms_subject}}}} \"${{{{tmms_subject}}}}\" '${{{{tmms_subject}}}}' "
        f"\"$(printf '%s' ${{{{tmms_subject}}}})\" >> {out}"))
    tmux_server.start_server()
    subjects = [f"$(touch {pwned}-1)", f"`touch {pwned}-2`", f"\"; touch {pwned}-3; \"",
                f"'; touch {pwned}-4; '", f"{pwned}-0; touch {pwned}-5", f"${{IFS}}$(touch {pwned}-6)"]
    for subject in subjects:
        post(tmux_server, alpha.pane_id, "-t", "beta", "-s", subject)
    wait_until(lambda: len(messages(beta.inbox)) == len(subjects))
    printed = wait_until(lambda: lines_of(out) if len(lines_of(out)) >= 4 * len(subjects) else None)
    assert sorted(set(printed)) == sorted(set(subjects))  # type: ignore[arg-type]
    assert list(tmux_server.root.glob("pwned*")) == []


def test_notify_gets_a_file_path_with_spaces_and_shell_characters_as_one_word(tmux_server: TmuxServer) -> None:
    out = tmux_server.root / "listed"
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify=f"ls ${{{{filepath}}}} >> {out}")
    tmux_server.start_server()
    name = "my note; $(echo hi) `id` 'x'.md"
    atomic_write(alpha.outbox, name, message_text("alpha", "beta").encode())
    assert wait_until(lambda: lines_of(out)) == [str(beta.inbox / name)]


def test_a_new_message_under_a_reused_name_is_notified(tmux_server: TmuxServer) -> None:
    out = tmux_server.root / "notified"
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify=f"echo ${{{{tmms_id}}}} >> {out}")
    tmux_server.start_server()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    atomic_write(alpha.outbox, "status.md", message_text("alpha", "beta", message_id=first).encode())
    wait_until(lambda: lines_of(out) == [first])
    (beta.inbox / "status.md").unlink()  # read and removed, as the README says
    atomic_write(alpha.outbox, "status.md", message_text("alpha", "beta", message_id=second).encode())
    wait_until(lambda: (beta.inbox / "status.md").exists())
    wait_until(lambda: lines_of(out) == [first, second], timeout=5)


def test_a_hanging_notify_is_killed_and_does_not_delay_other_panes(tmux_server: TmuxServer) -> None:
    pidfile = tmux_server.root / "sleeper.pid"
    out = tmux_server.root / "gamma-notified"
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta", notify=f"sleep 100 & echo $! > {pidfile}; wait")
    gamma = tmux_server.register("gamma", notify=f"echo ${{{{tmms_id}}}} >> {out}")
    proc = tmux_server.start_server(notify_timeout=3)
    post(tmux_server, alpha.pane_id, "-t", "beta")
    sleeper = int(wait_until(lambda: pidfile.exists() and pidfile.read_text().strip()))
    posted = post(tmux_server, alpha.pane_id, "-t", "gamma")
    wait_until(lambda: lines_of(out))
    assert (gamma.inbox / posted.name).exists()
    assert alive(sleeper), "the other pane's notify should still be running"
    wait_until(lambda: not alive(sleeper), timeout=15)
    wait_until(lambda: "notify beta: killed after 3s timeout" in log(tmux_server, proc))
    assert proc.poll() is None


def test_notify_runs_once_per_message_and_not_again_after_a_restart(tmux_server: TmuxServer) -> None:
    out = tmux_server.root / "notified"
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta", notify=f"echo ${{{{tmms_id}}}} >> {out}")
    cfg = tmux_server.config(polling_interval=0.1, notify_concurrency=1)
    first = tmux_server.start_server(config=cfg)
    post(tmux_server, alpha.pane_id, "-t", "beta")
    wait_until(lambda: len(lines_of(out)) == 1)
    post(tmux_server, alpha.pane_id, "-t", "beta")  # several full scans have run meanwhile
    wait_until(lambda: len(lines_of(out)) == 2)
    assert tmux_server.stop(first) == 0
    second = tmux_server.start_server(config=cfg)
    post(tmux_server, alpha.pane_id, "-t", "beta")
    # One notify at a time: a repeat of the old messages would have been queued at startup, first.
    wait_until(lambda: len(lines_of(out)) >= 3)
    ids = lines_of(out)
    assert len(ids) == 3 and len(set(ids)) == 3, ids
    assert second.poll() is None


def test_notify_repeat_interval_repeats_while_the_message_stays(tmux_server: TmuxServer) -> None:
    out = tmux_server.root / "notified"
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify=f"echo ${{{{tmms_id}}}} >> {out}")
    tmux_server.start_server(polling_interval=0.2, notify_repeat_interval=1)
    post(tmux_server, alpha.pane_id, "-t", "beta")
    wait_until(lambda: len(lines_of(out)) >= 3, timeout=15)
    assert len(set(lines_of(out))) == 1
    for path in messages(beta.inbox):  # read and removed: the repeats stop
        path.unlink()
    old = lines_of(out)[0]
    count = len(lines_of(out))
    post(tmux_server, alpha.pane_id, "-t", "beta")
    wait_until(lambda: len([x for x in lines_of(out) if x != old]) >= 2, timeout=15)
    assert lines_of(out).count(old) <= count + 1  # at most one that was already under way


# -- life cycle --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_server_with_exit_0(tmux_server: TmuxServer, sig: signal.Signals) -> None:
    tmux_server.register("alpha")
    proc = tmux_server.start_server(polling_interval=60)
    assert proc.poll() is None
    proc.send_signal(sig)
    assert proc.wait(timeout=5) == 0
    assert "stopped:" in log(tmux_server, proc)


def test_a_signal_stops_the_server_while_a_notify_hangs(tmux_server: TmuxServer) -> None:
    pidfile = tmux_server.root / "sleeper.pid"
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta", notify=f"sleep 100 & echo $! > {pidfile}; wait")
    proc = tmux_server.start_server()
    post(tmux_server, alpha.pane_id, "-t", "beta")
    sleeper = int(wait_until(lambda: pidfile.exists() and pidfile.read_text().strip()))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    wait_until(lambda: not alive(sleeper), timeout=5)


def test_a_second_server_exits_8_naming_the_lock_holder(tmux_server: TmuxServer) -> None:
    tmux_server.register("alpha")
    first = tmux_server.start_server()
    second = tmux_server.start_server()
    assert second.wait(timeout=10) == 8
    errors = [line for line in log(tmux_server, second).splitlines() if "error" in line]
    assert len(errors) == 1, errors
    assert errors[0].startswith("tmms: error: a tmms server is already running")
    assert f"pid {first.pid} holds" in errors[0]
    assert first.poll() is None


def test_a_second_server_given_the_socket_path_also_exits_8(tmux_server: TmuxServer) -> None:
    tmux_server.register("alpha")
    first = tmux_server.start_server()
    socket_path = tmux_server.tmux("display-message", "-p", "#{socket_path}").strip()
    second = subprocess.Popen([sys.executable, "-m", "tmms", "-S", socket_path, "server", "-c",
                               str(tmux_server.config())], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=tmux_server.env())
    try:
        _, err = second.communicate(timeout=10)
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(timeout=10)
    assert second.returncode == 8
    assert f"pid {first.pid} holds" in err.decode()
    assert first.poll() is None


def test_kill_9_during_a_burst_loses_and_duplicates_nothing(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    cfg = tmux_server.config(polling_interval=0.2)
    proc = tmux_server.start_server(config=cfg)
    ids = [str(uuid.uuid4()) for _ in range(200)]

    def burst() -> None:
        for n, message_id in enumerate(ids):
            body = f"message {n}\n" + "filler line\n" * 20
            atomic_write(alpha.outbox, message_name("alpha", "beta", message_id),
                         message_text("alpha", "beta", body, message_id=message_id).encode())

    writer = threading.Thread(target=burst)
    writer.start()
    try:
        wait_until(lambda: len(messages(beta.inbox)) >= 20, timeout=30, interval=0.001)
        proc.kill()
        proc.wait(timeout=10)
    finally:
        writer.join(timeout=60)
    # Kill the restarted server too, while it works through the backlog, then restart again.
    catching_up = tmux_server.start_server(config=cfg)
    wait_until(lambda: len(messages(beta.inbox)) >= 60, timeout=30, interval=0.001)
    catching_up.kill()
    catching_up.wait(timeout=10)
    tmux_server.start_server(config=cfg)
    wait_until(lambda: not messages(alpha.outbox) and len(messages(beta.inbox)) >= 200, timeout=30)
    delivered = messages(beta.inbox)
    found = [front(path)[0]["tmms_id"] for path in delivered]
    assert len(found) == 200
    assert sorted(found) == sorted(ids)
    assert [p for p in beta.inbox.iterdir() if p.name.startswith(".")] == []
    assert dead_letters(tmux_server) == []


# -- isolation -----------------------------------------------------------------------------------------


@pytest.fixture
def other_tmux_server(tmux_server: TmuxServer, tmp_path: Path) -> Iterator[TmuxServer]:
    """A second private tmux server with its own folders (HOME is shared)."""
    root = tmp_path / "other"
    root.mkdir()
    with private_tmux(root) as server:
        yield server


def test_two_tmux_servers_with_their_own_tmms_servers_do_not_cross_deliver(
    tmux_server: TmuxServer, other_tmux_server: TmuxServer
) -> None:
    one, two = tmux_server, other_tmux_server
    alpha1, beta1 = one.register("alpha"), one.register("beta")
    alpha2, beta2 = two.register("alpha"), two.register("beta")
    gamma2 = two.register("gamma")
    server1, server2 = one.start_server(), two.start_server()
    assert server1.poll() is None and server2.poll() is None
    to_beta1 = post(one, alpha1.pane_id, "-t", "beta", body="on server one\n")
    to_beta2 = post(two, alpha2.pane_id, "-t", "beta", body="on server two\n")
    to_gamma = post(one, alpha1.pane_id, "-t", "gamma", body="gamma lives on server two only\n")
    wait_until(lambda: messages(beta1.inbox) and messages(beta2.inbox))
    assert [p.name for p in messages(beta1.inbox)] == [to_beta1.name]
    assert [p.name for p in messages(beta2.inbox)] == [to_beta2.name]
    assert front(beta1.inbox / to_beta1.name)[1] == "on server one\n"
    assert front(beta2.inbox / to_beta2.name)[1] == "on server two\n"
    dead = wait_until(lambda: dead_letters(one))
    assert [p.name for p in dead] == [to_gamma.name]
    assert messages(gamma2.inbox) == []
    assert dead_letters(two) == []

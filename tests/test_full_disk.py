"""A real full disk: small tmpfs mounts stand in for a filesystem with no space left.

Mounting needs root; where it is not allowed the tests skip with the reason.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import TmuxServer, messages, wait_until


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'mount failed'})")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB filesystem of our own, unmounted afterwards."""
    disk = tmp_path / "small-disk"
    _mount_tmpfs(disk, "64k")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def _fill(disk: Path) -> Path:
    """Fill the disk to the last byte; return the filler file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_post_to_a_full_disk_exits_7_and_leaves_nothing_behind(tmux_server: TmuxServer, small_disk: Path) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    outbox = small_disk / "outbox"
    outbox.mkdir()
    tmux_server.tmux("set-option", "-p", "-t", alpha.pane_id, "@tmms_outbox", str(outbox))
    _fill(small_disk)
    proc = tmux_server.main("post", "-t", "beta", "-s", "big", pane=alpha.pane_id, input="x" * 20000 + "\n")
    assert proc.returncode == 7, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tmms: error: cannot write "), proc.stderr
    assert "No space left on device" in lines[0]
    assert proc.stdout == ""
    assert list(outbox.iterdir()) == []  # no message, no temporary file


def test_a_full_inbox_disk_keeps_the_message_in_the_outbox_until_there_is_room(
    tmux_server: TmuxServer, small_disk: Path
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", inbox=small_disk / "inbox")
    filler = _fill(small_disk)
    proc = tmux_server.start_server(polling_interval=0.3)
    body = "y" * 20000 + "\n"
    posted = tmux_server.tmms("post", "-t", "beta", "-s", "waits", pane=alpha.pane_id, input=body)
    assert posted.returncode == 0, posted.stderr
    sent = Path(posted.stdout.strip())
    wait_until(lambda: b"No space left on device" in tmux_server.server_log(proc))
    assert sent.exists(), "the message must stay in the outbox while the inbox's disk is full"
    assert messages(beta.inbox) == []
    assert not list(beta.inbox.glob(".*")), "no partial copy may be left in the inbox"
    assert proc.poll() is None
    filler.unlink()
    delivered = wait_until(lambda: messages(beta.inbox), timeout=15)
    assert [p.name for p in delivered] == [sent.name]
    assert delivered[0].read_text().endswith(body)
    assert not sent.exists()


# -- issue #7 item 10: every writer of the server writes all or nothing ------------------------------------


def _leave_free(filler: Path, free: int) -> None:
    """Give back ``free`` bytes of a disk filled to the last byte."""
    os.truncate(filler, max(filler.stat().st_size - free, 0))


def _forged(body: str) -> str:
    return f"---\ntmms_id: 0c6f1a3e-8d2b-4f4e-9a61-2b7d9e0f5a11\ntmms_from: carol\ntmms_to: beta\n---\n{body}"


def test_a_sender_correction_on_a_nearly_full_outbox_disk_waits_and_delivers_the_whole_message(
    tmux_server: TmuxServer, small_disk: Path
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    tmux_server.register("carol")
    outbox = small_disk / "outbox"
    outbox.mkdir()
    tmux_server.tmux("set-option", "-p", "-t", alpha.pane_id, "@tmms_outbox", str(outbox))
    body = "z" * 20000 + "\n"
    forged = outbox / "forged.md"
    forged.write_text(_forged(body))  # 20 KB, claiming carol: the router must rewrite it as from alpha
    filler = _fill(small_disk)
    _leave_free(filler, 8192)
    proc = tmux_server.start_server(polling_interval=0.3, settle_seconds=0)
    wait_until(lambda: b"No space left on device" in tmux_server.server_log(proc))
    assert messages(beta.inbox) == [], "no truncated (or any) copy may be delivered while the disk is full"
    assert forged.read_text() == _forged(body), "the message waits in the outbox, untouched"
    assert not [p for p in outbox.iterdir() if p.name.startswith(".")], "no temporary or staged file is left"
    filler.unlink()
    [delivered] = wait_until(lambda: messages(beta.inbox), timeout=15)
    text = delivered.read_text()
    assert text == _forged(body).replace("tmms_from: carol", "tmms_from: alpha")
    assert not forged.exists()
    assert proc.poll() is None


def test_a_corrected_message_copied_to_a_full_inbox_disk_waits_and_is_delivered_whole(
    tmux_server: TmuxServer, small_disk: Path
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", inbox=small_disk / "inbox")
    tmux_server.register("carol")
    filler = _fill(small_disk)
    _leave_free(filler, 8192)
    proc = tmux_server.start_server(polling_interval=0.3, settle_seconds=0)
    body = "q" * 20000 + "\n"
    forged = alpha.outbox / "forged.md"
    temp = alpha.outbox / ".forged.md.writing"
    temp.write_text(_forged(body))
    os.rename(temp, forged)
    wait_until(lambda: b"No space left on device" in tmux_server.server_log(proc))
    assert messages(beta.inbox) == []
    assert not list(beta.inbox.glob(".*")), "no partial copy may be left in the inbox"
    filler.unlink()
    [delivered] = wait_until(lambda: messages(beta.inbox), timeout=15)
    assert delivered.read_text() == _forged(body).replace("tmms_from: carol", "tmms_from: alpha")
    assert messages(alpha.outbox) == []


def test_a_dead_letter_on_a_full_disk_waits_and_is_set_aside_whole_with_its_reason(
    tmux_server: TmuxServer, small_disk: Path
) -> None:
    alpha = tmux_server.register("alpha")
    dead = small_disk / "dead"
    filler = _fill(small_disk)
    config = tmux_server.config(dead_letter_dir=str(dead), polling_interval=0.3, settle_seconds=0,
                                recipient_grace_seconds=0)
    proc = tmux_server.start_server(config=config)
    body = "d" * 20000 + "\n"
    (alpha.outbox / ".x.writing").write_text(_forged(body).replace("tmms_to: beta", "tmms_to: nobody"))
    os.rename(alpha.outbox / ".x.writing", alpha.outbox / "x.md")
    wait_until(lambda: b"cannot move into dead letter" in tmux_server.server_log(proc))
    assert messages(dead) == [] and not list(dead.glob(".*"))
    filler.unlink()
    [letter] = wait_until(lambda: messages(dead), timeout=15)
    assert letter.read_text().endswith(body)
    reason = Path(str(letter) + ".reason.json")
    wait_until(reason.exists)
    assert "unknown recipient" in reason.read_text()
    assert messages(alpha.outbox) == []

"""No error raised while one file or folder is read, parsed or moved ends the server, nor any
restart (issue 7, item 1, the server's side); exhausted inotify limits are said once and shown in
the run info, and mail still flows (item 22)."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import TmuxServer, messages, wait_until
from test_server_events import StartServer, ids_in, reason_of, start_server, write_message
from tmms import store
from tmms.errors import MessageError
from tmms.message import read_headers
from tmms.registry import Mailbox
from tmms.server import runinfo
from tmms.server.notify import Notices
from tmms.server.router import Outcome, Router, Status
from tmms.watch import INSTANCE_LIMIT, WATCH_LIMIT, Watcher, _init_reason

__all__ = ["start_server"]  # the fixture, shared with test_server_events

POISON = "poison"


class PoisonRouter(Router):
    """A router whose parser blows up on one file, as a RecursionError from a YAML library did."""

    def route(self, entry: store.Entry, outbox: str) -> Outcome:
        if POISON in entry.name:
            raise RecursionError("maximum recursion depth exceeded while calling a Python object")
        return super().route(entry, outbox)


class PoisonNotices(Notices):
    """Notices whose reading of one inbox file blows up."""

    def _notify(self, box: Mailbox, path: str, key: str, headers: object) -> None:
        if POISON in os.path.basename(path):
            raise RecursionError("maximum recursion depth exceeded")
        super()._notify(box, path, key, headers)  # type: ignore[arg-type]


def _poisoned(start_server: StartServer, **values: object):  # type: ignore[no-untyped-def]
    """A server in a thread whose router and notices raise on files named *poison*."""
    served = start_server(**values)
    served.server.router.__class__ = PoisonRouter
    served.server.notices.__class__ = PoisonNotices
    return served


def _logged(caplog: pytest.LogCaptureFixture, text: str, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage() and r.levelno >= level]


def _ids(folder: Path) -> list[str]:
    """The ids of the messages of a folder that can be read (a hostile one is skipped)."""
    found = []
    for path in messages(folder):
        try:
            found.append(read_headers(path.read_text()).message_id)
        except MessageError:
            continue
    return found


# -- item 1: one file never stops the server ------------------------------------------------------


def test_a_file_whose_routing_raises_goes_to_dead_letter_and_the_mail_after_it_flows(
    tmux_server: TmuxServer, start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    alpha = tmux_server.register("alpha")
    out = tmux_server.root / "notified"
    beta = tmux_server.register("beta", notify=f"echo ${{{{tmms_id}}}} >> {out}")
    served = _poisoned(start_server, polling_interval=0.3)
    store.write_new(str(alpha.outbox), f"000-{POISON}.md", b"---\ntmms_to: beta\n---\nx\n")
    after = [write_message(alpha.outbox, "alpha", "beta") for _ in range(3)]
    wait_until(lambda: sorted(ids_in(beta.inbox)) == sorted(after))
    [dead] = wait_until(lambda: messages(tmux_server.root / "dead"))
    wait_until(lambda: out.exists() and sorted(out.read_text().split()) == sorted(after))
    served.settle()
    served.stop()
    assert dead.name == f"000-{POISON}.md"
    assert "RecursionError" in reason_of(dead)
    assert messages(alpha.outbox) == []


def test_a_restart_with_a_file_that_raises_in_the_startup_scan_does_not_crash(
    tmux_server: TmuxServer, start_server: StartServer
) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify="true")
    for n in range(3):  # in the outbox, and in the inbox (its notify is read at start)
        store.write_new(str(alpha.outbox), f"{n}-{POISON}.md", b"---\ntmms_to: beta\n---\nx\n")
        store.write_new(str(beta.inbox), f"{n}-{POISON}.md", b"---\ntmms_to: beta\n---\nx\n")
    for _ in range(2):  # each start finds the inbox files again
        served = _poisoned(start_server, polling_interval=0.3)
        good = write_message(alpha.outbox, "alpha", "beta")
        wait_until(lambda good=good: good in ids_in(beta.inbox))  # type: ignore[misc]
        served.settle()
        served.stop()  # asserts the server thread raised nothing
    assert messages(alpha.outbox) == []
    assert len(messages(tmux_server.root / "dead")) == 3


def test_an_inbox_file_whose_notify_raises_is_logged_once_and_the_others_are_notified(
    tmux_server: TmuxServer, start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    alpha = tmux_server.register("alpha")
    out = tmux_server.root / "notified"
    beta = tmux_server.register("beta", notify=f"echo ${{{{tmms_id}}}} >> {out}")
    caplog.set_level(logging.INFO, logger="tmms")
    store.write_new(str(beta.inbox), f"{POISON}.md", b"---\ntmms_to: beta\n---\nx\n")
    served = _poisoned(start_server, polling_interval=0.2)
    sent = [write_message(alpha.outbox, "alpha", "beta") for _ in range(3)]
    wait_until(lambda: out.exists() and sorted(out.read_text().split()) == sorted(sent))
    served.settle()  # several full scans of the inbox, each meeting the file again
    served.stop()
    assert len(_logged(caplog, f"cannot run for {beta.inbox / POISON}.md")) == 1


DEEP = [
    ("flow-500", "x: " + "[" * 500 + "]" * 500 + "\n"),
    ("block-400-in-tmms-value", "tmms_subject:\n" + "".join("  " * i + "-\n" for i in range(1, 400))),
    ("mapping-300", "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "v: 1\n"),
]


@pytest.mark.parametrize(("test_id", "nesting"), DEEP, ids=[d[0] for d in DEEP])
def test_deeply_nested_front_matter_in_an_outbox_and_an_inbox_never_stops_a_real_server(
    tmux_server: TmuxServer, test_id: str, nesting: str
) -> None:
    alpha = tmux_server.register("alpha")
    out = tmux_server.root / "notified"
    beta = tmux_server.register("beta", notify=f"echo ${{{{filepath}}}} >> {out}")
    text = f"---\ntmms_id: {uuid.uuid4()}\ntmms_from: alpha\ntmms_to: beta\n{nesting}---\nbody\n".encode()
    store.write_new(str(alpha.outbox), f"deep-{test_id}.md", text)
    store.write_new(str(beta.inbox), f"deep-{test_id}.md", text)
    for _ in range(2):
        proc = tmux_server.start_server(settle_seconds=0.2)
        assert proc.poll() is None, tmux_server.server_log(proc)
        good = write_message(alpha.outbox, "alpha", "beta")
        wait_until(lambda good=good: good in _ids(beta.inbox))  # type: ignore[misc]
        wait_until(lambda: out.exists() and str(beta.inbox / f"deep-{test_id}.md") in out.read_text())
        wait_until(lambda: messages(tmux_server.root / "dead"))
        assert tmux_server.stop(proc) == 0
    assert [p.name for p in messages(tmux_server.root / "dead")] == [f"deep-{test_id}.md"]
    assert out.read_text().count(f"deep-{test_id}.md") == 1  # notified once, with its path, not at each start


def test_folders_that_are_files_never_stop_the_server_at_start_or_later(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    not_a_folder = tmux_server.root / "not-a-folder"
    not_a_folder.write_text("a file where a folder should be\n")
    broken = tmux_server.register("broken")
    for option in ("@tmms_inbox", "@tmms_outbox"):
        tmux_server.tmux("set-option", "-p", "-t", broken.pane_id, option, str(not_a_folder))
    dead_file = tmux_server.root / "dead-is-a-file"
    dead_file.write_text("x\n")
    for _ in range(2):
        proc = tmux_server.start_server(dead_letter_dir=str(dead_file), polling_interval=0.2)
        assert proc.poll() is None, tmux_server.server_log(proc)
        for _ in range(3):  # scans every 0.2 s meet the odd folders again meanwhile
            good = write_message(alpha.outbox, "alpha", "beta")
            wait_until(lambda good=good: good in ids_in(beta.inbox))  # type: ignore[misc]
        assert proc.poll() is None
        assert tmux_server.stop(proc) == 0
    assert not_a_folder.read_text() == "a file where a folder should be\n"


# -- item 22: inotify limits ---------------------------------------------------------------------


def test_a_watch_beyond_the_limit_fails_and_says_which_sysctl_to_raise(tmp_path: Path) -> None:
    folders = [tmp_path / f"f{n}" for n in range(3)]
    for folder in folders:
        folder.mkdir()
    watcher = Watcher(max_watches=2)
    try:
        assert watcher.degraded is None
        assert [watcher.watch(str(f)) for f in folders] == [True, True, False]
        assert watcher.degraded == f"1 folder(s) not watched: {WATCH_LIMIT}"
        assert "fs.inotify.max_user_watches" in WATCH_LIMIT
        assert not watcher.watch(str(tmp_path / "missing"))  # a missing folder is no limit
        assert watcher.refused() == {str(folders[2])}
        watcher.unwatch(str(folders[0]))
        assert watcher.watch(str(folders[2]))  # room again
        assert watcher.degraded is None
    finally:
        watcher.close()


@pytest.mark.parametrize(("err", "words"), [
    (errno.EMFILE, "fs.inotify.max_user_instances"), (errno.ENFILE, "open file limit"),
    (errno.ENOSYS, "no inotify"), (errno.ENOMEM, "inotify unavailable"),
], ids=["EMFILE", "ENFILE", "ENOSYS", "ENOMEM"])
def test_why_inotify_could_not_start_is_said_in_words(err: int, words: str) -> None:
    assert words in _init_reason(err)
    assert _init_reason(errno.EMFILE) == INSTANCE_LIMIT


def test_inotify_that_cannot_start_for_want_of_descriptors_leaves_polling_and_says_why(tmp_path: Path) -> None:
    """A real EMFILE from inotify_init1: a process with exactly two descriptors left (the wake-up pipe's)."""
    script = (
        "import os, resource\n"
        "from tmms.watch import Watcher\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
        "held = []\n"
        "try:\n"
        "    while True:\n"
        "        held.append(os.open('/dev/null', os.O_RDONLY))\n"
        "except OSError:\n"
        "    pass\n"
        "os.close(held.pop()); os.close(held.pop())\n"
        "w = Watcher()\n"
        f"print(w.available, w.watch({str(tmp_path)!r}), w.degraded, sep='|')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"False|False|{INSTANCE_LIMIT}"


def test_exhausted_watches_are_logged_once_published_and_mail_still_flows(
    tmux_server: TmuxServer, start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tmms")
    out = tmux_server.root / "notified"
    boxes = [tmux_server.register(name, notify=f"echo ${{{{tmms_id}}}} >> {out}") for name in ("a", "b", "c")]
    served = start_server(watcher=Watcher(max_watches=2), polling_interval=0.3)
    sent = []
    for sender in boxes:  # every outbox to every inbox: most folders are found by the scan only
        for to in boxes:
            sent.append(write_message(sender.outbox, sender.name, to.name))
    late = tmux_server.register("d", notify=f"echo ${{{{tmms_id}}}} >> {out}")  # one more folder pair
    sent.append(write_message(late.outbox, "d", "a"))
    wait_until(lambda: out.exists() and sorted(out.read_text().split()) == sorted(sent), timeout=30)
    served.settle()
    info = runinfo.read(served.server.lock.info_path or "")
    mode = served.server.watch_mode()
    peers = tmux_server.tmms("peers", pane=boxes[0].pane_id)
    served.stop()
    assert peers.returncode == 0, peers.stderr
    assert "fs.inotify.max_user_watches" in peers.stdout + peers.stderr
    assert served.server.degraded is not None and "max_user_watches" in served.server.degraded
    assert len(_logged(caplog, "fs.inotify.max_user_watches", logging.WARNING)) == 1
    assert mode.startswith("file events, but 6 folder(s) not watched") and "max_user_watches" in mode
    assert info is not None and "max_user_watches" in info.watch
    assert sorted(ids_in(boxes[0].inbox) + ids_in(boxes[1].inbox) + ids_in(boxes[2].inbox)) == sorted(sent)
    assert Status.FAILED not in {o.status for o in served.outcomes}

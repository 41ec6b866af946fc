"""``tmms demo``: a private tmux server, three mailbox panes, a scripted conversation, a timeline."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from .config import Config
from .errors import TmuxNotFound
from .notify import Job
from .router import Outcome, Status
from .server import Server
from .tmux import Tmux

NOTIFY = (
    "printf '\\n\\033[1m>> new mail from %s: %s\\033[0m\\n   %s\\n' "
    '"${{tmms_from}}" "${{tmms_subject}}" "${{filepath}}" '
    "> \"$(tmux display-message -p -t \"$TMUX_PANE\" '#{pane_tty}')\""
)
SCRIPT = (
    ("alice", "bob", "Run the test suite", "Please run the tests on main and report back."),
    ("bob", "alice", "Re: Run the test suite", "412 passed, 0 failed."),
    ("alice", "carol", "Review PR #7", "Could you review the parser change? $(rm -rf ~) is just text here."),
    ("carol", "alice", "Re: Review PR #7", "LGTM, one nit about naming."),
    ("alice", "dave", "Anyone there?", "dave has no pane, so this goes to dead letter."),
)


@dataclass
class _Event:
    kind: str
    at: float
    detail: str


class _Timeline:
    """Collects server events by message file name, thread-safely."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.events: dict[str, list[_Event]] = {}

    def add(self, name: str, kind: str, detail: str = "") -> None:
        with self.lock:
            self.events.setdefault(name, []).append(_Event(kind, time.monotonic(), detail))
            self.lock.notify_all()

    def wait_for(self, name: str, kinds: set[str], timeout: float = 5.0) -> list[_Event]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not kinds <= {e.kind for e in self.events.get(name, [])}:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(left)
            return list(self.events.get(name, []))


def run_demo(attach: bool = False, keep: bool = False, out: TextIO = sys.stdout) -> int:
    """Run the demo; returns an exit code. Leaves nothing running unless ``keep``."""
    if shutil.which("tmux") is None:
        raise TmuxNotFound()
    logging.getLogger("tmms").addHandler(logging.NullHandler())
    logging.getLogger("tmms").propagate = False
    root = tempfile.mkdtemp(prefix="tmms-demo-")
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    tmux = Tmux(socket_name=f"tmms-demo-{os.getpid()}", env=env)
    tmux.run(["-f", "/dev/null", "new-session", "-d", "-s", "demo", "-x", "180", "-y", "45", "-n", "mail"])
    timeline = _Timeline()
    server: Server | None = None
    thread: threading.Thread | None = None
    try:
        panes = _make_panes(tmux, root)
        config = Config(polling_interval=2.0, dead_letter_dir=os.path.join(root, "dead_letter"), notify_timeout=5)
        server = Server(tmux, config, env=env, on_outcome=lambda o: _on_outcome(timeline, o),
                        on_notify=lambda e, j, i: _on_notify(timeline, e, j, i))
        thread = threading.Thread(target=server.run, name="tmms-demo-server", daemon=True)
        thread.start()
        time.sleep(0.3)
        out.write(f"tmms demo: tmux server -L {tmux.socket_name}, mail in {root}\n")
        out.write("panes: " + ", ".join(f"{name} ({pane})" for name, pane in panes.items()) + "\n\n")
        if attach:
            return _attach(tmux, panes, timeline, out)
        _converse(tmux, panes, timeline, out, env)
        _summary(root, out)
        if keep:
            out.write(f"\nkept running: attach with 'tmux -L {tmux.socket_name} attach', "
                      f"stop with 'tmux -L {tmux.socket_name} kill-server'\n")
        return 0
    finally:
        if server is not None:
            server.request_stop()
        if thread is not None:
            thread.join(timeout=3)
        if not keep:
            tmux.run(["kill-server"], check=False)
            shutil.rmtree(root, ignore_errors=True)


def _make_panes(tmux: Tmux, root: str) -> dict[str, str]:
    panes: dict[str, str] = {}
    first = tmux.run(["display-message", "-p", "-t", "demo:mail", "#{pane_id}"]).strip()
    for index, name in enumerate(("alice", "bob", "carol")):
        pane = first if index == 0 else tmux.run(
            ["split-window", "-t", "demo:mail", "-h" if index == 1 else "-v", "-P", "-F", "#{pane_id}"]).strip()
        box = os.path.join(root, name)
        for sub in ("inbox", "outbox"):
            os.makedirs(os.path.join(box, sub), exist_ok=True)
        options = {"@tmms_enabled": "true", "@tmms_name": name, "@tmms_inbox": os.path.join(box, "inbox"),
                   "@tmms_outbox": os.path.join(box, "outbox"), "@tmms_notify_cmd": NOTIFY}
        for key, value in options.items():
            tmux.set_pane_option(pane, key, value)
        tmux.run(["select-pane", "-t", pane, "-T", name])
        tmux.run(["send-keys", "-t", pane, f"clear; echo 'I am {name}; my mail is in {box}'", "Enter"])
        panes[name] = pane
    tmux.run(["set-option", "-t", "demo", "pane-border-status", "top"])
    return panes


def _on_outcome(timeline: _Timeline, outcome: Outcome) -> None:
    name = os.path.basename(outcome.source)
    if outcome.status is Status.DELIVERED:
        timeline.add(name, "delivered", outcome.path)
    elif outcome.status is Status.DEAD:
        timeline.add(name, "dead", outcome.reason)


def _on_notify(timeline: _Timeline, event: str, job: Job, info: Mapping[str, object]) -> None:
    if event == "started":
        timeline.add(os.path.basename(job.env.get("TMMS_FILEPATH", "")), "notified", str(info.get("pid")))


def _post(tmux: Tmux, pane: str, to: str, subject: str, body: str, env: Mapping[str, str]) -> tuple[str, float]:
    argv = [sys.executable, "-m", "tmms", "-L", str(tmux.socket_name), "post", "-t", to, "-s", subject]
    started = time.monotonic()
    proc = subprocess.run(argv, input=body.encode(), capture_output=True, env={**env, "TMUX_PANE": pane})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode().strip())
    return proc.stdout.decode().strip().splitlines()[0], started


def _converse(tmux: Tmux, panes: Mapping[str, str], timeline: _Timeline, out: TextIO,
              env: Mapping[str, str]) -> None:
    out.write(f"{'from':<6} {'to':<6} {'subject':<24} {'post':>9} {'inbox':>9} {'notify':>9}\n")
    for sender, to, subject, body in SCRIPT:
        path, started = _post(tmux, panes[sender], to, subject, body, env)
        returned = time.monotonic()
        events = timeline.wait_for(os.path.basename(path), {"delivered", "notified"} if to in panes else {"dead"})
        times = {e.kind: e.at for e in events}
        post_ms = f"{(returned - started) * 1000:.0f} ms"
        if "dead" in times:
            reason = next(e.detail for e in events if e.kind == "dead")
            out.write(f"{sender:<6} {to:<6} {subject[:24]:<24} {post_ms:>9}   dead letter: {reason}\n")
            continue
        inbox = _ms(times.get("delivered"), returned)
        notified = _ms(times.get("notified"), returned)
        out.write(f"{sender:<6} {to:<6} {subject[:24]:<24} {post_ms:>9} {inbox:>9} {notified:>9}\n")
    out.write("\npost: wall time of 'tmms post'; inbox/notify: time after post returned until the file was in\n"
              "the recipient's inbox / its notify command had started.\n")


def _ms(at: float | None, since: float) -> str:
    return "missing" if at is None else f"+{max(0.0, at - since) * 1000:.1f} ms"


def _summary(root: str, out: TextIO) -> None:
    out.write("\nmailboxes now:\n")
    for name in ("alice", "bob", "carol"):
        inbox = os.path.join(root, name, "inbox")
        files = sorted(f for f in os.listdir(inbox) if f.endswith(".md"))
        out.write(f"  {name:<6} inbox: {len(files)} unread" + "".join(f"\n    {f}" for f in files) + "\n")
    dead = os.path.join(root, "dead_letter")
    names = sorted(os.listdir(dead)) if os.path.isdir(dead) else []
    out.write(f"  dead letter: {', '.join(names) or 'empty'}\n")


def _attach(tmux: Tmux, panes: Mapping[str, str], timeline: _Timeline, out: TextIO) -> int:
    out.write("attaching; the conversation types itself into the panes. Detach with prefix+d to end.\n")
    python = shlex.quote(sys.executable)

    def typer() -> None:
        time.sleep(1.5)
        for sender, to, subject, body in SCRIPT:
            line = (f"printf '%s\\n' {shlex.quote(body)} | {python} -m tmms post -t {shlex.quote(to)} "
                    f"-s {shlex.quote(subject)}")
            tmux.run(["send-keys", "-t", panes[sender], line, "Enter"], check=False)
            time.sleep(2.5)

    threading.Thread(target=typer, daemon=True).start()
    return subprocess.call([tmux.binary, *tmux.socket_args(), "attach", "-t", "demo"])

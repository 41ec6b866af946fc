"""``tmms demo``: a private tmux server, an orchestrator pane and two scripted agents, a timeline.

The orchestrator ``ask``s the agents (``python -m tmms.cli.demo_agent``, each running in its own pane)
for work; they ``wait`` for mail and ``reply`` in the thread. One message goes to a name nobody
holds and ends in dead letter. The demo prints when each message was delivered and notified.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from .. import api
from ..config import Config
from ..errors import DemoFailed, TmuxNotFound, UsageError
from ..keys import tmms_command
from ..server.loop import Server
from ..server.router import Outcome, Status
from ..server.runner import Detail, Event, Job
from ..tmux import Tmux

LEAD = "lead"
WORKERS = ("worker-1", "worker-2")
NOTIFY = (
    "printf '\\n\\033[1m>> new mail from %s: %s\\033[0m\\n' "
    '"${{tmms_from}}" "${{tmms_subject}}" '
    "> \"$(tmux display-message -p -t \"$TMUX_PANE\" '#{pane_tty}')\""
)


@dataclass(frozen=True)
class Ask:
    """One request of the script: to whom, the subject, the body."""

    to: str
    subject: str
    body: str


SCRIPT = (
    Ask("worker-1", "Count words", "The quick brown fox jumps over the lazy dog."),
    Ask("worker-2", "Sort lines", "linus\nada\ngrace\n"),
    Ask("@workers", "Status?", "Are you free for the next task? $(rm -rf ~) is only text here."),
)
LOST = Ask("dave", "Anyone there?", "dave has no pane, so this goes to dead letter.")


@dataclass
class _Trace:
    """What the server did with one message, by wall-clock time."""

    sender: str = ""
    recipient: str = ""
    subject: str = ""
    created: float = 0.0
    delivered: float | None = None
    notified: float | None = None
    dead: str = ""


@dataclass
class _Timeline:
    """Server events by message id, thread-safe."""

    traces: dict[str, _Trace] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def outcome(self, outcome: Outcome) -> None:
        h = outcome.headers
        if h is None or not h.message_id:
            return
        with self.lock:
            trace = self._trace(h.message_id)
            trace.sender, trace.recipient, trace.subject = h.sender, h.recipient, h.subject
            trace.created = _epoch(h.created_at)
            if outcome.status is Status.DELIVERED:
                trace.delivered = time.time()
            elif outcome.status is Status.DEAD:
                trace.dead = outcome.reason
            self.lock.notify_all()

    def notify(self, event: Event, job: Job, _detail: Detail) -> None:
        message_id = job.env.get("TMMS_ID", "")
        if event == "started" and message_id:
            with self.lock:
                self._trace(message_id).notified = time.time()
                self.lock.notify_all()

    def _trace(self, message_id: str) -> _Trace:
        if message_id not in self.traces:
            self.traces[message_id] = _Trace()
            self.order.append(message_id)
        return self.traces[message_id]

    def wait_dead(self, subject: str, timeout: float) -> _Trace | None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                found = next((t for t in self.traces.values() if t.subject == subject and t.dead), None)
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found
                self.lock.wait(left)


def _epoch(stamp: str) -> float:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def run_demo(attach: bool = False, keep: bool = False, out: TextIO = sys.stdout) -> int:
    """Run the demo; returns an exit code. Leaves nothing running unless ``keep``."""
    if attach and not (sys.stdin.isatty() and out.isatty()):
        raise UsageError("--attach needs a terminal (stdin and stdout are not one); run 'tmms demo' without it")
    if shutil.which("tmux") is None:
        raise TmuxNotFound()
    logging.getLogger("tmms").addHandler(logging.NullHandler())
    logging.getLogger("tmms").propagate = False
    root = tempfile.mkdtemp(prefix="tmms-demo-")
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env["XDG_STATE_HOME"] = os.path.join(root, "state")  # the demo's journal stays in the demo
    tmux = Tmux(socket_name=f"tmms-demo-{os.getpid()}", env=env)
    tmux.run(["-f", "/dev/null", "new-session", "-d", "-s", "demo", "-x", "180", "-y", "45", "-n", "mail"])
    timeline = _Timeline()
    server: Server | None = None
    thread: threading.Thread | None = None
    try:
        panes = _make_panes(tmux, root)
        config = Config(polling_interval=2.0, dead_letter_dir=os.path.join(root, "dead_letter"), notify_timeout=5,
                        recipient_grace_seconds=0.5)
        server = Server(tmux, config, env=env, on_outcome=timeline.outcome, on_notify=timeline.notify)
        thread = threading.Thread(target=server.run, name="tmms-demo-server", daemon=True)
        thread.start()
        _wait_registered(tmux, set(panes))
        out.write(f"tmms demo: tmux server -L {tmux.socket_name}, mail in {root}\n")
        out.write("panes: " + ", ".join(f"{name} ({pane})" for name, pane in panes.items()) + "\n")
        out.flush()
        if attach:
            return _attach(tmux, panes, out)
        _converse(tmux, panes[LEAD], env, timeline, out)
        if keep:
            out.write(f"\nkept running: attach with 'tmux -L {tmux.socket_name} attach', "
                      f"stop with 'tmux -L {tmux.socket_name} kill-server'\n")
        return 0
    finally:
        if server is not None:
            server.request_stop()
        if thread is not None:
            thread.join(timeout=10)  # it releases its lock (and removes the lock file) as it ends
        if not keep:
            tmux.run(["kill-server"], check=False)
            _remove_socket(tmux.socket_path)
            shutil.rmtree(root, ignore_errors=True)


def _remove_socket(path: str) -> None:
    """Remove the socket file of the demo's own tmux server, which tmux 3.3 leaves behind."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass


def _make_panes(tmux: Tmux, root: str) -> dict[str, str]:
    """The orchestrator pane (a shell) and one pane per scripted agent (the agent is the pane's program)."""
    lead = tmux.run(["display-message", "-p", "-t", "demo:mail", "#{pane_id}"]).strip()
    box = os.path.join(root, LEAD)
    api.register(tmux, LEAD, target=lead, notify=NOTIFY, inbox=os.path.join(box, "inbox"),
                 outbox=os.path.join(box, "outbox"), start_server=False, write_config=False)
    tmux.run(["select-pane", "-t", lead, "-T", LEAD])
    panes = {LEAD: lead}
    for index, name in enumerate(WORKERS):
        box = os.path.join(root, name)
        agent = [*tmms_command("tmms.cli.demo_agent"), name, "--group", "workers",
                 "--inbox", os.path.join(box, "inbox"), "--outbox", os.path.join(box, "outbox")]
        pane = tmux.run(["split-window", "-t", "demo:mail", "-h" if index == 0 else "-v", "-P", "-F", "#{pane_id}",
                         " ".join(shlex.quote(a) for a in agent)]).strip()
        tmux.run(["select-pane", "-t", pane, "-T", name])
        panes[name] = pane
    tmux.run(["set-option", "-t", "demo", "pane-border-status", "top"])
    return panes


def _wait_registered(tmux: Tmux, names: set[str], timeout: float = 15.0) -> None:
    from ..registry import Registry

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if names <= set(Registry.from_panes(tmux.list_panes(), tmux.env).by_name):
            return
        time.sleep(0.05)
    raise DemoFailed("the demo agents did not register in time")


def _ask(tmux: Tmux, pane: str, ask: Ask, env: Mapping[str, str]) -> tuple[float, list[dict[str, str]]]:
    """Run ``tmms ask`` as the orchestrator; (seconds, the replies)."""
    argv = [*tmms_command(), "-L", str(tmux.socket_name), "ask", "-t", ask.to, "-s", ask.subject,
            "--timeout", "20", "--json"]
    started = time.monotonic()
    proc = subprocess.run(argv, input=ask.body.encode(), capture_output=True, env={**env, "TMUX_PANE": pane})
    took = time.monotonic() - started
    if proc.returncode != 0:
        raise DemoFailed(f"tmms ask failed: {proc.stderr.decode().strip()}")
    return took, json.loads(proc.stdout)


def _post(tmux: Tmux, pane: str, ask: Ask, env: Mapping[str, str]) -> None:
    argv = [*tmms_command(), "-L", str(tmux.socket_name), "post", "-t", ask.to, "-s", ask.subject]
    subprocess.run(argv, input=ask.body.encode(), capture_output=True, env={**env, "TMUX_PANE": pane}, check=True)


def _converse(tmux: Tmux, lead: str, env: Mapping[str, str], timeline: _Timeline, out: TextIO) -> None:
    out.write(f"\n{LEAD} asks the scripted agents (tmms ask; they tmms wait and tmms reply):\n")
    for ask in SCRIPT:
        took, replies = _ask(tmux, lead, ask, env)
        out.write(f"  {LEAD} → {ask.to:<9} {ask.subject:<12} {took * 1000:6.0f} ms round trip, "
                  f"{len(replies)} repl{'y' if len(replies) == 1 else 'ies'}\n")
        for item in replies:
            text = " ".join((item.get("body") or "").split())
            out.write(f"      {item.get('from', '?'):<9} {text[:70]}\n")
    _post(tmux, lead, LOST, env)
    timeline.wait_dead(LOST.subject, timeout=15)
    _print_timeline(timeline, out)


def _print_timeline(timeline: _Timeline, out: TextIO) -> None:
    out.write("\nevery message, as the tmms server saw it (times after the message was created):\n")
    out.write(f"  {'from':<9} {'to':<9} {'subject':<16} {'in inbox':>9} {'notified':>10}\n")
    with timeline.lock:
        traces = [timeline.traces[i] for i in timeline.order]
    for t in traces:
        if t.dead:
            out.write(f"  {t.sender:<9} {t.recipient:<9} {t.subject[:16]:<16}  dead letter: {t.dead}\n")
            continue
        notified = _after(t.notified, t.created) if t.notified else "read first"
        out.write(f"  {t.sender:<9} {t.recipient:<9} {t.subject[:16]:<16} {_after(t.delivered, t.created):>9} "
                  f"{notified if t.recipient == LEAD else 'waits':>10}\n")
    out.write("\nin inbox / notified: from tmms_created_at (stamped as the message is composed) until the server\n"
              f"had moved it into the inbox / started the notify command. The agents have no notify command:\n"
              f"they block in 'tmms wait' (inotify) and wake at once. {LEAD}'s notify prints to its pane;\n"
              "'read first': tmms ask had already taken the reply when the notify was due, so none ran.\n")


def _after(moment: float | None, since: float) -> str:
    if moment is None:
        return "-"
    return f"{max(0.0, moment - since) * 1000:.1f} ms"


def _attach(tmux: Tmux, panes: Mapping[str, str], out: TextIO) -> int:
    out.write("attaching; the orchestrator's requests type themselves into its pane. Detach with prefix+d to end.\n")
    lines = _typed_script(tmux)

    def typer() -> None:
        time.sleep(1.5)
        for line in lines:
            tmux.run(["send-keys", "-t", panes[LEAD], line, "Enter"], check=False)
            time.sleep(3.0)

    threading.Thread(target=typer, daemon=True).start()
    return subprocess.call([tmux.binary, *tmux.socket_args(), "attach", "-t", "demo"])


def _typed_script(tmux: Tmux) -> Sequence[str]:
    tmms = shlex.join(tmms_command())
    lines = [f"printf '%s\\n' {shlex.quote(a.body)} | {tmms} ask -t {shlex.quote(a.to)} -s {shlex.quote(a.subject)} "
             "--timeout 20" for a in SCRIPT]
    lines.append(f"{tmms} inbox --all")
    return lines

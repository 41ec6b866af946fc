"""The server's links: one ``ssh -T HOST tmms relay`` per remote host it has mail for.

Each host has a thread. It waits until the host's spool holds mail (the router kicks it), takes
the spool's lock, starts ssh (BatchMode: it never prompts; ServerAliveInterval: a dead peer is
noticed), exchanges hellos and runs a ``Session`` until the link has been idle for
``link_idle_seconds``. A failed link is tried again with a growing pause (1 s to 60 s); its reason
is one line (``gpu-box: tmms is not installed there: pip install tmms``), in the journal, the log
and ``links.json`` (which ``tmms peers --hosts`` shows). A host known only because it linked to
us, and not named under ``hosts:``, is not dialled: its mail waits for its next link.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shlex
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .. import store
from ..errors import StorageError, TmmsError
from ..journal import Journal
from ..pids import alive
from ..registry import Registry
from ..watch import drain
from . import frames
from .frames import Decoder
from .received import Received
from .receiver import Delivered, Receiver
from .session import LinkDown, Session, read_frames, write_all
from .settings import Hosts
from .spool import Spool, known_hosts

log = logging.getLogger("tmms.hosts")
CONNECT_TIMEOUT = 30.0
BACKOFF_MAX = 60.0
STATE_FILE = "links.json"
PUBLISH_EVERY = 1.0  # seconds between two round trips written to links.json
SSH_OPTIONS = ("-T", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3")


class Context:
    """What every link of one server shares."""

    def __init__(self, root: str, settings: Hosts, me: str, env: Mapping[str, str], journal: Journal,
                 registry: Callable[[bool], Registry], dead_dir: Callable[[], str], max_bytes: int) -> None:
        self.root, self.settings, self.me, self.env = root, settings, me, env
        self.journal, self.registry, self.dead_dir, self.max_bytes = journal, registry, dead_dir, max_bytes
        self.states: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def record(self, event: str, fields: dict[str, Any]) -> None:
        """A journal line (a journal that cannot be written is only logged)."""
        try:
            self.journal.append(event, **fields)
        except StorageError as exc:
            log.debug("journal: %s", exc)

    def publish(self, host: str, **state: Any) -> None:
        """Update one link's state in ``links.json`` (atomically replaced)."""
        with self.lock:
            entry = self.states.setdefault(host, {})
            entry.update(state, pid=os.getpid())
            data = json.dumps(self.states, sort_keys=True).encode("utf-8")
            try:
                store.ensure_dir(self.root)
                store.replace_whole(os.path.join(self.root, STATE_FILE), data,
                                    store.temp_path(self.root, STATE_FILE), durable=False)
            except (OSError, StorageError) as exc:
                log.debug("cannot write the links' state: %s", exc)


class Links:
    """Every link of one server; ``spooled(host)`` after the router put a message in a host's spool."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._links: dict[str, Link] = {}
        self._spools: dict[str, Spool] = {}
        self._closed = False

    def spool(self, host: str) -> Spool:
        """The spool of ``host`` (made on first use)."""
        spool = self._spools.get(host)
        if spool is None:
            spool = self._spools[host] = Spool(self.context.root, host)
            spool.ensure()
        return spool

    def start(self) -> None:
        """Finish what a crash left in the spools and start a link for each host with mail waiting."""
        for host in known_hosts(self.context.root):
            spool = self.spool(host)
            spool.recover()
            if spool.names():
                self.spooled(host)

    def spooled(self, host: str) -> None:
        """Mail waits for ``host``: start its link or wake it."""
        if self._closed:
            return
        link = self._links.get(host)
        if link is None or not link.is_alive():
            link = self._links[host] = Link(self.context, self.spool(host))
            link.start()
        else:
            link.kick()

    def close(self, timeout: float = 5.0) -> None:
        """Say bye on every link and wait (a little) for them to end."""
        self._closed = True
        for link in self._links.values():
            link.stop()
        deadline = time.monotonic() + timeout
        for link in self._links.values():
            link.join(max(0.0, deadline - time.monotonic()))


class Link(threading.Thread):
    """The link to one host: connect when mail waits, serve, back off after a failure."""

    def __init__(self, context: Context, spool: Spool) -> None:
        super().__init__(name=f"tmms-link-{spool.host}", daemon=True)
        self.context = context
        self.spool = spool
        self.host = spool.host
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._stopped = False
        self._session: Session | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.failures = 0
        self._published = -PUBLISH_EVERY
        self._kicked = False

    def kick(self) -> None:
        """Mail arrived in the spool (or the server stops): wake the thread (one byte until it woke)."""
        if self._kicked:
            return
        self._kicked = True
        try:
            os.write(self._wake_w, b"!")
        except OSError:
            pass

    def _woke(self) -> None:
        self._kicked = False  # after the pipe was read, before the spool is: a kick from now on writes again

    def stop(self) -> None:
        """End the link (a session says bye first)."""
        self._stopped = True
        if self._session is not None:
            self._session.stop()
        self.kick()

    def run(self) -> None:
        pause = 0.0
        while not self._stopped:
            try:
                if not self._wait(pause):
                    continue
                pause = self._attempt()
            except Exception as exc:  # a bug or a surprise must not end the link for good
                log.exception("%s: the link failed: %s", self.host, exc)
                self.context.publish(self.host, state="down", error=f"{self.host}: {type(exc).__name__}: {exc}")
                pause = BACKOFF_MAX
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _wait(self, pause: float) -> bool:
        """Sleep out a back-off, then until mail waits; whether to try now."""
        deadline = time.monotonic() + pause
        while not self._stopped and time.monotonic() < deadline:
            self._sleep(deadline - time.monotonic())
        if self._stopped:
            return False
        if not self.spool.names():
            self._sleep(10.0)
            return False
        if self.spool.inbound and self.host not in self.context.settings.hosts:
            self.context.publish(self.host, state="waiting", error=f"{self.host}: waits for {self.host} to link "
                                 "to us (add it under hosts: to dial it)", queued=len(self.spool.names()))
            self._sleep(10.0)
            return False
        return True

    def _sleep(self, seconds: float) -> None:
        import select

        ready, _, _ = select.select([self._wake_r], [], [], max(0.0, seconds))
        if ready:
            drain(self._wake_r)
            self._woke()

    def _attempt(self) -> float:
        """One connection; the pause before the next try."""
        if not self.spool.try_lock():
            self.context.publish(self.host, state="linked-in", error="",
                                 note=f"{self.host} linked to us: its relay sends this mail")
            return 2.0
        try:
            ended = self._connect_and_serve()
        except LinkDown as exc:
            self.failures += 1
            pause = min(BACKOFF_MAX, 2.0 ** min(self.failures - 1, 6))
            reason = str(exc)
            log.warning("%s (trying again in %gs)", reason, pause)
            self.context.record("link-down", {"host": self.host, "reason": reason})
            self.context.publish(self.host, state="down", error=reason, since=time.time(), retry_in=pause)
            return pause
        finally:
            self.spool.unlock()
            self._end_ssh()
        self.failures = 0
        self.context.publish(self.host, state="idle", error="", since=time.time(), ended=ended)
        return 0.0

    def _connect_and_serve(self) -> str:
        context = self.context
        context.publish(self.host, state="connecting", since=time.time())
        proc, errors = self._spawn()
        assert proc.stdin is not None and proc.stdout is not None
        rfd, wfd = proc.stdout.fileno(), proc.stdin.fileno()
        decoder = Decoder()
        try:
            write_all(wfd, frames.hello(context.me, idle=context.settings.link_idle_seconds))
            got = read_frames(rfd, decoder, CONNECT_TIMEOUT)
        except LinkDown as exc:
            raise LinkDown(self._why(proc, errors, str(exc))) from None
        answer = got[0]
        if answer.kind == frames.ERROR:
            raise LinkDown(f"{self.host}: {str(answer.fields.get('reason', ''))[:300]}")
        if answer.kind != frames.HELLO or answer.fields.get("tmms") != "relay":
            raise LinkDown(f"{self.host}: the other side does not speak the tmms relay protocol")
        session = Session(rfd, wfd, self.host, self._receiver(), self.spool, idle=context.settings.link_idle_seconds,
                          wake_fd=self._wake_r, events=self._event, dead_dir=context.dead_dir, decoder=decoder,
                          initial=got[1:], on_wake=self._woke)
        self._session = session
        if self._stopped:
            session.stop()
        up = time.time()
        context.publish(self.host, state="up", error="", since=up, remote=str(answer.fields.get("host", ""))[:200])
        context.record("link-up", {"host": self.host})
        try:
            return session.run()
        except LinkDown as exc:
            raise LinkDown(self._why(proc, errors, f"{self.host}: {exc}")) from None
        finally:
            self._session = None

    def _receiver(self) -> Receiver:
        context = self.context

        def delivered(made: Delivered) -> None:
            context.record("delivered", made.record(self.host))

        def panes(fresh: bool) -> Registry:
            try:
                return context.registry(fresh)
            except TmmsError as exc:  # no tmux server: the other side keeps the mail and sends it again
                raise OSError(errno.EAGAIN, f"cannot read the panes here: {exc}") from None

        return Receiver(self.host, Received(self.spool.ledger_path), panes, here=context.me,
                        max_bytes=context.max_bytes, on_delivered=delivered)

    def _event(self, event: str, fields: dict[str, Any]) -> None:
        self.context.record(event, fields)
        now = time.monotonic()
        if event == "acked" and now - self._published >= PUBLISH_EVERY:  # links.json: a round trip a second
            self._published = now
            self.context.publish(self.host, rtt_ms=fields.get("rtt_ms"), last_ack=time.time())

    # -- ssh -----------------------------------------------------------------------------------------

    def _spawn(self) -> tuple[subprocess.Popen[bytes], deque[str]]:
        argv = ssh_argv(self.context.settings, self.host, self.context.env)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True, env=dict(self.context.env))
        except OSError as exc:
            raise LinkDown(f"{self.host}: cannot run {argv[0]}: {exc.strerror or exc}") from None
        self._proc = proc
        errors: deque[str] = deque(maxlen=20)
        threading.Thread(target=_collect, args=(proc, errors), daemon=True, name=f"tmms-ssh-err-{self.host}").start()
        return proc, errors

    def _why(self, proc: subprocess.Popen[bytes], errors: deque[str], fallback: str) -> str:
        """The one-line reason a link failed, from ssh's exit status and its last error line."""
        try:
            code = proc.wait(2.0)
        except subprocess.TimeoutExpired:
            return fallback
        time.sleep(0.05)  # the error reader's last line
        return reason_for(self.host, code, list(errors), fallback)

    def _end_ssh(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            proc.wait(3.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _collect(proc: subprocess.Popen[bytes], errors: deque[str]) -> None:
    """Keep ssh's last error lines (and never let its stderr pipe fill)."""
    assert proc.stderr is not None
    for raw in proc.stderr:
        line = raw.decode("utf-8", "replace").strip()
        if line:
            errors.append(line[:300])
    proc.stderr.close()


def ssh_argv(settings: Hosts, host: str, env: Mapping[str, str]) -> list[str]:
    """The ssh command line for ``host``: the user's ssh ($TMMS_SSH), never prompting, and the relay."""
    spec = settings.host(host)
    ssh = shlex.split(env.get("TMMS_SSH", "")) or ["ssh"]
    remote = [spec.command or "tmms"]
    if spec.tmux_socket_name:
        remote += ["-L", shlex.quote(spec.tmux_socket_name)]
    if spec.tmux_socket_path:
        remote += ["-S", shlex.quote(spec.tmux_socket_path)]
    remote.append("relay")
    return [*ssh, *SSH_OPTIONS, *spec.ssh_options, "--", spec.destination, " ".join(remote)]


def reason_for(host: str, code: int, errors: list[str], fallback: str) -> str:
    """One line on why the link to ``host`` failed."""
    text = " ".join(errors).lower()
    if code == 127 or "command not found" in text or ("no such file or directory" in text and "tmms" in text):
        return f"{host}: tmms is not installed there: pip install tmms"
    if "no module named" in text and "tmms" in text:
        return f"{host}: tmms is not installed there: pip install tmms"
    if "relay" in text and ("invalid choice" in text or "unknown command" in text):
        return f"{host}: the tmms there has no 'tmms relay': pip install -U tmms"
    last = next((line for line in reversed(errors) if not line.lower().startswith("warning")), "")
    if code == 255:
        return f"{host}: ssh: {last}" if last else f"{host}: ssh failed (exit status 255)"
    if last:
        return f"{host}: {last}"
    return fallback


class LinkState(NamedTuple):
    """One remote host as ``tmms peers --hosts`` shows it."""

    host: str
    state: str  # up, connecting, idle, down, waiting, linked-in, no server, - (never linked)
    queued: int
    error: str
    rtt_ms: str
    since: float
    inbound: bool


def read_states(root: str) -> list[LinkState]:
    """Every host with a spool under ``root``: its link as the server last published it, and the
    mail waiting for it ("no server" when the server that wrote the state is gone)."""
    try:
        raw, _ = store.read_regular(os.path.join(root, STATE_FILE), 4 << 20)
        published = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError):
        published = {}
    if not isinstance(published, dict):
        published = {}
    states = []
    for host in sorted(set(known_hosts(root)) | {h for h in published if isinstance(h, str)}):
        entry = published.get(host)
        entry = entry if isinstance(entry, dict) else {}
        spool = Spool(root, host)
        state = str(entry.get("state", "idle")) if entry else "linked-in" if spool.inbound else "-"
        if entry and not alive(entry.get("pid")):
            state = "no server"
        states.append(LinkState(host, state, len(spool.names()), str(entry.get("error") or ""),
                                str(entry.get("rtt_ms") or ""), float(entry.get("since") or 0.0), spool.inbound))
    return states

"""A real OpenSSH test bed on loopback: "hosts" that each have a HOME, a tmux server, tmms servers and an sshd.

A host is a folder: ``home/`` (its HOME), ``tmux/`` (its TMUX_TMPDIR: its tmux server is the *default*
socket there, as on a real machine), ``bin/ssh`` and ``bin/scp`` first on its PATH (``/usr/bin/ssh -F
<bed config>``: OpenSSH reads ``~/.ssh/config`` from passwd, never from $HOME, so the bed's aliases
such as ``gpu-box`` -> 127.0.0.1:PORT, the test key, a private known_hosts and BatchMode come from
there), and optionally an sshd on a free loopback port (or in a network namespace of its own, for
``cut``/``mend``). The sshd's ``SetEnv`` gives each session that host's HOME, TMUX_TMPDIR and PATH
(this interpreter's bin, where ``tmms`` is): SetEnv is applied after sshd sets HOME from passwd, so
it wins; the session's cwd stays the passwd home. ``StrictModes no`` (the keys live under /tmp),
``UsePAM no`` (containers), key logins only. It runs outside a test too (bench/hosts.py uses it);
``sshd_unavailable()`` and ``netns_unavailable()`` say why a bed or a namespace cannot be made.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from polling import wait_until as poll

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")
PYTHON_BIN = Path(sys.executable).parent
USER = pwd.getpwuid(os.getuid()).pw_name
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
DROPPED = ("TMUX", "TMUX_PANE", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
           "SSH_AUTH_SOCK", "SSH_CONNECTION", "SSH_CLIENT", "PYTHONPATH")


def sshd_unavailable() -> str | None:
    """Why a test sshd cannot run here (None when it can): a missing program or privilege folder."""
    for program in (SSHD, "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/scp"):
        if not os.access(program, os.X_OK):
            return f"{program} is missing (apt-get install openssh-server openssh-client)"
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    if not PRIVSEP_DIR.is_dir():
        try:
            PRIVSEP_DIR.mkdir(mode=0o755, parents=True)
        except OSError as exc:
            return f"sshd needs its privilege separation folder {PRIVSEP_DIR}: {exc.strerror}"
    return None


def netns_unavailable() -> str | None:
    """Why a host cannot get its own network namespace here (None when ``ip netns`` works)."""
    if shutil.which("ip") is None:
        return "the ip command is missing (iproute2)"
    probe = f"tmms-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add fails here: {made.stderr.strip() or made.returncode}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path) -> Path:
    """A fresh ed25519 key pair without passphrase at ``path`` (and ``path.pub``)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tmms-test", "-f", str(path)],
                   check=True, capture_output=True)
    path.chmod(0o600)
    return path


def children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def descendants(pid: int) -> list[int]:
    """Every pid below ``pid``, parents before children."""
    out: list[int] = []
    for child in children(pid):
        out += [child, *descendants(child)]
    return out


def cmdline(pid: int) -> str:
    """A process's command line, spaces between arguments ("" when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def signal_pid(pid: int, sig: int) -> bool:
    """Send ``sig`` to ``pid``; False when it is already gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Sshd:
    """One sshd listening on address:port for a host (127.0.0.1, or its namespace's veth address)."""

    config: Path
    port: int
    log: Path
    address: str = "127.0.0.1"
    prefix: tuple[str, ...] = ()  # ("ip", "netns", "exec", NS) for a host in its own namespace
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (again, on the same port) and wait until it listens."""
        if self.proc is not None and self.proc.poll() is None:
            return
        log = open(self.log, "ab")
        start = self.log.stat().st_size
        self.proc = subprocess.Popen([*self.prefix, SSHD, "-D", "-e", "-f", str(self.config)], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()
        proc = self.proc
        poll(lambda: b"Server listening" in self.log.read_bytes()[start:] or proc.poll() is not None, 15)
        if proc.poll() is not None:
            raise RuntimeError(f"sshd did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM, sessions: bool = True) -> None:
        """Stop the listener; with ``sessions`` also kill every live connection (SIGKILL)."""
        if self.proc is None:
            return
        doomed = self.connections() if sessions else []
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=10)
        for pid in doomed:
            signal_pid(pid, signal.SIGKILL)

    def connections(self) -> list[int]:
        """The per-connection processes, children of the listener (killing one drops that connection)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        return children(self.proc.pid)

    def sessions(self) -> list[int]:
        """The ``sshd: USER@notty`` processes (for root the connection's own process, else its child)."""
        pids = [pid for conn in self.connections() for pid in [conn, *children(conn)]]
        return [pid for pid in pids if cmdline(pid).startswith("sshd: ") and "@" in cmdline(pid)]

    def commands(self, needle: str = "") -> list[int]:
        """Processes the sessions run (the remote commands), optionally only those whose argv has ``needle``."""
        pids = [pid for session in self.sessions() for pid in descendants(session)]
        return [pid for pid in pids if needle in cmdline(pid)]


@dataclass
class Host:
    """One "machine": its folders, environment, tmux server, tmms servers and (maybe) its sshd."""

    name: str
    root: Path
    bed: SshBed
    sshd: Sshd | None = None
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    netns: str = ""  # its own network namespace ("": the machine's), reached over a veth pair

    def __post_init__(self) -> None:
        self.home, self.tmux_tmpdir, self.bin = self.root / "home", self.root / "tmux", self.root / "bin"
        self.path = f"{self.bin}:{PYTHON_BIN}:{SYSTEM_PATH}"  # the ssh wrappers, then this Python's tmms

    def env(self, pane: str | None = None, **extra: str) -> dict[str, str]:
        """This host's environment for a process run on it (``pane``: as if run in that tmux pane)."""
        env = {k: v for k, v in os.environ.items() if k not in DROPPED}
        env.update(HOME=str(self.home), TMUX_TMPDIR=str(self.tmux_tmpdir), PATH=self.path,
                   TMPDIR=str(self.root / "tmp"), **extra)
        if pane:
            env["TMUX_PANE"] = pane
        return env

    def run(self, argv: list[str], pane: str | None = None, input: bytes | str = b"",
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` on this host; text output (undecodable bytes replaced)."""
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(argv, input=data, capture_output=True, env=self.env(pane), timeout=timeout)
        return subprocess.CompletedProcess(argv, proc.returncode, proc.stdout.decode(errors="replace"),
                                           proc.stderr.decode(errors="replace"))

    def tmux(self, *args: str, check: bool = True) -> str:
        """``tmux ARGS`` against this host's default tmux server."""
        out = self.run(["tmux", *args])
        if check and out.returncode != 0:
            raise RuntimeError(f"{self.name}: tmux {args}: {out.stderr}")
        return out.stdout

    def tmms(self, *args: str, pane: str | None = None, input: bytes | str = b"",
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``python -m tmms ARGS`` on this host (its HOME, its tmux server); --json output checked against its
        schema (docs/schema, as conftest's runners do)."""
        from conftest import checked_json

        return checked_json(self.run([sys.executable, "-m", "tmms", *args], pane, input, timeout))

    def register(self, name: str) -> tuple[str, Path, Path]:
        """A new pane registered as mailbox ``name`` (options set directly): (pane id, inbox, outbox)."""
        pane = self.tmux("new-window", "-d", "-P", "-F", "#{pane_id}").strip()
        inbox, outbox = self.home / "mail" / name / "inbox", self.home / "mail" / name / "outbox"
        inbox.mkdir(parents=True, exist_ok=True)
        outbox.mkdir(parents=True, exist_ok=True)
        opts = {"@tmms_enabled": "true", "@tmms_name": name, "@tmms_inbox": str(inbox),
                "@tmms_outbox": str(outbox), "@tmms_notify_cmd": ""}
        for key, value in opts.items():
            self.tmux("set-option", "-p", "-t", pane, key, value)
        return pane, inbox, outbox

    def config(self, text: str = "", /, **values: object) -> Path:
        """A tmms config file: ``values`` as ``key: value`` lines, then ``text`` (YAML) as given."""
        values.setdefault("dead_letter_dir", str(self.home / "dead"))
        values.setdefault("polling_interval", 0.5)
        path = self.root / f"config-{uuid.uuid4().hex[:6]}.yml"
        path.write_text("".join(f"{k}: {v}\n" for k, v in values.items()) + text)
        return path

    def start_server(self, *extra: str, config: Path | None = None, **values: object) -> subprocess.Popen[bytes]:
        """``tmms server -c CONFIG`` on this host; returns once it says it is serving (or died)."""
        cfg = config or self.config(**values)
        log_path = self.root / f"server-{len(self.servers)}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "tmms", "server", "-c", str(cfg), *extra],
                                    stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.servers.append(proc)
        poll(lambda: b"serving" in log_path.read_bytes() or proc.poll() is not None, 20)
        return proc

    def server_log(self, proc: subprocess.Popen[bytes]) -> str:
        return (self.root / f"server-{self.servers.index(proc)}.log").read_text(errors="replace")

    def stop_server(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
        """Signal a tmms server (and, for SIGKILL, its whole process group: its ssh links die too)."""
        if proc.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        return proc.wait(timeout=20)

    def ssh_clients(self, needle: str = "") -> list[int]:
        """ssh client processes started from this host's tmms servers (optionally argv containing ``needle``)."""
        pids = [pid for server in self.servers if server.poll() is None for pid in descendants(server.pid)]
        return [pid for pid in pids if cmdline(pid).split(" ")[:1] in (["ssh"], ["/usr/bin/ssh"])
                and needle in cmdline(pid)]

    def cut(self) -> None:
        """A partition: the namespace's end of the veth pair goes down (packets are dropped, no reset)."""
        subprocess.run(["ip", "-n", self.netns, "link", "set", "veth1", "down"], check=True)

    def mend(self) -> None:
        """The end of a partition: the link comes back up."""
        subprocess.run(["ip", "-n", self.netns, "link", "set", "veth1", "up"], check=True)

    def close(self) -> None:
        """Kill its tmms servers (and their groups), its tmux server and its sshd with its sessions."""
        for proc in self.servers:
            if proc.poll() is None:
                with _quiet():
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self.sshd is not None:
            self.sshd.stop(signal.SIGKILL)
        self.tmux("kill-server", check=False)
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)


@dataclass
class SshBed:
    """The shared parts: the user key, one ssh client config with every host's alias, known_hosts."""

    root: Path
    hosts: dict[str, Host] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.user_key, self.authorized_keys = self.root / "id_ed25519", self.root / "authorized_keys"
        self.ssh_config, self.known_hosts = self.root / "ssh_config", self.root / "known_hosts"

    def setup(self) -> None:
        """The user key, authorized_keys and an empty client config."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        keygen(self.user_key)
        shutil.copy(self.user_key.with_suffix(".pub"), self.authorized_keys)
        self.authorized_keys.chmod(0o600)
        self._write_config()

    def host(self, name: str, sshd: bool = True, netns: bool = False) -> Host:
        """A new host: folders, ssh wrappers, a tmux server, maybe an sshd (``netns``: in its own namespace)."""
        host = Host(name, self.root / "hosts" / name, self)
        for folder in (host.home, host.tmux_tmpdir, host.bin, host.root / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
        self._wrappers(host)
        self.hosts[name] = host
        host.tmux("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "200", "-y", "50")
        if sshd:
            host.sshd = self._sshd(host, self._namespace(host) if netns else "127.0.0.1")
            self._write_config()
            host.sshd.start()
        return host

    def _wrappers(self, host: Host) -> None:
        for program in ("ssh", "scp"):
            wrapper = host.bin / program
            wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/{program} -F {shlex.quote(str(self.ssh_config))} "$@"\n')
            wrapper.chmod(0o755)

    def _namespace(self, host: Host) -> str:
        """Make ``host``'s namespace: veth0 (here, 10.213.X.Y+1) to veth1 (there, +2); the address there."""
        tag = uuid.uuid4().hex[:8]
        host.netns = f"tmms-{tag}"
        net = int(tag[:4], 16) % 16384 * 4  # a random /30 inside 10.213.0.0/16 (the last octets)
        here, there = f"10.{213}.{net // 256}.{net % 256 + 1}", f"10.{213}.{net // 256}.{net % 256 + 2}"
        outside = f"tv{tag}"
        for argv in (["ip", "netns", "add", host.netns],
                     ["ip", "link", "add", outside, "type", "veth", "peer", "name", "veth1", "netns", host.netns],
                     ["ip", "addr", "add", f"{here}/30", "dev", outside], ["ip", "link", "set", outside, "up"],
                     ["ip", "-n", host.netns, "addr", "add", f"{there}/30", "dev", "veth1"],
                     ["ip", "-n", host.netns, "link", "set", "veth1", "up"],
                     ["ip", "-n", host.netns, "link", "set", "lo", "up"]):
            subprocess.run(argv, check=True, capture_output=True)
        return there

    def _sshd(self, host: Host, address: str) -> Sshd:
        key = keygen(host.root / "ssh_host_ed25519_key")
        config = host.root / "sshd_config"
        port = free_port() if address == "127.0.0.1" else 22
        config.write_text("\n".join([
            f"Port {port}", f"ListenAddress {address}", f"HostKey {key}",
            f"AuthorizedKeysFile {self.authorized_keys}", "PidFile none", "StrictModes no", "UsePAM no",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
            "PrintMotd no", "PrintLastLog no", "ClientAliveInterval 0", "MaxStartups 100:30:200",
            "MaxSessions 100", "LogLevel INFO", "Subsystem sftp /usr/lib/openssh/sftp-server",
            f"SetEnv HOME={host.home} TMUX_TMPDIR={host.tmux_tmpdir} PATH={host.path} TMPDIR={host.root / 'tmp'}",
            ""]))
        prefix = ("ip", "netns", "exec", host.netns) if host.netns else ()
        return Sshd(config, port, host.root / "sshd.log", address, prefix)

    def _write_config(self) -> None:
        lines = []
        for name, host in self.hosts.items():
            if host.sshd is None:
                continue
            lines += [f"Host {name}", f"  HostName {host.sshd.address}", f"  Port {host.sshd.port}", f"  User {USER}"]
        lines += ["Host *", f"  IdentityFile {self.user_key}", "  IdentitiesOnly yes",
                  f"  UserKnownHostsFile {self.known_hosts}", "  StrictHostKeyChecking accept-new",
                  "  BatchMode yes", "  LogLevel ERROR", "  ControlMaster no", "  ControlPath none",
                  "  ConnectTimeout 10", ""]
        self.ssh_config.write_text("\n".join(lines))
        self.ssh_config.chmod(0o600)

    def ssh_argv(self, host: str, *command: str) -> list[str]:
        """``ssh -F <bed config> HOST COMMAND...`` (the wrappers' command, for code that runs ssh itself)."""
        return ["/usr/bin/ssh", "-F", str(self.ssh_config), host, *command]

    def close(self) -> None:
        """Stop every host."""
        for host in self.hosts.values():
            with _quiet():
                host.close()


@contextmanager
def _quiet() -> Iterator[None]:
    try:
        yield
    except (OSError, subprocess.SubprocessError, RuntimeError):
        pass


@contextmanager
def ssh_bed(root: Path) -> Iterator[SshBed]:
    """A test bed in ``root``; every host, server and sshd is stopped on exit. Call ``sshd_unavailable`` first."""
    bed = SshBed(root)
    bed.setup()
    try:
        yield bed
    finally:
        bed.close()

"""Fixtures: a private tmux server per test, a temporary HOME, and helpers to drive tmms."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from polling import wait_until as wait_until  # re-exported: the tests import it from here

REPO = Path(__file__).resolve().parent.parent
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME with no tmux or XDG variables leaking in."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("TMUX", "TMUX_PANE", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
                "XDG_RUNTIME_DIR", "TMUX_TMPDIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return home


@dataclass
class Pane:
    """A pane registered as a mailbox."""

    pane_id: str
    name: str
    inbox: Path
    outbox: Path


@dataclass
class TmuxServer:
    """A tmux server on a private socket, and helpers around it."""

    socket: str
    root: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def tmux(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True)
        if check and out.returncode != 0:
            raise RuntimeError(f"tmux {args}: {out.stderr}")
        return out.stdout

    def new_pane(self) -> str:
        return self.tmux("new-window", "-d", "-P", "-F", "#{pane_id}").strip()

    def register(self, name: str, notify: str = "", pane_id: str | None = None,
                 reply_to: str = "", inbox: Path | None = None) -> Pane:
        pane_id = pane_id or self.new_pane()
        box = self.root / "mail" / name
        inbox = inbox or box / "inbox"
        outbox = box / "outbox"
        inbox.mkdir(parents=True, exist_ok=True)
        outbox.mkdir(parents=True, exist_ok=True)
        opts = {"@tmms_enabled": "true", "@tmms_name": name, "@tmms_inbox": str(inbox),
                "@tmms_outbox": str(outbox), "@tmms_notify_cmd": notify}
        if reply_to:
            opts["@tmms_reply_to"] = reply_to
        for key, value in opts.items():
            self.tmux("set-option", "-p", "-t", pane_id, key, value)
        return Pane(pane_id, name, inbox, outbox)

    def env(self, pane_id: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("TMUX", None)
        env.pop("TMUX_PANE", None)
        if pane_id:
            env["TMUX_PANE"] = pane_id
        return env

    def tmms(self, *args: str, pane: str | None = None, input: bytes | str | None = b"",
             timeout: float = 30) -> subprocess.CompletedProcess[str]:
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run([sys.executable, "-m", "tmms", "-L", self.socket, *args],
                              input=data, capture_output=True, env=self.env(pane), timeout=timeout)
        return checked_json(subprocess.CompletedProcess(proc.args, proc.returncode,
                                                        proc.stdout.decode(errors="replace"),
                                                        proc.stderr.decode(errors="replace")))

    def main(self, *args: str, pane: str | None = None,
             input: bytes | str | None = b"") -> subprocess.CompletedProcess[str]:
        """``tmms.cli.main`` in this process, with what ``tmms`` gives the subprocess: environment, stdin, output."""
        return run_main(["-L", self.socket, *args], self.env(pane), input)

    def config(self, **values: object) -> Path:
        path = self.root / f"config-{uuid.uuid4().hex[:6]}.yml"
        values.setdefault("dead_letter_dir", str(self.root / "dead"))
        values.setdefault("polling_interval", 0.5)
        path.write_text("".join(f"{k}: {v}\n" for k, v in values.items()))
        return path

    def start_server(self, *extra: str, config: Path | None = None, **values: object) -> subprocess.Popen[bytes]:
        cfg = config or self.config(**values)
        log = open(self.root / f"server-{len(self.procs)}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "tmms", "-L", self.socket, "server", "-c", str(cfg), *extra],
                                stdout=log, stderr=subprocess.STDOUT, env=self.env())
        self.procs.append(proc)
        wait_until(lambda: b"serving" in self.server_log(proc) or proc.poll() is not None)
        return proc

    def server_log(self, proc: subprocess.Popen[bytes]) -> bytes:
        index = self.procs.index(proc)
        return (self.root / f"server-{index}.log").read_bytes()

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
        if proc.poll() is None:
            proc.send_signal(sig)
        return proc.wait(timeout=10)


def run_main(argv: list[str], env: dict[str, str], input: bytes | str | None = b"") -> subprocess.CompletedProcess[str]:
    """``python -m tmms ARGV`` as ``main(ARGV)`` here: ``env`` is the whole environment, ``input`` stdin."""
    from tmms.cli import main

    data = input.encode() if isinstance(input, str) else input or b""
    out, err = _captured(), _captured()
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name not in env]:
            patch.delenv(name)
        for name, value in env.items():
            if os.environ.get(name) != value:
                patch.setenv(name, value)
        patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape"))
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        code = _exit_code(main, argv)
    return checked_json(subprocess.CompletedProcess(["tmms", *argv], code, _text(out), _text(err)))


def _captured() -> io.TextIOWrapper:
    """A stand-in for stdout or stderr as a pipe gives it: UTF-8, surrogateescape, not a terminal."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="surrogateescape", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    """What was written to a ``_captured`` stream, decoded as ``tmux_server.tmms`` decodes a pipe."""
    stream.flush()
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    return raw.getvalue().decode(errors="replace")


def _exit_code(main: Callable[[list[str]], int], argv: list[str]) -> int:
    """The exit status ``python -m tmms ARGV`` would have: ``main``'s return, or its ``SystemExit``."""
    try:
        return main(argv)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1


@contextlib.contextmanager
def private_tmux(root: Path) -> Iterator[TmuxServer]:
    """A tmux server on a unique socket with its folders in ``root``; killed with everything it started."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    socket = f"tmms-test-{uuid.uuid4().hex[:10]}"
    server = TmuxServer(socket, root)
    server.tmux("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "200", "-y", "50")
    try:
        yield server
    finally:
        for proc in server.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        socket_path = server.tmux("display-message", "-p", "#{socket_path}", check=False).strip()
        for pid in detached_servers(socket_path):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        server.tmux("kill-server", check=False)
        if socket_path.endswith(socket):  # tmux 3.3 leaves the socket file of a killed server behind
            Path(socket_path).unlink(missing_ok=True)


@pytest.fixture
def tmux_server(home: Path, tmp_path: Path) -> Iterator[TmuxServer]:
    """A tmux server of our own on a unique socket; killed with everything we started."""
    with private_tmux(tmp_path) as server:
        yield server


def detached_servers(socket_path: str) -> list[int]:
    """Pids of tmms servers that this test's commands started (``tmms register``): the holder of the
    lock of this test's own tmux server (the lock folder is shared; the lock is keyed by the socket)."""
    from tmms.server.service import running
    from tmms.tmux import Tmux

    if not socket_path:
        return []
    found = running(Tmux(socket_path=socket_path))
    return [found.pid] if found else []


def messages(folder: Path) -> list[Path]:
    """The unread message files of a folder."""
    return sorted(p for p in folder.glob("*.md") if not p.name.startswith("."))


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a command that must have succeeded."""
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a command that must have succeeded printed, checked against its schema (docs/schema/)."""
    value = json.loads(ok(proc))
    check_json(proc.args, value)
    return value


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single ``tmms: error: ...`` line a failing command printed on stderr; stdout is empty."""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tmms: error: "), proc.stderr
    assert proc.stdout == "", proc.stdout
    return lines[0]


def failed(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The single ``tmms: error: ...`` line of a command that must have exited ``code``."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    return error_line(proc)


def split_message(path: Path) -> tuple[dict[str, Any], str, str]:
    """(loaded front matter, front matter text, body) of a message file."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), text
    head, sep, body = text[4:].partition("\n---\n")
    assert sep, text
    data = yaml.safe_load(head)
    assert isinstance(data, dict), head
    return data, head + "\n", body


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def ssh_bed(home: Path) -> Iterator[Any]:
    """A real sshd test bed (tests/sshkit.py: hosts with their own HOME, tmux, tmms and sshd) in a short
    folder under /tmp (tmux socket paths must stay short); skips with the reason when sshd cannot run."""
    import tempfile

    import sshkit

    reason = sshkit.sshd_unavailable()
    if reason:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="tmms-ssh-", dir="/tmp"))
    try:
        with sshkit.ssh_bed(root) as bed:
            yield bed
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- the JSON Schema of every --json output (docs/json.md, docs/schema/) ------------------------------

SCHEMAS = REPO / "docs" / "schema"
GLOBAL_WITH_VALUE = ("-L", "-S", "--socket-name", "--socket-path")


@functools.cache
def _schema_table() -> dict[str, str]:
    """docs/schema/commands.json: 'COMMAND' or 'COMMAND SUBCOMMAND' -> the schema file of its --json output."""
    table = json.loads((SCHEMAS / "commands.json").read_text(encoding="utf-8"))
    return {key: value for key, value in table.items() if key != "title"}


def json_schema_key(argv: Any) -> str | None:
    """The key of commands.json an argv's --json output follows: 'COMMAND SUBCOMMAND', 'COMMAND --FLAG' (such as
    'peers --hosts') or 'COMMAND'; None for a command without a schema."""
    words = [str(w) for w in argv]
    words = words[words.index("tmms") + 1:] if "tmms" in words else words
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in GLOBAL_WITH_VALUE else 1
    if i >= len(words):
        return None
    table = _schema_table()
    command, rest = words[i], [w for w in words[i + 1:] if not w.startswith("-")]
    sub = next((f"{command} {w}" for w in rest if f"{command} {w}" in table), None)  # after an option's value too
    if sub is not None:
        return sub
    flags = [f"{command} {w.split('=', 1)[0]}" for w in words[i + 1:] if w.startswith("--")]
    return next((key for key in flags if key in table), command if command in table else None)


@functools.cache
def schema_validator(file: str) -> Any:
    """A validator of docs/schema/FILE, resolving the other schema files by their $id."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = []
    for path in sorted(SCHEMAS.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        if "$id" in contents:
            resources.append((contents["$id"], Resource.from_contents(contents)))
    schema = json.loads((SCHEMAS / file).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=Registry().with_resources(resources))


def check_json(argv: Any, value: Any) -> None:
    """Fail unless ``value``, the --json output of ``argv``, follows the schema of its command."""
    key = json_schema_key(argv)
    if key is None:
        return
    file = _schema_table()[key]
    errors = list(schema_validator(file).iter_errors(value))
    if errors:
        from jsonschema.exceptions import best_match

        error = best_match(errors)
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise AssertionError(f"'tmms {key} --json' does not follow docs/schema/{file} at {where}: {error.message}")


def checked_json(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """The run of a command; what it printed with --json checked against its schema first (when it printed)."""
    argv = [str(a) for a in proc.args]
    if "--json" in argv and proc.stdout.strip() and json_schema_key(argv) is not None:
        try:
            value = json.loads(proc.stdout)
        except ValueError:
            value = json_lines_of(proc.stdout, json_schema_key(argv))  # JSON Lines (log -f): checked as an array
        check_json(argv, value)
    return proc


def json_lines_of(text: str, key: str | None) -> list[Any]:
    """The values of JSON Lines output; AssertionError when a line is not JSON."""
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise AssertionError(f"{key} --json printed no JSON ({exc}): {text[:200]!r}") from None


def server_pid_of(server: TmuxServer) -> int | None:
    """The pid of the tmms server of this test's tmux server (None: none runs), as its lock says."""
    from tmms.server.service import server_pid
    from tmms.tmux import Tmux

    return server_pid(Tmux(socket_name=server.socket))


NO_SERVER_WARNING = "tmms: warning: no tmms server runs for this tmux server"
"""The first words of the warning a post (post, reply, ask) gives while no tmms server runs (issue #11)."""


def without_no_server(stderr: str) -> str:
    """``stderr`` without the no-server warning of a post made while no tmms server runs."""
    return "".join(line for line in stderr.splitlines(keepends=True) if not line.startswith(NO_SERVER_WARNING))

"""The only place that runs tmux: socket choice, the current pane, all pane records in one call."""

from __future__ import annotations

import os
import select
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from .errors import NotInsideTmux, PaneNotFound, TmuxCommandError, TmuxNotFound, TmuxServerNotRunning

OPTION_NAMES = (
    "@tmms_enabled",
    "@tmms_name",
    "@tmms_inbox",
    "@tmms_outbox",
    "@tmms_notify_cmd",
    "@tmms_reply_to",
    "@tmms_groups",
    "@tmms_agent",
    "@tmms_doorbell",
    "@tmms_agent_source",
)
_FIELD = "\x1f"
_RECORD = "\x1e"
_PANE_FIELDS = ("pane_id", "session_name", "window_index", "pane_index", "pane_pid", "pid")
_PANE_FORMAT = _FIELD.join(
    [f"#{{{f}}}" for f in _PANE_FIELDS] + [f"#{{{o}}}" for o in OPTION_NAMES]
) + _RECORD
_NO_SERVER_HINTS = ("no server running", "error connecting to", "No such file or directory")


class PaneRecord(NamedTuple):
    """One pane as tmux reports it, with its @tmms_* options ('' when unset)."""

    pane_id: str
    session_name: str
    window_index: str
    pane_index: str
    pane_pid: str
    server_pid: str
    options: Mapping[str, str]

    def option(self, name: str) -> str:
        """The value of ``@tmms_<name>``, or '' when unset."""
        return self.options.get(f"@tmms_{name}", "")

    @property
    def location(self) -> str:
        """``session:window.pane`` for people."""
        return f"{self.session_name}:{self.window_index}.{self.pane_index}"


class Tmux:
    """A handle on one tmux server, chosen by ``-L``, ``-S``, ``$TMUX`` or the default socket."""

    def __init__(
        self,
        socket_name: str | None = None,
        socket_path: str | None = None,
        env: Mapping[str, str] | None = None,
        binary: str = "tmux",
    ) -> None:
        self.socket_name = socket_name
        self.socket_path_arg = socket_path
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self.binary = binary

    def socket_args(self) -> list[str]:
        """The ``-L``/``-S`` arguments that aim tmux at this server."""
        if self.socket_path_arg:
            return ["-S", self.socket_path_arg]
        if self.socket_name:
            return ["-L", self.socket_name]
        if self.env.get("TMUX", ""):
            return ["-S", self.socket_path]  # tmux itself cuts $TMUX at its first comma
        return []

    @property
    def socket_path(self) -> str:
        """The server's socket path, computed the way tmux does, without running it."""
        if self.socket_path_arg:
            return os.path.abspath(self.socket_path_arg)
        tmpdir = self.env.get("TMUX_TMPDIR") or "/tmp"
        base = os.path.join(tmpdir, f"tmux-{os.getuid()}")
        if self.socket_name:
            return os.path.join(base, self.socket_name)
        tmux_var = self.env.get("TMUX", "")
        if tmux_var:
            return socket_of(tmux_var)
        return os.path.join(base, "default")

    def run(self, args: Sequence[str], check: bool = True) -> str:
        """Run one tmux command and return its stdout; raise a TmmsError when it fails."""
        argv = [self.binary, *self.socket_args(), *map(_literal, args)]
        try:
            returncode, stdout, stderr = run_captured(argv, self.env)
        except FileNotFoundError:
            raise TmuxNotFound() from None
        out = stdout.decode("utf-8", "surrogateescape")
        if check and returncode != 0:
            err = stderr.decode("utf-8", "replace")
            if any(hint in err for hint in _NO_SERVER_HINTS):
                raise TmuxServerNotRunning(self.socket_path)
            raise TmuxCommandError(list(args), err)
        return out

    def current_pane_id(self) -> str:
        """The pane this process runs in, from ``$TMUX_PANE``."""
        pane = self.env.get("TMUX_PANE", "")
        if not pane:
            raise NotInsideTmux()
        return pane

    def list_panes(self) -> list[PaneRecord]:
        """Every pane on the server with its @tmms_* options: one tmux invocation."""
        return parse_pane_records(self.run(["list-panes", "-a", "-F", _PANE_FORMAT]))

    def pane(self, pane_id: str) -> PaneRecord:
        """One pane's record: one tmux invocation."""
        try:
            out = self.run(["display-message", "-p", "-t", pane_id, _PANE_FORMAT])
        except TmuxCommandError as exc:
            if "can't find" in exc.stderr:
                raise PaneNotFound(pane_id) from None
            raise
        records = parse_pane_records(out)
        # tmux 3.3 answers display-message for a missing pane with empty fields, not an error
        if not records or not records[0].pane_id:
            raise PaneNotFound(pane_id)
        return records[0]

    def set_pane_options(self, pane_id: str, options: Mapping[str, str]) -> None:
        """Set several pane-level options in one tmux invocation (a ``;``-separated sequence)."""
        self.run(_sequence([["set-option", "-p", "-t", pane_id, k, v] for k, v in options.items()]))

    def unset_pane_options(self, pane_id: str, names: Sequence[str]) -> None:
        """Remove several pane-level options in one tmux invocation."""
        self.run(_sequence([["set-option", "-p", "-u", "-t", pane_id, name] for name in names]))

    def notify_env(self, pane: PaneRecord) -> dict[str, str]:
        """Variables that make ``tmux`` inside a notify command talk to this server and pane."""
        return {
            "TMUX": f"{self.socket_path},{pane.server_pid},0",
            "TMUX_PANE": pane.pane_id,
        }


def socket_of(tmux_var: str) -> str:
    """The socket path in ``$TMUX`` (``socket_path,server_pid,session``), split from the right:
    a socket path may itself contain commas."""
    return tmux_var.rsplit(",", 2)[0]


def run_captured(argv: Sequence[str], env: Mapping[str, str]) -> tuple[int, bytes, bytes]:
    """Run a program with stdin from /dev/null; (exit code, stdout, stderr).

    posix_spawn and two pipes instead of subprocess: ``tmms post`` runs exactly one tmux command,
    and importing subprocess would cost it more than the command itself.
    """
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        pid = os.posix_spawnp(argv[0], list(argv), dict(env), file_actions=[
            (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
    except BaseException:
        for fd in (out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (out_w, err_w, null):
            os.close(fd)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    open_fds = [out_r, err_r]
    try:
        while open_fds:
            ready, _, _ = select.select(open_fds, [], [])
            for fd in ready:
                data = os.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    open_fds.remove(fd)
                    os.close(fd)
    finally:
        for fd in open_fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]), b"".join(chunks[err_r])


def _literal(arg: str) -> str:
    """Keep a trailing ``;`` of an argument literal: tmux would take it as a command separator."""
    return arg[:-1] + "\\;" if arg.endswith(";") and arg != ";" else arg


def _sequence(commands: Sequence[Sequence[str]]) -> list[str]:
    """Join tmux commands with ``;`` arguments so one invocation runs them all."""
    argv: list[str] = []
    for command in commands:
        if argv:
            argv.append(";")
        argv.extend(command)
    return argv


def parse_pane_records(out: str) -> list[PaneRecord]:
    """Parse list-panes output made with the tmms pane format."""
    records: list[PaneRecord] = []
    width = len(_PANE_FIELDS) + len(OPTION_NAMES)
    for chunk in out.split(_RECORD):
        chunk = chunk.lstrip("\n")
        if not chunk:
            continue
        fields = chunk.split(_FIELD)
        if len(fields) != width:
            continue
        pane_id, session, window, index, pane_pid, server_pid = fields[: len(_PANE_FIELDS)]
        options = dict(zip(OPTION_NAMES, fields[len(_PANE_FIELDS) :], strict=True))
        records.append(PaneRecord(pane_id, session, window, index, pane_pid, server_pid, options))
    return records

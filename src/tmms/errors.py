"""The exception tree of tmms: one root, families that carry their exit code, fields for the context.

Every class names its exit code (``exit_code``, inherited from its family unless it says otherwise);
a subclass without one is refused when it is defined, so no error can exit with an unplanned code.
The codes are README.md's "Exit codes" table.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar, Self


class ExitCode(IntEnum):
    """Documented exit codes (README.md, "Exit codes")."""

    OK = 0
    NOTHING = 1
    USAGE = 2
    CONFIG = 3
    TMUX = 4
    NOT_REGISTERED = 5
    INPUT = 6
    STORAGE = 7
    ALREADY_RUNNING = 8
    EXISTS = 9
    NAME_TAKEN = 10
    NO_SUCH_MESSAGE = 11
    SERVER_FAILED = 12
    NUDGE_QUEUED = 13
    NUDGE_TIMED_OUT = 14
    NUDGE_REFUSED = 15
    INTERRUPTED = 130


class TmmsError(Exception):
    """Root of every error tmms raises on purpose; every subclass carries its exit code."""

    exit_code: ClassVar[ExitCode]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(getattr(cls, "exit_code", None), ExitCode):
            raise TypeError(f"{cls.__name__} must carry an exit_code (an ExitCode)")


# --- config -------------------------------------------------------------------------------------


class ConfigError(TmmsError):
    """The config file is missing a value, malformed or invalid."""

    exit_code = ExitCode.CONFIG

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


# --- tmux ---------------------------------------------------------------------------------------


class TmuxError(TmmsError):
    """The family of tmux failures: no tmux, no server, a failed command, no pane."""

    exit_code = ExitCode.TMUX


class TmuxNotFound(TmuxError):
    """The tmux binary is not installed or not on PATH."""

    def __init__(self) -> None:
        super().__init__("tmux is not installed or not on PATH")


class TmuxServerNotRunning(TmuxError):
    """No tmux server answers on the chosen socket."""

    def __init__(self, socket: str) -> None:
        super().__init__(f"no tmux server is running on {socket}")
        self.socket = socket


class TmuxCommandError(TmuxError):
    """A tmux command exited non-zero; ``command`` is its argv (after ``tmux`` and the socket)."""

    def __init__(self, command: list[str], stderr: str) -> None:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else "failed"
        super().__init__(f"tmux {' '.join(command[:1])}: {detail}")
        self.command = command
        self.stderr = stderr


class NotInsideTmux(TmuxError):
    """The command needs to know its pane, but $TMUX_PANE is not set."""

    def __init__(self) -> None:
        super().__init__("not inside a tmux pane ($TMUX_PANE is not set); run this in a tmux pane")


class PaneNotFound(TmuxError):
    """A pane id does not exist on the tmux server."""

    def __init__(self, pane_id: str) -> None:
        super().__init__(f"pane {pane_id} does not exist on this tmux server")
        self.pane_id = pane_id


# --- usage --------------------------------------------------------------------------------------


class UsageError(TmmsError):
    """Arguments that parse but do not make sense together (the family of usage errors)."""

    exit_code = ExitCode.USAGE


class NoRecipient(UsageError):
    """Neither -t nor @tmms_reply_to names a recipient."""

    def __init__(self, detail: str = "pass -t NAME or set @tmms_reply_to on this pane") -> None:
        super().__init__(f"no recipient: {detail}")


class BadName(UsageError):
    """A mailbox name that cannot be used as an address."""

    def __init__(self, name: str) -> None:
        super().__init__(f"'{name}' cannot be a mailbox name: use letters, digits and _ . + - "
                         "(at most 64, not starting with . + -)")
        self.name = name


# --- input --------------------------------------------------------------------------------------


class BadInput(TmmsError):
    """The family of input that cannot be used: an unreadable file, a message that does not parse."""

    exit_code = ExitCode.INPUT


class MessageError(BadInput):
    """A message file cannot be parsed or is not a valid tmms message."""

    def __init__(self, reason: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.reason = reason
        self.path = path


class InputError(BadInput):
    """An input file cannot be read."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read {path}: {reason}")
        self.path = path
        self.reason = reason

    @classmethod
    def from_os(cls, path: str, exc: OSError) -> Self:
        """The error for an OSError met while reading ``path``."""
        return cls(path, os_reason(exc))


# --- storage ------------------------------------------------------------------------------------


def os_reason(exc: OSError) -> str:
    """An OSError in words: its strerror, else its text."""
    return exc.strerror or str(exc)


class StorageError(TmmsError):
    """Writing or moving a message failed (full disk, permissions, ...)."""

    exit_code = ExitCode.STORAGE

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.reason = reason

    @classmethod
    def from_os(cls, path: str, exc: OSError) -> Self:
        """The error for an OSError met while writing ``path``."""
        return cls(path, os_reason(exc))


class FileExists(TmmsError):
    """Refusing to overwrite an existing file."""

    exit_code = ExitCode.EXISTS

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} already exists; refusing to overwrite it")
        self.path = path


# --- mailboxes ----------------------------------------------------------------------------------


class MailboxError(TmmsError):
    """The family of mailbox lookups that fail: no such message (its code), an unregistered pane, a taken name."""

    exit_code = ExitCode.NO_SUCH_MESSAGE


class MessageNotFound(MailboxError):
    """No message matches the given id (or id prefix)."""

    def __init__(self, ref: str, where: str) -> None:
        super().__init__(f"no message matches '{ref}' in {where}")
        self.ref = ref
        self.where = where


class AmbiguousMessage(MailboxError):
    """An id prefix matches more than one message."""

    def __init__(self, ref: str, matches: list[str], hint: str = "give more of the id") -> None:
        shown = ", ".join(matches[:8]) + (f" and {len(matches) - 8} more" if len(matches) > 8 else "")
        super().__init__(f"'{ref}' matches {len(matches)} messages: {shown}; {hint}")
        self.ref = ref
        self.matches = matches


class PaneNotRegistered(MailboxError):
    """The pane lacks the @tmms_* options that make it a mailbox."""

    exit_code = ExitCode.NOT_REGISTERED

    def __init__(self, pane_id: str, missing: list[str]) -> None:
        super().__init__(
            f"pane {pane_id} is not a tmms mailbox: missing {', '.join(missing)}; "
            f"make it one with 'tmms register NAME --pane {pane_id}'"
        )
        self.pane_id = pane_id
        self.missing = missing


class NameTaken(MailboxError):
    """Another live pane already holds the name being registered."""

    exit_code = ExitCode.NAME_TAKEN

    def __init__(self, name: str, pane_id: str, location: str) -> None:
        super().__init__(f"the name '{name}' is already held by pane {pane_id} ({location}); "
                         "pick another name or run 'tmms unregister' in that pane")
        self.name = name
        self.pane_id = pane_id
        self.location = location


# --- the server ---------------------------------------------------------------------------------


class ServerError(TmmsError):
    """The family of a background server that cannot start (its code) or already runs."""

    exit_code = ExitCode.SERVER_FAILED


class ServerStartFailed(ServerError):
    """A background tmms server could not be started."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"could not start the tmms server: {detail}")
        self.detail = detail


class AlreadyRunning(ServerError):
    """Another tmms server already serves this tmux server."""

    exit_code = ExitCode.ALREADY_RUNNING

    def __init__(self, pid: int | None, lock_path: str) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"a tmms server is already running for this tmux server ({who} holds {lock_path})")
        self.pid = pid
        self.lock_path = lock_path


class ServerNotRunning(ServerError):
    """``tmms server stop`` (or ``logs``) found nothing: no tmms server serves this tmux server."""

    exit_code = ExitCode.NOTHING

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ServerDidNotStop(ServerError):
    """A tmms server sent SIGTERM was still running when ``tmms server stop`` stopped waiting."""

    def __init__(self, pid: int, waited: float) -> None:
        super().__init__(f"the tmms server (pid {pid}) still runs {waited:g}s after SIGTERM; "
                         f"'tmms server stop --kill' (or 'kill -KILL {pid}') ends it")
        self.pid = pid
        self.waited = waited


# --- waking agents ------------------------------------------------------------------------------


class NudgeError(TmmsError):
    """A ``tmms nudge`` that ended without a verified submission: refused (the family code), queued, timed out."""

    exit_code = ExitCode.NUDGE_REFUSED


class NudgeRefused(NudgeError):
    """The pane cannot take a nudge: not an agent pane, a kind with no known composer, nothing to say."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"nudge {target}: {reason}")
        self.target = target
        self.reason = reason


class NudgeQueued(NudgeError):
    """The agent was not ready within the wait: the line waits in the pane's queue for the tmms server."""

    exit_code = ExitCode.NUDGE_QUEUED

    def __init__(self, target: str, state: str, reason: str) -> None:
        super().__init__(f"nudge {target}: queued, the agent is {state} ({reason}); "
                         "the tmms server types it when it is idle")
        self.target = target
        self.state = state
        self.reason = reason


class NudgeTimedOut(NudgeError):
    """Nothing was submitted in time: the agent never became ready (no queue), or the submission was not proven."""

    exit_code = ExitCode.NUDGE_TIMED_OUT

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"nudge {target}: {reason}")
        self.target = target
        self.reason = reason


# --- the demo -----------------------------------------------------------------------------------


class DemoFailed(TmmsError):
    """``tmms demo`` could not finish: its agents did not come up or answer (exit 1, as before it was one)."""

    exit_code = ExitCode.NOTHING

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

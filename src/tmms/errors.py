"""The exception tree of tmms: one root, subclasses carry their context in fields."""

from __future__ import annotations


class TmmsError(Exception):
    """Root of every error tmms raises on purpose."""


class ConfigError(TmmsError):
    """The config file is missing a value, malformed or invalid."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class TmuxNotFound(TmmsError):
    """The tmux binary is not installed or not on PATH."""

    def __init__(self) -> None:
        super().__init__("tmux is not installed or not on PATH")


class TmuxServerNotRunning(TmmsError):
    """No tmux server answers on the chosen socket."""

    def __init__(self, socket: str) -> None:
        super().__init__(f"no tmux server is running on {socket}")
        self.socket = socket


class TmuxCommandError(TmmsError):
    """A tmux command exited non-zero."""

    def __init__(self, args: list[str], stderr: str) -> None:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else "failed"
        super().__init__(f"tmux {' '.join(args[:1])}: {detail}")
        self.args_ = args
        self.stderr = stderr


class NotInsideTmux(TmmsError):
    """The command needs to know its pane, but $TMUX_PANE is not set."""

    def __init__(self) -> None:
        super().__init__("not inside a tmux pane ($TMUX_PANE is not set); run this in a tmux pane")


class PaneNotFound(TmmsError):
    """A pane id does not exist on the tmux server."""

    def __init__(self, pane_id: str) -> None:
        super().__init__(f"pane {pane_id} does not exist on this tmux server")
        self.pane_id = pane_id


class PaneNotRegistered(TmmsError):
    """The pane lacks the @tmms_* options that make it a mailbox."""

    def __init__(self, pane_id: str, missing: list[str]) -> None:
        super().__init__(
            f"pane {pane_id} is not a tmms mailbox: missing {', '.join(missing)}"
        )
        self.pane_id = pane_id
        self.missing = missing


class NoRecipient(TmmsError):
    """Neither -t nor @tmms_reply_to names a recipient."""

    def __init__(self, detail: str = "pass -t NAME or set @tmms_reply_to on this pane") -> None:
        super().__init__(f"no recipient: {detail}")


class MessageError(TmmsError):
    """A message file cannot be parsed or is not a valid tmms message."""

    def __init__(self, reason: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.reason = reason
        self.path = path


class InputError(TmmsError):
    """An input file cannot be read."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read {path}: {reason}")
        self.path = path
        self.reason = reason


class StorageError(TmmsError):
    """Writing or moving a message failed (full disk, permissions, ...)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.reason = reason


class AlreadyRunning(TmmsError):
    """Another tmms server already serves this tmux server."""

    def __init__(self, pid: int | None, lock_path: str) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"a tmms server is already running for this tmux server ({who} holds {lock_path})")
        self.pid = pid
        self.lock_path = lock_path


class FileExists(TmmsError):
    """Refusing to overwrite an existing file."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} already exists; refusing to overwrite it")
        self.path = path


class NameTaken(TmmsError):
    """Another live pane already holds the name being registered."""

    def __init__(self, name: str, pane_id: str, location: str) -> None:
        super().__init__(f"the name '{name}' is already held by pane {pane_id} ({location}); "
                         "pick another name or run 'tmms unregister' in that pane")
        self.name = name
        self.pane_id = pane_id
        self.location = location


class MessageNotFound(TmmsError):
    """No message matches the given id (or id prefix)."""

    def __init__(self, ref: str, where: str) -> None:
        super().__init__(f"no message matches '{ref}' in {where}")
        self.ref = ref
        self.where = where


class AmbiguousMessage(TmmsError):
    """An id prefix matches more than one message."""

    def __init__(self, ref: str, matches: list[str], hint: str = "give more of the id") -> None:
        shown = ", ".join(matches[:8]) + (f" and {len(matches) - 8} more" if len(matches) > 8 else "")
        super().__init__(f"'{ref}' matches {len(matches)} messages: {shown}; {hint}")
        self.ref = ref
        self.matches = matches


class ServerStartFailed(TmmsError):
    """A background tmms server could not be started."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"could not start the tmms server: {detail}")
        self.detail = detail


class BadName(TmmsError):
    """A mailbox name that cannot be used as an address."""

    def __init__(self, name: str) -> None:
        super().__init__(f"'{name}' cannot be a mailbox name: use letters, digits and _ . + - "
                         "(at most 64, not starting with . + -)")
        self.name = name


class UsageError(TmmsError):
    """Arguments that parse but do not make sense together."""

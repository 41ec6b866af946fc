"""``tmms bind``: tmux key bindings that open the mailbox in a popup, and the unread count in the status line.

A popup's command is not expanded as a tmux format, so the binding goes through ``run-shell``
(which is): it opens the popup with the pane id and socket of the pane the key was pressed in.
The status line shows ``@tmms_unread`` of the active pane in front of what ``status-right`` held.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence

from .errors import UsageError

DEFAULT_KEY = "M"


def tmms_command(module: str = "tmms") -> list[str]:
    """How to run this very tmms (the interpreter that runs it now): the one owner of that argv.

    ``module``: another of tmms's runnable modules (the demo's agent).
    """
    return [sys.executable, "-m", module]


def popup_binding(key: str = DEFAULT_KEY, tmms: Sequence[str] | None = None) -> list[str]:
    """``bind-key KEY run-shell ...``: prefix+KEY opens the mailbox browser of the current pane.

    The quoting is chosen so that the printed config line needs no nested single quotes: the
    run-shell text uses double quotes only, and the socket path (the one value that may hold a
    space) is quoted once more inside them.
    """
    program = " ".join(shlex.quote(part) for part in (tmms or tmms_command()))
    if "'" in program or '"' in program or "\\" in program:
        raise UsageError(f"cannot bind a tmms whose path needs quoting: {program}")
    ui = f'{program} -S \\"#{{socket_path}}\\" ui --pane #{{pane_id}}'
    popup = f'tmux display-popup -E -w 90% -h 80% -T tmms "{ui}"'
    return ["bind-key", key, "run-shell", popup]


def config_lines(bindings: Sequence[Sequence[str]]) -> str:
    """The bindings as lines for ``~/.tmux.conf`` (single quotes around arguments that need them)."""
    return "".join(" ".join(_tmux_quote(part) for part in binding) + "\n" for binding in bindings)


def _tmux_quote(part: str) -> str:
    if part and all(c.isalnum() or c in "-_./%:" for c in part):
        return part
    if "'" not in part:
        return f"'{part}'"
    return '"' + "".join("\\" + c if c in '"\\$' else c for c in part) + '"'  # tmux's double quotes


STATUS_SEGMENT = "#{?@tmms_unread,[tmms #{@tmms_unread}] ,}"
"""The unread count of the active pane (``@tmms_unread``, kept exact by tmms), shown when it is not 0."""


def with_status(current: str) -> str:
    """``status-right`` with the unread count in front (unchanged when it is there already)."""
    return current if STATUS_SEGMENT in current else STATUS_SEGMENT + current


def without_status(current: str) -> str:
    """``status-right`` without the unread count."""
    return current.replace(STATUS_SEGMENT, "")


def status_binding(value: str) -> list[str]:
    """The tmux command that sets the global ``status-right`` to ``value``."""
    return ["set-option", "-g", "status-right", value]

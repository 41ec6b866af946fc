"""``tmms alert``: the default notify command. Shows new mail in a pane without running its text.

tmux expands ``#{...}`` and runs ``#(...)`` in a display-message text (and strftime ``%`` sequences
before that), so every ``#`` and ``%`` taken from a message is doubled: a subject is shown, never
expanded or run. Only tmms's own format (the recipient pane's name and place) is expanded. The
message stays up ``alert_seconds`` (config; the server passes it as $TMMS_ALERT_SECONDS).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence

from . import mailbox, store
from .tmux import Tmux

MAX_SHOWN = 120
ALERT_SECONDS_VAR = "TMMS_ALERT_SECONDS"  # set by the server for notify commands, from the config's alert_seconds
DEFAULT_SECONDS = 4.0
RECIPIENT = "#{@tmms_name} (#{session_name}:#{window_index}.#{pane_index})"
"""The recipient pane, as tmux expands it for display-message -t PANE: its mailbox name and place."""
UNREAD_OPTION = "@tmms_unread"  # the unread count, for status lines (#{@tmms_unread})


def tmux_literal(text: str) -> str:
    """Text that display-message shows as it is: ``#`` and ``%`` doubled, control characters dropped.

    display-message passes its text through strftime before expanding formats, so a lone ``%``
    would show the time (``%H``) instead of itself.
    """
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    return clean.replace("#", "##").replace("%", "%%")


def alert_text(sender: str, subject: str, recipient: str = "") -> str:
    """``tmms: mail [for RECIPIENT] from SENDER: SUBJECT``, shortened, safe for display-message.

    ``recipient`` is a tmux format of tmms's own (``RECIPIENT``), passed as it is; the sender and
    subject are shortened to MAX_SHOWN characters with the prefix, then escaped.
    """
    text = f"tmms: mail from {sender or '?'}" + (f": {subject}" if subject else "")
    if len(text) > MAX_SHOWN:
        text = text[: MAX_SHOWN - 1] + "…"
    shown = tmux_literal(text)
    return shown.replace("tmms: mail ", f"tmms: mail for {recipient} ", 1) if recipient else shown


def alert_seconds(env: Mapping[str, str]) -> float:
    """How long the alert stays up: $TMMS_ALERT_SECONDS (the server's alert_seconds), else 4 s."""
    try:
        seconds = float(env.get(ALERT_SECONDS_VAR, ""))
    except ValueError:
        return DEFAULT_SECONDS
    return seconds if 0 <= seconds < 86400 else DEFAULT_SECONDS


def count_unread(inbox: str) -> int:
    """The unread mail of an inbox: the regular ``*.md`` files directly in it."""
    try:
        return sum(1 for entry in store.messages(inbox) if stat.S_ISREG(entry.mode))
    except OSError:
        return 0


def unread_commands(panes: Sequence[str], count: int) -> list[str]:
    """tmux commands (joined by ``;``) that set ``@tmms_unread`` to ``count`` on each pane."""
    commands: list[str] = []
    for pane in panes:
        commands += [*([";"] if commands else []), "set-option", "-p", "-t", pane, UNREAD_OPTION, str(count)]
    return commands


def set_unread(tmux: Tmux, panes: Sequence[str], inbox: str) -> int:
    """Count the unread mail of ``inbox`` again and set ``@tmms_unread`` on ``panes``: the count.

    The one place the count is kept exact: called after every read, archive and unread that tmms does.
    """
    count = count_unread(inbox)
    if panes:
        tmux.run(unread_commands(panes, count))
    return count


def alert(tmux: Tmux, path: str, pane_id: str, seconds: float = DEFAULT_SECONDS) -> int:
    """Show the message in the pane's status line for ``seconds`` (0: until a key is pressed), naming
    the recipient pane, and set ``@tmms_unread``; the unread count.

    The file is read as every reader reads mail (never blocking, regular files only); only
    regular files count as unread mail.
    """
    letter = mailbox.load(path, mailbox.Folder.INBOX)
    unread = count_unread(os.path.dirname(path))
    text = alert_text(letter.headers.sender, letter.headers.subject, RECIPIENT)
    tmux.run([*unread_commands([pane_id], unread), ";",
              "display-message", "-d", str(round(seconds * 1000)), "-t", pane_id, text])
    return unread

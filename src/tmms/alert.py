"""``tmms alert``: the default notify command. Shows new mail in a pane without running its text.

tmux expands ``#{...}`` and runs ``#(...)`` in a display-message text (and strftime ``%`` sequences
before that), so every ``#`` and ``%`` taken from a message is doubled: a subject is shown, never
expanded or run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from . import mailbox, store
from .tmux import Tmux

MAX_SHOWN = 120
UNREAD_OPTION = "@tmms_unread"  # the unread count, for status lines (#{@tmms_unread})


def tmux_literal(text: str) -> str:
    """Text that display-message shows as it is: ``#`` and ``%`` doubled, control characters dropped.

    display-message passes its text through strftime before expanding formats, so a lone ``%``
    would show the time (``%H``) instead of itself.
    """
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    return clean.replace("#", "##").replace("%", "%%")


def alert_text(sender: str, subject: str) -> str:
    """``tmms: mail from SENDER: SUBJECT``, shortened, safe for display-message."""
    text = f"tmms: mail from {sender or '?'}" + (f": {subject}" if subject else "")
    if len(text) > MAX_SHOWN:
        text = text[: MAX_SHOWN - 1] + "…"
    return tmux_literal(text)


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


def alert(tmux: Tmux, path: str, pane_id: str) -> int:
    """Show the message in the pane's status line and set ``@tmms_unread``; the unread count.

    The file is read as every reader reads mail (never blocking, regular files only); only
    regular files count as unread mail.
    """
    letter = mailbox.load(path, mailbox.Folder.INBOX)
    unread = sum(1 for entry in store.messages(os.path.dirname(path)) if stat.S_ISREG(entry.mode))
    tmux.run([
        "set-option", "-p", "-t", pane_id, "@tmms_unread", str(unread), ";",
        "display-message", "-t", pane_id, alert_text(letter.headers.sender, letter.headers.subject),
    ])
    return unread

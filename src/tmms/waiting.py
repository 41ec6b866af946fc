"""``tmms wait``: block, at no CPU cost, until a matching unread message is in the inbox.

The inbox is watched with inotify before it is listed, so a message that lands between the listing
and the wait still wakes us. Where inotify is missing the inbox is listed every half second.
Taking a message is a rename into ``inbox/read/``: when two waiters want the same message, one
gets it and the other keeps waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from . import mailbox
from .mailbox import Letter
from .registry import Mailbox
from .watch import Watcher

POLL_WITHOUT_EVENTS = 0.5


@dataclass(frozen=True)
class Match:
    """Which messages a waiter wants."""

    senders: frozenset[str] = frozenset()
    thread: str = ""

    def __call__(self, letter: Letter) -> bool:
        if letter.error or not letter.message_id:
            return False
        if self.senders and letter.headers.sender not in self.senders:
            return False
        thread = self.thread.lower()
        return not thread or letter.thread_root.lower().startswith(thread) or letter.message_id.lower() == thread


def wait_for(
    box: Mailbox,
    wanted: Callable[[Letter], bool],
    timeout: float | None,
    keep: bool = False,
    stop: Callable[[], bool] | None = None,
    journal_path: str | None = None,
) -> Letter | None:
    """The first matching unread message (taken into ``read/``, and journaled, unless ``keep``);
    None on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    watcher = Watcher()
    try:
        watching = watcher.watch(box.inbox)
        while True:
            for letter in mailbox.unread(box):
                if not wanted(letter):
                    continue
                if keep:
                    return letter
                try:
                    return mailbox.take(letter, box, journal_path)
                except FileNotFoundError:
                    continue  # another reader took it
            if stop is not None and stop():
                return None
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            if not watching or box.inbox not in watcher.watched():
                # the inbox was missing, or was removed or renamed (which ends its watch): watch the
                # folder now at that path, and list it once more before sleeping
                watching = watcher.watch(box.inbox)
                if watching:
                    continue
            step = left if watching else min(POLL_WITHOUT_EVENTS, left if left is not None else POLL_WITHOUT_EVENTS)
            watcher.wait(step)
    finally:
        watcher.close()

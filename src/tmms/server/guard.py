"""Which outboxes the router may route, and where dead letters may safely go.

An outbox that is also an inbox (or an inbox's read or archive folder, or the dead-letter folder) is never
routed: its files stay untouched and one ERROR line says why. Dead letters never go into a folder
that is, or lies inside, an inbox or an outbox: when the configured folder is such a one, they go to
``$XDG_STATE_HOME/tmms/dead-letter`` instead (made 0700), and one ERROR line says so.
"""

from __future__ import annotations

import logging
import os
import stat
import time

from ..paths import state_dir
from ..reading import kind_of
from ..registry import Folders, Registry

log = logging.getLogger("tmms.router")
RECHECK_SECONDS = 10.0  # folders are resolved again this often (a folder may become a symlink)
FALLBACK_NAME = "dead-letter"


class NoSafeDeadLetter(OSError):
    """Neither the configured dead-letter folder nor the fallback is safe."""


class Guard:
    """Checks folders against every pane's inbox and outbox, resolved (symlinks, ``..``, inodes)."""

    def __init__(self, dead_letter_dir: str, state: str | None = None) -> None:
        self.configured = dead_letter_dir
        self.fallback = os.path.join(state or state_dir(), FALLBACK_NAME)
        self._registry: Registry | None = None
        self._shape: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
        self._checked_at = -RECHECK_SECONDS
        self._folders = Folders([])
        self._refused: dict[str, str] = {}
        self._dead_problem = ""

    def refused(self, registry: Registry, outbox: str) -> str:
        """Why ``outbox`` must not be routed, or ''."""
        self._update(registry)
        if outbox not in registry.by_outbox and outbox not in self._refused:  # e.g. a closed pane's
            self._refused[outbox] = self._folders.outbox_problem(outbox, (self.configured, self.fallback))
        return self._refused.get(outbox, "")

    def dead_letter_dir(self, registry: Registry) -> str:
        """The folder dead letters go to now; NoSafeDeadLetter when none is safe."""
        self._update(registry)
        problem = self._folders.dead_letter_problem(self.configured) or unusable(self.configured)
        if problem != self._dead_problem:
            self._dead_problem = problem
            if problem:
                log.error("dead_letter_dir %s is not safe (%s); dead letters go to %s instead",
                          self.configured, problem, self.fallback)
            else:
                log.info("dead_letter_dir %s is safe again", self.configured)
        if not problem:
            return self.configured
        fallback_problem = self._folders.dead_letter_problem(self.fallback) or unusable(self.fallback)
        if fallback_problem:
            raise NoSafeDeadLetter(0, f"no safe dead-letter folder ({self.configured}: {problem}; "
                                      f"{self.fallback}: {fallback_problem})")
        return self.fallback

    def _update(self, registry: Registry) -> None:
        now = time.monotonic()
        if registry is self._registry and now - self._checked_at < RECHECK_SECONDS:
            return
        shape = (frozenset(registry.by_inbox), frozenset(registry.by_outbox))
        self._registry = registry
        if shape == self._shape and now - self._checked_at < RECHECK_SECONDS:
            return
        self._shape, self._checked_at = shape, now
        self._folders = Folders(registry.mailboxes)
        dead_dirs = (self.configured, self.fallback)
        refused = {}
        for outbox in registry.by_outbox:
            problem = self._folders.outbox_problem(outbox, dead_dirs)
            if problem:
                refused[outbox] = problem
                if self._refused.get(outbox) != problem:
                    log.error("not routing %s: %s; its files stay where they are until the panes' "
                              "folders are fixed", outbox, problem)
        for outbox in {o for o, p in self._refused.items() if p and o in registry.by_outbox} - set(refused):
            log.info("routing %s again: it is no longer an inbox or dead-letter folder", outbox)
        self._refused = refused


def unusable(path: str) -> str:
    """Why ``path`` can never hold dead letters ('' when it can, or can be made): a file, FIFO,
    dangling symlink or the like where the folder (or a parent to be made) should be.

    A full disk is not such a reason: the move is retried and waits for room.
    """
    probe = os.path.abspath(path)
    while True:
        try:
            st = os.stat(probe)
        except FileNotFoundError:
            if os.path.islink(probe):
                return f"{probe} is a symlink to nothing"
            parent = os.path.dirname(probe)
            if parent == probe:
                return ""
            probe = parent
            continue
        except OSError as exc:
            return f"{probe}: {exc.strerror or exc}"
        if not stat.S_ISDIR(st.st_mode):
            return f"{probe} is {kind_of(st.st_mode)}, not a folder"
        if not os.access(probe, os.W_OK | os.X_OK):
            return f"{probe} cannot be written"
        return ""

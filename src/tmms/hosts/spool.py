"""One folder per remote host: the messages waiting for it, in posting order, until it acks them.

Under ``$XDG_STATE_HOME/tmms/hosts-<tmux server key>/<host>/``:

- ``spool/``: messages for the host, named ``<20-digit sequence>_<outbox name>``, so that name
  order is the order they were routed in; a message leaves only when the host acked it (or
  refused it: then it goes to dead letter with the host's reason);
- ``incoming/``: where a message may wait for its number (``admit``; a crash between the two is
  finished by ``recover``); the router moves a message straight to its numbered name (``next_name``);
- ``lock``: held (flock) by whichever process sends this spool now: the server's link, or a
  relay that this host connected to us (so a message is never sent by two at once);
- ``order``: flocked while a message takes its number and its place (exclusive) and while the
  spool is listed (shared), so a listing never sees a later message without every earlier one
  (a directory read while files are added may return them in any order, or miss some);
- ``received.log``: the ids received from the host (see ``received``); ``inbound``: that host
  connected to us (we do not dial a host we only know from its own link).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .. import store
from ..names import REASON_SUFFIX, fit
from .address import folder_name

SEQ_DIGITS = 20
_seq_lock = threading.Lock()
_last_seq = 0


def hosts_root(state_dir: str, key: str) -> str:
    """The folder of every host's spool for one tmux server (``key``: its socket, hashed)."""
    return os.path.join(state_dir, f"hosts-{key}")


def _next_seq(floor: int) -> int:
    """A number larger than every one handed out before (and than ``floor``): nanoseconds since 1970."""
    global _last_seq
    with _seq_lock:
        _last_seq = max(time.time_ns(), _last_seq + 1, floor + 1)
        return _last_seq


class Spool:
    """The messages waiting for one host, and that host's other files."""

    def __init__(self, root: str, host: str) -> None:
        self.host = host
        self.folder = os.path.join(root, folder_name(host))
        self.dir = os.path.join(self.folder, "spool")
        self.incoming = os.path.join(self.folder, "incoming")
        self.ledger_path = os.path.join(self.folder, "received.log")
        self.inbound_path = os.path.join(self.folder, "inbound")
        self._lock_fd = -1
        self._order_fd = -1
        self._floor = -1
        self._made = False

    def ensure(self) -> None:
        """Make the folders (0700) and the file naming the host, when missing."""
        if self._made or os.path.isdir(self.dir):
            self._made = True
            return
        store.ensure_dir(self.dir)
        store.ensure_dir(self.incoming)
        try:
            store.write_new(self.folder, "host", self.host.encode("utf-8", "surrogateescape") + b"\n")
        except Exception:  # a second process wrote it meanwhile: the same name
            pass

    @contextmanager
    def ordered(self, *, listing: bool = False) -> Iterator[None]:
        """Hold the order lock: exclusive while a message is numbered and moved in, shared (on a
        descriptor of its own) while the spool is listed."""
        self.ensure()
        path = os.path.join(self.folder, "order")
        if listing:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, store.FILE_MODE)
        else:
            if self._order_fd < 0:
                self._order_fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, store.FILE_MODE)
            fd = self._order_fd
        fcntl.flock(fd, fcntl.LOCK_SH if listing else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            if listing:
                os.close(fd)

    def next_name(self, name: str) -> str:
        """The spool name for a message named ``name`` that is moved in now (under ``ordered()``):
        its place in the line."""
        if self._floor < 0:
            self._floor = self._highest()
        self._floor = _next_seq(self._floor)
        return fit(f"{self._floor:0{SEQ_DIGITS}d}_{name}")

    def admit(self, path: str) -> str:
        """Give a message moved into ``incoming`` its place in the line; its path in the spool."""
        with self.ordered():
            return self._admit(path)

    def _admit(self, path: str) -> str:
        if self._floor < 0:
            self._floor = self._highest()
        name = os.path.basename(path)
        while True:
            seq = _next_seq(self._floor)
            final = os.path.join(self.dir, fit(f"{seq:0{SEQ_DIGITS}d}_{name}"))
            try:
                store.rename_noreplace(path, final)
            except FileExistsError:
                self._floor = seq
                continue
            self._floor = seq
            return final

    def _highest(self) -> int:
        names = self.names()
        return max((sequence(name) for name in names[-1:]), default=0)

    def recover(self) -> int:
        """Number the messages a crash left in ``incoming``; how many."""
        try:
            left = store.message_names(self.incoming, 1 << 20)
        except OSError:
            return 0
        for name in left:
            self.admit(os.path.join(self.incoming, name))
        return len(left)

    def listed(self, after: str = "") -> list[str]:
        """``names`` under the order lock: no message numbered before the last one listed is missing."""
        with self.ordered(listing=True):
            return self.names(after)

    def names(self, after: str = "") -> list[str]:
        """The waiting messages' names in order (only those after ``after``)."""
        try:
            with os.scandir(self.dir) as scanner:
                found = [e.name for e in scanner if e.name > after and not e.name.startswith(".")
                         and e.name.endswith(store.SUFFIX)]
        except FileNotFoundError:
            return []
        found.sort()
        return found

    def count(self) -> int:
        """How many messages wait."""
        return len(self.names())

    def done(self, name: str) -> None:
        """The host has it: drop it from the spool."""
        try:
            os.unlink(os.path.join(self.dir, name))
        except FileNotFoundError:
            pass

    def refuse(self, name: str, reason: str, dead_dir: str, fields: dict[str, str]) -> str:
        """The host refused it: move it to ``dead_dir`` with a reason file; its path there."""
        store.ensure_dir(dead_dir)
        original = name.partition("_")[2] or name
        path = store.take_name(dead_dir, original, (REASON_SUFFIX,),
                               lambda final: store.rename_noreplace(os.path.join(self.dir, name), final))
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        record = {"reason": reason, "source": os.path.join(self.dir, name), "at": at, **fields}
        directory, base = os.path.split(path)
        try:
            store.write_new(directory, base + REASON_SUFFIX, (json.dumps(record) + "\n").encode())
        except Exception:  # the letter is set aside; a missing reason file only thins `tmms dead`
            pass
        return path

    # -- who sends it --------------------------------------------------------------------------

    def try_lock(self) -> bool:
        """Take the right to send this spool (non-blocking); True when this process has it."""
        if self._lock_fd >= 0:
            return True
        self.ensure()
        fd = os.open(os.path.join(self.folder, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, store.FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def unlock(self) -> None:
        """Give the right to send back."""
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def mark_inbound(self) -> None:
        """Note that this host links to us (so we wait for it rather than dial it)."""
        self.ensure()
        with open(self.inbound_path, "w", encoding="utf-8") as handle:
            handle.write(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))

    @property
    def inbound(self) -> bool:
        """Whether this host has linked to us."""
        return os.path.exists(self.inbound_path)


def sequence(name: str) -> int:
    """The sequence number a spool name starts with (0 when none)."""
    head = name[:SEQ_DIGITS]
    return int(head) if head.isdigit() else 0


def known_hosts(root: str) -> list[str]:
    """The name of every host with a folder under ``root``."""
    try:
        with os.scandir(root) as scanner:
            folders = sorted(e.path for e in scanner if e.is_dir(follow_symlinks=False))
    except OSError:
        return []
    hosts = []
    for folder in folders:
        try:
            raw, _ = store.read_regular(os.path.join(folder, "host"), 1024)
        except OSError:
            continue
        name = raw.decode("utf-8", "surrogateescape").strip()
        if name:
            hosts.append(name)
    return hosts

"""Mail that arrives over a link: checked, addressed to local panes, written durably, acked once.

For each message, and each local mailbox it is for (a name, ``@group`` or ``*`` there):

1. the bytes, with ``tmms_from`` qualified (``alice@laptop``) and ``tmms_to`` the local name, go
   to a hidden file in the inbox named by the delivery's digest, fsynced;
2. the digest goes into the ledger, fsynced (once per batch);
3. the hidden file is renamed to its final name, never replacing one; the inbox is fsynced;
4. the ack goes back.

A repeat (its digest in the ledger) finishes a hidden file a crash left between 2 and 3, and is
acked again. A name no pane has here is refused with the reason; the sender sets it aside.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from .. import frontmatter, store
from ..errors import MessageError
from ..message import Headers, file_name, read_headers, set_keys
from ..registry import Mailbox, Registry
from . import frames
from .address import qualified, split
from .frames import Frame
from .received import Received, key

log = logging.getLogger("tmms.hosts")
HIDDEN = ".tmms-relay-"
SYNCFS_BATCH = 16  # hidden files in a batch from which one syncfs is cheaper than an fsync each
_STAMP = re.compile(r"\d{8}-\d{6}")
GetRegistry = Callable[[bool], Registry]


class Delivered(NamedTuple):
    """One delivery made (or found made) for a relayed message."""

    message_id: str
    sender: str
    mailbox: str
    path: str
    duplicate: bool
    subject: str = ""

    def record(self, via: str) -> dict[str, str | None]:
        """The journal's ``delivered`` fields of this delivery, which came from host ``via``."""
        return {"id": self.message_id, "from": self.sender, "to": self.mailbox, "mailbox": self.mailbox,
                "path": self.path, "via": via, "duplicate": "yes" if self.duplicate else None,
                "subject": self.subject or None}


class _Copy(NamedTuple):
    digest: int
    box: Mailbox
    hidden: str
    name: str
    message_id: str
    sender: str
    subject: str


class Refused(Exception):
    """A message this host will never take (its reason goes back to the sender)."""


class Receiver:
    """Takes message frames from host ``peer`` into this host's inboxes."""

    def __init__(self, peer: str, ledger: Received, registry: GetRegistry, *, here: str = "",
                 max_bytes: int = 64 * 1024 * 1024, on_delivered: Callable[[Delivered], None] | None = None) -> None:
        self.peer = peer
        self.ledger = ledger
        self.registry = registry
        self.here = here or "this host"
        self.max_bytes = max_bytes
        self.on_delivered = on_delivered

    def take(self, batch: list[Frame]) -> list[bytes]:
        """Deliver a batch of message frames; the ack or refusal of each, in order.

        OSError when a write fails (nothing of the batch is acked; the sender sends it again).
        """
        replies: list[dict[str, Any]] = []
        copies: list[_Copy] = []
        found: list[Delivered] = []
        with self.ledger:
            for frame in batch:
                seq = frame.fields.get("seq")
                try:
                    made, done = self._prepare(frame)
                except Refused as exc:
                    replies.append({"seq": seq, "reason": str(exc)})
                    continue
                copies += made
                found += done
                path = made[0].hidden if made else done[0].path if done else ""
                replies.append({"seq": seq, "path": path, "dup": not made})
            durable([copy.hidden for copy in copies], {copy.box.inbox for copy in copies})  # before the ledger
            for copy in copies:
                self.ledger.add(copy.digest)
            self.ledger.sync()
            placed = self._place(copies)
            for delivered in found + placed:  # under the lock: the journal's order is the delivery order
                if self.on_delivered is not None:
                    self.on_delivered(delivered)
        final = {copy.hidden: delivered.path for copy, delivered in zip(copies, placed, strict=True)}
        out = []
        for fields in replies:
            if "path" in fields:
                fields["path"] = final.get(fields["path"], fields["path"])
            out.append(frames.encode(frames.ACK if "path" in fields else frames.REFUSED, fields))
        return out

    def _prepare(self, frame: Frame) -> tuple[list[_Copy], list[Delivered]]:
        """The hidden copies written for one message, and the deliveries a repeat finds made."""
        message_id, to = frame.fields.get("id"), frame.fields.get("to")
        if not isinstance(message_id, str) or not message_id or not isinstance(to, str) or not to:
            raise Refused("a message frame without its id or recipient")
        headers, text = self._check(frame.data)
        sender = qualified(headers.sender, self.peer)
        stamp = str(frame.fields.get("name", ""))[:15]
        stamp = stamp if _STAMP.fullmatch(stamp) else time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        made: list[_Copy] = []
        done: list[Delivered] = []
        for box in self._mailboxes(to):
            digest = key(message_id, box.name)
            hidden = os.path.join(box.inbox, f"{HIDDEN}{digest:016x}")
            name = file_name(stamp, sender, box.name, message_id)
            if digest in self.ledger:
                path = self._finish(hidden, box.inbox, name)
                done.append(Delivered(message_id, sender, box.name, path, True, headers.subject))
                continue
            data = stamped(text, sender, box.name, self._recipients(headers)).encode("utf-8")
            _write_hidden(hidden, box.inbox, data)
            made.append(_Copy(digest, box, hidden, name, message_id, sender, headers.subject))
        return made, done

    def _recipients(self, headers: Headers) -> list[str]:
        """``tmms_recipients`` as this host names them: its own panes by their names, the sender's
        (no host) qualified with the sender's host, others as written; [] when there is none."""
        ours = split(headers.recipient)
        here = ours.host if ours else ""
        names = []
        for name in headers.all_recipients:
            address = split(name)
            names.append(address.local if address and address.host == here else
                         f"{name}@{self.peer}" if address is None else name)
        return names

    def _check(self, data: bytes) -> tuple[Headers, str]:
        """The message's headers and text; Refused for anything but a readable message."""
        if self.max_bytes and len(data) > self.max_bytes:
            raise Refused(f"too large: {len(data)} bytes (max_message_bytes on {self.here} is {self.max_bytes})")
        if b"\x00" in data:
            raise Refused("binary content (NUL bytes)")
        try:
            text = data.decode("utf-8")
            return read_headers(text), text
        except UnicodeDecodeError as exc:
            raise Refused(f"not UTF-8 text (bad byte at offset {exc.start})") from None
        except MessageError as exc:
            raise Refused(exc.reason) from None
        except Exception as exc:  # whatever a parser raises on hostile text
            raise Refused(f"front matter cannot be read ({type(exc).__name__})") from None

    def _mailboxes(self, to: str) -> list[Mailbox]:
        """The local mailboxes ``to`` names (re-reading the panes once for a name not known)."""
        for fresh in (False, True):
            registry = self.registry(fresh)
            if to == "*":
                names = [b.name for b in registry.mailboxes]
            elif to.startswith("@"):
                names = registry.group(to[1:])
            else:
                names = [to] if to in registry.by_name else []
            if names:
                return [self._one(registry, name) for name in dict.fromkeys(names)]
        if to == "*" or to.startswith("@"):
            raise Refused(f"'{to}' has no members on {self.here}")
        raise Refused(f"unknown recipient '{to}' on {self.here} (no enabled pane has that @tmms_name)")

    def _one(self, registry: Registry, name: str) -> Mailbox:
        if len(registry.inboxes_for(name)) > 1:
            raise Refused(f"ambiguous recipient '{name}' on {self.here}: panes with different inboxes")
        return registry.by_name[name][0]

    def _finish(self, hidden: str, inbox: str, name: str) -> str:
        """A repeat: rename the hidden copy a crash left (else it was delivered); its path."""
        try:
            return store.take_name(inbox, name, (), lambda final: store.rename_noreplace(hidden, final))
        except FileNotFoundError:
            return os.path.join(inbox, name)

    def _place(self, copies: list[_Copy]) -> list[Delivered]:
        placed = []
        for copy in copies:
            path = store.take_name(copy.box.inbox, copy.name, (),
                                   lambda final, c=copy: store.rename_noreplace(c.hidden, final))  # type: ignore[misc]
            placed.append(Delivered(copy.message_id, copy.sender, copy.box.name, path, False, copy.subject))
        durable([], {copy.box.inbox for copy in copies})  # the renames
        return placed


def stamped(text: str, sender: str, to: str, recipients: list[str] | None = None) -> str:
    """The message with ``tmms_from`` and ``tmms_to`` set (and ``tmms_recipients``, when given); the
    front matter tmms writes is done line by line (``frontmatter.load_simple`` vouches for it), any
    other through YAML."""
    doc = frontmatter.split(text)
    if not recipients and doc.front_matter is not None and frontmatter.load_simple(doc.front_matter) is not None:
        lines = doc.front_matter.split("\n")
        values = {"tmms_from": sender, "tmms_to": to}
        found = 0
        for index, line in enumerate(lines):
            name = line.partition(": ")[0]
            if name in values:
                lines[index] = f"{name}: {frontmatter.scalar(values[name])}"
                found += 1
        if found == len(values):
            start = text.index("\n") + 1
            return text[:start] + "\n".join(lines) + text[start + len(doc.front_matter):]
    if not recipients:
        return set_keys(text, [("tmms_from", sender), ("tmms_to", to)])
    token = f"tmms-recipients-{os.urandom(8).hex()}"  # a plain placeholder, swapped for the flow list
    text = set_keys(text, [("tmms_from", sender), ("tmms_to", to), ("tmms_recipients", token)])
    listed = "[" + ", ".join(frontmatter.scalar(name, flow=True) for name in recipients) + "]"
    return text.replace(f"tmms_recipients: {token}", f"tmms_recipients: {listed}", 1)


def _write_hidden(path: str, inbox: str, data: bytes) -> None:
    """Write ``data`` to the hidden file ``path`` (replacing a partial one from a crash); ``durable``
    makes it durable, with the rest of its batch."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, store.FILE_MODE)
    except FileNotFoundError:
        store.ensure_dir(inbox)
        fd = os.open(path, flags, store.FILE_MODE)
    try:
        store.write_all(fd, data)
    finally:
        os.close(fd)


def durable(files: list[str], folders: set[str]) -> None:
    """Make ``files`` and the entries of ``folders`` durable. A batch of SYNCFS_BATCH files or more
    costs one syncfs per filesystem (else one fsync each; sync(2) where syncfs is missing)."""
    if len(files) >= SYNCFS_BATCH:
        devices: set[int] = set()
        for folder in folders:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                device = os.fstat(fd).st_dev
                if device not in devices and not _syncfs(fd):
                    os.sync()
                    return
                devices.add(device)
            finally:
                os.close(fd)
        return
    for path in [*files, *folders]:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _syncfs(fd: int) -> bool:
    """syncfs(2) through ctypes; False where it is not available."""
    global _libc_syncfs
    if _libc_syncfs is None:
        import ctypes

        try:
            func = ctypes.CDLL(None, use_errno=True).syncfs
            func.argtypes = [ctypes.c_int]
            _libc_syncfs = func
        except (OSError, AttributeError):
            _libc_syncfs = False
    if _libc_syncfs is False:
        return False
    if _libc_syncfs(fd) != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return True


_libc_syncfs: Any = None

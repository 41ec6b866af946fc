"""One live link, either end: sends the spool's messages (many in flight), takes the other side's.

Both ends run the same loop once the hellos are exchanged (``handshake``): non-blocking reads and
writes on the two pipe ends, so neither side can block the other with a full pipe. Messages go
out in spool order, up to WINDOW unacked; an ack removes the message from the spool, a refusal
sets it aside in dead letter with the other host's reason. Incoming messages are taken a read's
worth at a time (``Receiver.take``: one ledger fsync per batch), then acked.
"""

from __future__ import annotations

import os
import queue
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from ..errors import MessageError
from ..message import read_headers
from ..watch import drain
from . import frames
from .address import split
from .frames import Decoder, Frame, ProtocolError
from .receiver import Receiver
from .spool import Spool

WINDOW = 1024  # messages sent and not yet acked
OUT_LIMIT = 8 << 20  # bytes queued for the pipe before the spool is read further
READ_CHUNK = 1 << 20
POLL = 0.05  # seconds between looks at a spool filled by another process (the server, for a relay)
LOCK_RETRY = 1.0  # seconds between tries to take a spool that another process sends
Events = Callable[[str, dict[str, Any]], None]


class LinkDown(Exception):
    """The link ended other than by a bye: the reason, in one line."""


class _Sent(NamedTuple):
    name: str
    message_id: str
    to: str
    at: float


class Session:
    """The steady state of one link: ``run`` until the peer says bye, the link goes idle, or it fails."""

    def __init__(self, rfd: int, wfd: int, peer: str, receiver: Receiver, spool: Spool | None, *,
                 idle: float | None, wake_fd: int = -1, events: Events | None = None,
                 dead_dir: Callable[[], str] | None = None, decoder: Decoder | None = None,
                 initial: list[Frame] | None = None, silence: float | None = None,
                 on_wake: Callable[[], None] | None = None) -> None:
        self.rfd, self.wfd, self.wake_fd = rfd, wfd, wake_fd
        self.peer = peer
        self.receiver = receiver
        self.spool = spool
        self.idle = idle
        self.events = events or (lambda _event, _fields: None)
        self.dead_dir = dead_dir
        self.decoder = decoder or Decoder()
        self.initial = list(initial or [])
        self.silence = silence  # give up when nothing was heard for this long (the other side is gone)
        self.on_wake = on_wake  # called after the wake pipe was read, before the spool is listed
        self.out = bytearray()
        self.queue: deque[str] = deque()
        self.last_name = ""
        self.inflight: dict[int, _Sent] = {}
        self.seq = 0
        self.rtt = 0.0
        self.sent = self.acked = self.received = 0
        self.stopping = False
        self._holding = False
        self._lock_tried = -1e9
        self._looked = -1e9
        self._traffic = self._heard = time.monotonic()
        self._reaper = Reaper(spool)

    def run(self) -> str:
        """Serve the link; why it ended well ("idle", "bye", "stopped"); LinkDown when it failed."""
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        try:
            return self._loop()
        finally:
            self._reaper.close()
            if self.spool is not None and self._holding:
                self.spool.unlock()
                self._holding = False

    def stop(self) -> None:
        """Ask the loop to say bye and end (from another thread: then write to the wake pipe)."""
        self.stopping = True

    def _loop(self) -> str:
        if self.initial:
            ended = self._handle(self.initial)
            self.initial = []
            if ended:
                return ended
        while True:
            now = time.monotonic()
            self._feed(now)
            if self.silence is not None and now - self._heard > self.silence:
                raise LinkDown(f"nothing heard from {self.peer} for {self.silence:g}s: its side is gone")
            if self.stopping or self._idle(now):
                self.out += frames.encode(frames.BYE, {})
                self._flush_all()
                return "stopped" if self.stopping else "idle"
            readers = [self.rfd] + ([self.wake_fd] if self.wake_fd >= 0 else [])
            writers = [self.wfd] if self.out else []
            ready, writable, _ = select.select(readers, writers, [], self._timeout(now))
            if self.wfd in writable:
                self._write()
            if self.wake_fd in ready:
                drain(self.wake_fd)
                if self.on_wake is not None:
                    self.on_wake()
                self._looked = -1e9
            if self.rfd in ready:
                ended = self._read()
                if ended:
                    self._flush_all()
                    return ended

    def _timeout(self, now: float) -> float:
        waits = [POLL if self.spool is not None else 1.0]
        if self.idle is not None and not (self.inflight or self.queue or self.out):
            waits.append(max(0.0, self._traffic + self.idle - now))
        return min(waits)

    def _idle(self, now: float) -> bool:
        if self.idle is None or self.inflight or self.queue or self.out:
            return False
        return now - self._traffic >= self.idle

    # -- sending the spool -------------------------------------------------------------------------

    def _feed(self, now: float) -> None:
        """Queue frames for spooled messages, as far as the window and the buffer allow."""
        spool = self.spool
        if spool is None:
            return
        if not self._holding:
            if now - self._lock_tried < LOCK_RETRY:
                return
            self._lock_tried = now
            self._holding = spool.try_lock()
            if not self._holding:
                return
        if not self.queue and now - self._looked >= POLL:
            self._looked = now
            names = spool.listed(self.last_name)
            if names:
                self.queue.extend(names)
                self.last_name = names[-1]
        while self.queue and len(self.inflight) < WINDOW and len(self.out) < OUT_LIMIT:
            self._send(self.queue.popleft(), now)

    def _send(self, name: str, now: float) -> None:
        assert self.spool is not None
        path = os.path.join(self.spool.dir, name)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            headers = read_headers(data.decode("utf-8"))
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError, MessageError) as exc:
            self._set_aside(name, f"cannot be relayed: {exc}", "", "")
            return
        address = split(headers.recipient)
        local = address.local if address is not None else headers.recipient
        self.seq += 1
        self.out += frames.encode(frames.MESSAGE, {"seq": self.seq, "id": headers.message_id, "to": local,
                                                   "name": name.partition("_")[2]}, data)
        self.inflight[self.seq] = _Sent(name, headers.message_id, headers.recipient, now)
        self.sent += 1
        self.events("relayed", {"id": headers.message_id, "to": headers.recipient, "host": self.peer,
                                "path": path})

    def _set_aside(self, name: str, reason: str, message_id: str, to: str) -> None:
        if self.spool is None or self.dead_dir is None:
            return
        fields = {"tmms_id": message_id, "tmms_to": to, "host": self.peer} if message_id else {"host": self.peer}
        try:
            path = self.spool.refuse(name, reason, self.dead_dir(), fields)
        except OSError as exc:
            self.events("error", {"reason": f"cannot set aside {name}: {exc.strerror or exc}"})
            return
        self.events("refused", {"id": message_id, "to": to, "host": self.peer, "reason": reason, "path": path})

    # -- reading ---------------------------------------------------------------------------------------

    def _read(self) -> str:
        """Read what is there and act on it; why the link ended ('' while it goes on)."""
        try:
            chunk = os.read(self.rfd, READ_CHUNK)
        except BlockingIOError:
            return ""
        except OSError as exc:
            raise LinkDown(f"reading the link failed: {exc.strerror or exc}") from None
        if not chunk:
            raise LinkDown("the connection closed")
        self._traffic = self._heard = time.monotonic()
        try:
            batch = self.decoder.feed(chunk)
        except ProtocolError as exc:
            raise LinkDown(f"protocol error: {exc}") from None
        return self._handle(batch)

    def _handle(self, batch: list[Frame]) -> str:
        messages: list[Frame] = []
        for frame in batch:
            if frame.kind == frames.MESSAGE:
                messages.append(frame)
                continue
            if messages:
                self._take(messages)
                messages = []
            ended = self._control(frame)
            if ended:
                return ended
        if messages:
            self._take(messages)
        return ""

    def _take(self, messages: list[Frame]) -> None:
        try:
            replies = self.receiver.take(messages)
        except OSError as exc:
            reason = f"cannot write the mail down: {exc.strerror or exc}"
            self.out += frames.encode(frames.ERROR, {"reason": reason})
            self._flush_all()
            raise LinkDown(reason) from None
        self.received += len(messages)
        for reply in replies:
            self.out += reply

    def _control(self, frame: Frame) -> str:
        fields = frame.fields
        if frame.kind == frames.ACK:
            sent = self.inflight.pop(_seq(fields), None)
            if sent is not None and self.spool is not None:
                self._reaper.done(sent.name)
                self.acked += 1
                self.rtt = time.monotonic() - sent.at
                self.events("acked", {"id": sent.message_id, "to": sent.to, "host": self.peer,
                                      "remote_path": str(fields.get("path", ""))[:4096],
                                      "rtt_ms": f"{self.rtt * 1000:.1f}", "dup": "yes" if fields.get("dup") else None})
        elif frame.kind == frames.REFUSED:
            sent = self.inflight.pop(_seq(fields), None)
            if sent is not None:
                reason = f"refused by {self.peer}: {str(fields.get('reason', ''))[:500]}"
                self._set_aside(sent.name, reason, sent.message_id, sent.to)
        elif frame.kind == frames.BYE:
            return "bye"
        elif frame.kind == frames.ERROR:
            raise LinkDown(f"{self.peer} says: {str(fields.get('reason', ''))[:300]}")
        else:
            raise LinkDown(f"protocol error: an unexpected {frame.kind.decode()} frame")
        return ""

    # -- writing ---------------------------------------------------------------------------------------

    def _write(self) -> None:
        try:
            written = os.write(self.wfd, self.out[:READ_CHUNK])
        except BlockingIOError:
            return
        except OSError as exc:
            raise LinkDown(f"writing the link failed: {exc.strerror or exc}") from None
        del self.out[:written]
        self._traffic = time.monotonic()

    def _flush_all(self, timeout: float = 5.0) -> None:
        """Write what is queued (a bye, last acks), for at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.out and time.monotonic() < deadline:
            try:
                _, writable, _ = select.select([], [self.wfd], [], 0.1)
                if writable:
                    self._write()
            except (LinkDown, OSError):
                return


class Reaper:
    """Removes acked messages from the spool on a thread of its own, so that the link goes on while
    the filesystem is busy (a message acked but not yet removed when a crash comes is sent again,
    and the other side acks the repeat without delivering it)."""

    def __init__(self, spool: Spool | None) -> None:
        self.spool = spool
        self._names: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def done(self, name: str) -> None:
        """Remove ``name`` from the spool soon."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tmms-spool-reaper", daemon=True)
            self._thread.start()
        self._names.put(name)

    def _run(self) -> None:
        while True:
            name = self._names.get()
            if name is None or self.spool is None:
                return
            self.spool.done(name)

    def close(self) -> None:
        """Remove what is queued, then stop."""
        if self._thread is not None:
            self._names.put(None)
            self._thread.join()
            self._thread = None


def _seq(fields: dict[str, Any]) -> int:
    """The sequence number an ack or refusal answers (-1 for anything but a number: matches none)."""
    seq = fields.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else -1


def read_frames(rfd: int, decoder: Decoder, timeout: float) -> list[Frame]:
    """The first frames to come (the hello, and any sent right behind it), waiting at most
    ``timeout`` seconds; LinkDown when none came."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LinkDown(f"no answer within {timeout:g}s")
        ready, _, _ = select.select([rfd], [], [], left)
        if not ready:
            continue
        chunk = os.read(rfd, 65536)
        if not chunk:
            raise LinkDown("the connection closed")
        try:
            got = decoder.feed(chunk)
        except ProtocolError as exc:
            raise LinkDown(f"protocol error: {exc}") from None
        if got:
            return got


def write_all(wfd: int, data: bytes) -> None:
    """Write ``data`` whole to a blocking descriptor (the hello); LinkDown when the pipe is gone."""
    try:
        while data:
            written = os.write(wfd, data)
            data = data[written:]
    except OSError as exc:
        raise LinkDown(f"writing the link failed: {exc.strerror or exc}") from None

"""The framed protocol on a link's stdin/stdout: length-prefixed frames, one kind letter each.

A frame is a 4-byte big-endian length, then that many bytes: the kind (one ASCII letter) and the
payload. ``M`` (a message) carries a JSON header line, a newline, then the message's bytes; every
other kind carries one JSON object:

- ``H`` hello ``{"tmms": "relay", "versions": [1], "host": NAME, "idle": S}``; the answer names the version
- ``M`` message ``{"seq": N, "id": ID, "to": LOCAL, "name": FILE}`` and the bytes
- ``A`` ack ``{"seq": N, "path": WHERE, "dup": BOOL}``: written durably (or had already)
- ``R`` refused ``{"seq": N, "reason": WHY}``: the remote will never take it (it goes to dead letter)
- ``B`` bye ``{}``: the sender closes (idle); ``E`` error ``{"reason": WHY}`` before closing
"""

from __future__ import annotations

import json
import struct
from typing import Any, NamedTuple

VERSION = 1
HEAD = struct.Struct(">I")
MAX_FRAME = 96 * 1024 * 1024  # a message of max_message_bytes (64 MiB by default) and its header
HELLO, MESSAGE, ACK, REFUSED, BYE, ERROR = b"H", b"M", b"A", b"R", b"B", b"E"
KINDS = frozenset((HELLO, MESSAGE, ACK, REFUSED, BYE, ERROR))


class ProtocolError(Exception):
    """The other side sent something that is not a frame of this protocol."""


class Frame(NamedTuple):
    """One frame: its kind, its JSON fields, and (a message) its bytes."""

    kind: bytes
    fields: dict[str, Any]
    data: bytes = b""


def encode(kind: bytes, fields: dict[str, Any], data: bytes = b"") -> bytes:
    """The bytes of one frame."""
    head = json.dumps(fields, separators=(",", ":")).encode("utf-8")
    body = kind + head + (b"\n" + data if kind == MESSAGE else b"")
    return HEAD.pack(len(body)) + body


def decode_body(body: bytes) -> Frame:
    """One frame from its bytes after the length; ProtocolError when malformed."""
    kind = body[:1]
    if kind not in KINDS:
        raise ProtocolError(f"unknown frame kind {kind!r}")
    head, data = body[1:], b""
    if kind == MESSAGE:
        cut = body.find(b"\n", 1)
        if cut < 0:
            raise ProtocolError("a message frame without its header line")
        head, data = body[1:cut], body[cut + 1:]
    try:
        fields = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("a frame header that is not JSON") from None
    if not isinstance(fields, dict):
        raise ProtocolError("a frame header that is not a JSON object")
    return Frame(kind, fields, data)


class Decoder:
    """Frames from a byte stream, in any chunks."""

    def __init__(self, limit: int = MAX_FRAME) -> None:
        self.limit = limit
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[Frame]:
        """Take ``chunk``; every frame now whole, in order."""
        self._buffer += chunk
        frames: list[Frame] = []
        start = 0
        buffer = self._buffer
        while len(buffer) - start >= HEAD.size:
            (size,) = HEAD.unpack_from(buffer, start)
            if size > self.limit or size == 0:
                raise ProtocolError(f"a frame of {size} bytes (at most {self.limit})")
            end = start + HEAD.size + size
            if len(buffer) < end:
                break
            frames.append(decode_body(bytes(buffer[start + HEAD.size:end])))
            start = end
        if start:
            del buffer[:start]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of a frame not yet whole."""
        return len(self._buffer)


def hello(host: str, version: int | None = None, idle: float | None = None) -> bytes:
    """A hello frame: the versions this side speaks (or, answering, the one chosen), its host name,
    and (the side that dialled) after how many silent seconds it closes the link."""
    fields: dict[str, Any] = {"tmms": "relay", "host": host}
    if idle is not None:
        fields["idle"] = idle
    if version is None:
        fields["versions"] = [VERSION]
    else:
        fields["version"] = version
    return encode(HELLO, fields)


def chosen_version(fields: dict[str, Any]) -> int | None:
    """The highest version both sides speak, from a hello's ``versions`` (None: none in common)."""
    offered = fields.get("versions")
    if not isinstance(offered, list):
        return None
    common = [v for v in offered if isinstance(v, int) and not isinstance(v, bool) and v == VERSION]
    return max(common) if common else None

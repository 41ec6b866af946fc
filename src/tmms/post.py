"""``tmms post``: compose a message in the current pane's outbox, atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import store
from .errors import InputError, NoRecipient, PaneNotFound
from .message import Composed, compose
from .registry import Registry, mailbox_of
from .tmux import Tmux


@dataclass(frozen=True)
class Posted:
    """Where a posted message was written, and recipients no pane answers to right now."""

    paths: list[str]
    message_ids: list[str]
    unknown: list[str]


def decode_body(data: bytes, source: str) -> str:
    """Message text from raw bytes: UTF-8, no NUL bytes."""
    if b"\x00" in data:
        raise InputError(source, "binary content (NUL bytes); a message is text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(source, f"not UTF-8 text (bad byte at offset {exc.start})") from None


def read_body_file(path: str) -> str:
    """Read a message body from a file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None
    return decode_body(data, path)


def post(
    tmux: Tmux,
    text: str,
    to: Sequence[str] = (),
    subject: str | None = None,
    *,
    thread_id: str | None = None,
    in_reply_to: str | None = None,
) -> Posted:
    """Write one message per recipient into this pane's outbox; one tmux invocation."""
    pane_id = tmux.current_pane_id()
    panes = tmux.list_panes()
    own = next((p for p in panes if p.pane_id == pane_id), None)
    if own is None:
        raise PaneNotFound(pane_id)
    box = mailbox_of(own, tmux.env)
    recipients = [r for r in dict.fromkeys(to) if r] or ([box.reply_to] if box.reply_to else [])
    if not recipients:
        raise NoRecipient()
    registry = Registry.from_panes(panes, tmux.env)
    unknown = [r for r in recipients if not registry.by_name.get(r)]
    store.ensure_dir(box.outbox)
    paths: list[str] = []
    ids: list[str] = []
    for recipient in recipients:
        composed: Composed = compose(
            text, box.name, recipient, subject,
            thread_id=thread_id, in_reply_to=in_reply_to, recipients=recipients,
        )
        paths.append(store.write_new(box.outbox, composed.file_name, composed.text.encode("utf-8")))
        ids.append(composed.message_id)
    return Posted(paths, ids, unknown)

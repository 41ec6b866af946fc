"""How messages look to people and to scripts: one-line summaries, JSON records, rendered Markdown.

Everything here returns text; only the CLI prints it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InputError
from .mailbox import Letter, body_of, body_text, read_text
from .message import short_id
from .terminal import json_visible, visible, visible_text


def age(seconds: float) -> str:
    """A short age: ``42s``, ``5m``, ``3h``, ``2d``."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _clip(text: str, width: int) -> str:
    text = " ".join(visible(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def letter_line(letter: Letter, now: float | None = None, show_folder: bool = False) -> str:
    """``age  from  subject  thread  id``: one message on one line."""
    now = time.time() if now is None else now
    h = letter.headers
    subject = h.subject or ("(unreadable: " + letter.error + ")" if letter.error else "(no subject)")
    thread = visible(short_id(h.thread_id)) if h.thread_id else "-"
    folder = f"{letter.folder:<6} " if show_folder else ""
    return (f"{folder}{age(now - letter.mtime):>4}  {_clip(h.sender or '?', 16):<16}  {_clip(subject, 48):<48}  "
            f"{thread:<8}  {visible(letter.short_id)}")


def letter_record(letter: Letter, with_body: bool = False) -> dict[str, Any]:
    """A message as a JSON-ready mapping: strings, and ``recipients`` a flat list of names.

    Nothing else is taken from the front matter, so the record is never larger than the file.
    A body that cannot be read is ``""``, with the reason in ``error``.
    """
    h = letter.headers
    record: dict[str, Any] = {
        "id": h.message_id, "from": h.sender, "to": h.recipient, "subject": h.subject,
        "created_at": h.created_at, "thread_id": h.thread_id, "in_reply_to": h.in_reply_to,
        "path": letter.path, "folder": letter.folder,
    }
    if isinstance(h.data.get("tmms_recipients"), list):
        record["recipients"] = list(h.all_recipients)
    if letter.error:
        record["error"] = letter.error
    if with_body:
        try:
            record["body"] = body_text(letter.path)
        except InputError as exc:
            record["body"] = ""
            record.setdefault("error", exc.reason)
    return record


def to_json(value: object) -> str:
    """Pretty, stable JSON; control, bidi and format characters as ``\\uXXXX`` (the values stay exact)."""
    return json_visible(json.dumps(value, ensure_ascii=False, indent=2))


def json_lines(records: Iterable[Mapping[str, Any]]) -> str:
    """A JSON array of records."""
    return to_json(list(records))


def raw_text(letter: Letter) -> str:
    """The file as stored (bad UTF-8 as U+FFFD); InputError when it cannot be read (mailbox.read_text)."""
    return read_text(letter.path)


def header_block(letter: Letter) -> str:
    """``From:``/``To:``/``Subject:`` lines for a person."""
    h = letter.headers
    rows = [("From", h.sender), ("To", h.recipient), ("Date", h.created_at), ("Subject", h.subject),
            ("Thread", h.thread_id), ("In reply to", h.in_reply_to), ("Id", h.message_id)]
    return "\n".join(f"{k + ':':<13}{visible(v)}" for k, v in rows if v)


def rendered(letter: Letter, width: int | None = None) -> str:
    """Headers and the body rendered as Markdown for a terminal (rich), as ANSI text.

    rich passes ESC, C1 and bidi characters through, so the body is made visible before rich sees
    it; links show their target as text instead of a hidden OSC 8 hyperlink.
    """
    from io import StringIO

    from rich.console import Console
    from rich.markdown import Markdown
    from rich.rule import Rule

    buffer = StringIO()
    console = Console(file=buffer, force_terminal=True, width=width, highlight=False)
    console.print(header_block(letter), style="bold", markup=False)
    console.print(Rule(style="dim"))
    console.print(Markdown(visible_text(body_of(letter.path)), hyperlinks=False))
    return buffer.getvalue()


def conversation(letters: Iterable[Letter], me: str) -> str:
    """A thread for a person: each message's heading, then its body."""
    parts: list[str] = []
    for letter in letters:
        h = letter.headers
        arrow = "you" if h.sender == me else h.sender
        target = "you" if h.recipient == me else h.recipient
        heading = f"── {h.created_at}  {arrow} → {target}  {h.subject}  [{letter.short_id}, {letter.folder}]"
        parts.append(visible(heading))
        parts.append(visible_text(body_of(letter.path).rstrip("\n")))
        parts.append("")
    return "\n".join(parts)

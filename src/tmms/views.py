"""How messages look to people and to scripts: one-line summaries, JSON records, rendered Markdown.

Everything here returns text; only the CLI prints it. The JSON shape of a message is documented in
docs/json.md (and docs/schema/message.json): every command that prints a message prints this one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import InputError
from .mailbox import Letter, body_of, body_text, read_text
from .message import short_id
from .terminal import json_visible, visible, visible_text

if TYPE_CHECKING:
    from .post import Posted

STATES = {"inbox": "unread", "read": "read", "archive": "archived", "outbox": "queued", "sent": "sent",
          "dead": "dead"}
"""A letter's folder -> its ``state`` in JSON."""
MAX_EXTRA_KEYS = 64
"""The most front matter keys of the author's own a record carries (the first ones, in file order)."""
MAX_EXTRA_CHARS = 4096
"""A front matter string longer than this (or a list with more than MAX_EXTRA_KEYS items) is dropped."""


def age(seconds: float) -> str:
    """A short age: ``42s``, ``5m``, ``3h``, ``2d``."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def ago(seconds: float) -> str:
    """A relative time for people: ``just now``, ``42 s ago``, ``5 min ago``, ``3 h ago``, ``2 days ago``."""
    if seconds < 0:
        return "in the future"
    if seconds < 10:
        return "just now"
    for unit, size in ((" days", 86400), (" h", 3600), (" min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count}{' day' if unit == ' days' and count == 1 else unit} ago"
    return f"{int(seconds)} s ago"


def parse_time(stamp: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 time such as ``2026-03-22T14:30:05.000Z``; None if it is not one."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(stamp.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def local_time(stamp: str, now: float | None = None) -> str:
    """An ISO time as local time and how long ago: ``2026-03-22 15:30 CET (5 min ago)``; unparseable: as given."""
    seconds = parse_time(stamp)
    if seconds is None:
        return stamp
    now = time.time() if now is None else now
    return time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(seconds)) + f" ({ago(now - seconds)})"


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


def front_matter(data: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """The author's own front matter keys, flat and bounded: strings and flat lists of strings only.

    ``tmms_*`` keys, nested mappings, lists holding anything but strings, strings longer than
    MAX_EXTRA_CHARS and lists longer than MAX_EXTRA_KEYS are dropped; at most MAX_EXTRA_KEYS keys.
    """
    kept: dict[str, str | list[str]] = {}
    for key, value in data.items():
        if len(kept) >= MAX_EXTRA_KEYS:
            break
        if not isinstance(key, str) or key.startswith("tmms_") or len(key) > 256:
            continue
        if isinstance(value, str) and len(value) <= MAX_EXTRA_CHARS:
            kept[key] = value
        elif (isinstance(value, list) and len(value) <= MAX_EXTRA_KEYS
              and all(isinstance(v, str) and len(v) <= MAX_EXTRA_CHARS for v in value)):
            kept[key] = list(value)
    return kept


def letter_record(letter: Letter, with_body: bool = False) -> dict[str, Any]:
    """A message as a JSON-ready mapping, in the one shape of docs/json.md.

    Only strings, flat lists of names and the bounded ``front_matter`` are taken from the file, so
    the record is never much larger than the file. A body that cannot be read is ``""``, with the
    reason in ``error``.
    """
    h = letter.headers
    record: dict[str, Any] = {
        "id": h.message_id, "thread_id": h.thread_id or h.message_id, "in_reply_to": h.in_reply_to or None,
        "from": h.sender, "to": h.recipient, "recipients": list(h.all_recipients or h.recipients),
        "subject": h.subject, "created_at": h.created_at, "state": STATES.get(letter.folder, str(letter.folder)),
        "folder": str(letter.folder), "path": letter.path, "front_matter": front_matter(h.data),
    }
    if letter.error:
        record["error"] = letter.error
    if with_body:
        try:
            record["body"] = body_text(letter.path)
        except InputError as exc:
            record["body"] = ""
            record.setdefault("error", exc.reason)
    return record


def posted_records(posted: Posted) -> list[dict[str, Any]]:
    """What a post wrote, one message record per recipient (``state`` ``queued``, ``path`` in the outbox).

    Each record is read from the sent copy the post kept (outbox/sent/), which the router never
    moves; when there is none, the facts the post knows.
    """
    import os

    from .mailbox import Folder, load

    records: list[dict[str, Any]] = []
    for message_id, recipient, path in zip(posted.message_ids, posted.recipients, posted.paths, strict=True):
        copy = os.path.join(os.path.dirname(path), "sent", os.path.basename(path))
        letter = load(copy, Folder.SENT)
        record: dict[str, Any]
        if letter.error or letter.message_id != message_id:
            record = {"id": message_id, "thread_id": posted.thread_id or message_id, "in_reply_to": None,
                      "from": "", "to": recipient, "recipients": [recipient], "subject": "", "created_at": "",
                      "front_matter": {}}
        else:
            record = letter_record(letter)
        record.update(state="queued", folder="outbox", path=path)
        records.append(record)
    return records


def to_json(value: object) -> str:
    """Pretty, stable JSON; control, bidi and format characters as ``\\uXXXX`` (the values stay exact)."""
    return json_visible(json.dumps(value, ensure_ascii=False, indent=2))


def json_lines(records: Iterable[Mapping[str, Any]]) -> str:
    """A JSON array of records."""
    return to_json(list(records))


def raw_text(letter: Letter) -> str:
    """The file as stored (bad UTF-8 as U+FFFD); InputError when it cannot be read (mailbox.read_text)."""
    return read_text(letter.path)


def header_block(letter: Letter, now: float | None = None) -> str:
    """``From:``/``To:``/``Subject:`` lines for a person; the date in local time and how long ago."""
    h = letter.headers
    date = local_time(h.created_at, now) if h.created_at else ""
    rows = [("From", h.sender), ("To", ", ".join(h.all_recipients) or h.recipient), ("Date", date),
            ("Subject", h.subject), ("Thread", h.thread_id), ("In reply to", h.in_reply_to), ("Id", h.message_id)]
    return "\n".join(f"{k + ':':<13}{visible(v)}" for k, v in rows if v)


def rendered(letter: Letter, width: int | None = None, color: bool = True) -> str:
    """Headers and the body rendered as Markdown for a terminal (rich), as ANSI text.

    rich passes ESC, C1 and bidi characters through, so the body is made visible before rich sees
    it; links show their target as text (``text (url)``) instead of a hidden OSC 8 hyperlink, and
    images their alt text and target.
    """
    from io import StringIO

    from rich.console import Console
    from rich.rule import Rule

    buffer = StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=None if color else True, width=width,
                      highlight=False)  # None: rich heeds NO_COLOR
    console.print(header_block(letter), style="bold", markup=False)
    console.print(Rule(style="dim"))
    console.print(_markdown(visible_text(body_of(letter.path))))
    return buffer.getvalue()


def _markdown(text: str) -> Any:
    """rich's Markdown, with links as ``text (url)`` and images as ``alt (url)`` in the line they stand in."""
    from rich.markdown import ImageItem, Markdown

    class InlineImage(ImageItem):
        def on_leave(self, context: Any) -> None:
            alt = self.text.plain if self.text else ""
            context.on_text(f"{alt} ({self.destination})" if alt else f"({self.destination})", "text")
            super().on_leave(context)

        def __rich_console__(self, console: Any, options: Any) -> Any:
            return iter(())

    class Mail(Markdown):
        elements: ClassVar[dict[str, type[Any]]] = {**Markdown.elements, "image": InlineImage}

    return Mail(text, hyperlinks=False)


def _heading(letter: Letter, me: str, now: float | None) -> str:
    """A message's line in a thread: when (local, how long ago), who to whom, subject, short id and folder."""
    h = letter.headers
    arrow = "you" if h.sender == me else h.sender
    target = "you" if h.recipient == me else h.recipient
    when = local_time(h.created_at, now) if h.created_at else "(no date)"
    return visible(f"── {when}  {arrow} → {target}  {h.subject}  [{letter.short_id}, {letter.folder}]")


def conversation(letters: Iterable[Letter], me: str, now: float | None = None) -> str:
    """A thread for a person: each message's heading (local time, how long ago), then its body."""
    parts: list[str] = []
    for letter in letters:
        parts.append(_heading(letter, me, now))
        parts.append(visible_text(body_of(letter.path).rstrip("\n")))
        parts.append("")
    return "\n".join(parts)


def rendered_conversation(letters: Iterable[Letter], me: str, width: int | None = None) -> str:
    """A thread for a terminal: each heading in bold, each body rendered as Markdown (as ``rendered``)."""
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    console = Console(file=buffer, force_terminal=True, width=width, highlight=False)
    for letter in letters:
        console.print(_heading(letter, me, None), style="bold", markup=False)
        console.print(_markdown(visible_text(body_of(letter.path))))
        console.print()
    return buffer.getvalue()


def letter_table(letters: Iterable[Letter], now: float | None = None, width: int | None = None,
                 color: bool = False, show_state: bool = False) -> list[str]:
    """Mail as a list with column headers: ``ID [STATE] AGE FROM SUBJECT THREAD``, fitted to ``width``."""
    from .table import Column, render

    now = time.time() if now is None else now
    columns = [Column("ID", style="id"), *([Column("STATE")] if show_state else []), Column("AGE", ">", style="dim"),
               Column("FROM", most=20, style="name"), Column("SUBJECT", flex=True), Column("THREAD", style="id")]
    rows: list[list[str]] = []
    styles: list[list[str]] = []
    for letter in letters:
        h = letter.headers
        subject = h.subject or ("(unreadable: " + letter.error + ")" if letter.error else "(no subject)")
        thread = short_id(h.thread_id) if h.thread_id else "-"
        state = [STATES.get(letter.folder, str(letter.folder))] if show_state else []
        rows.append([visible(letter.short_id), *state, age(now - letter.mtime), visible(h.sender or "?"),
                     " ".join(visible(subject).split()), visible(thread)])
        roles = [c.style for c in columns]
        if show_state and letter.folder == "inbox":
            roles[1] = "mark"
        styles.append(roles)
    return render(columns, rows, width, color, styles)


def dead_table(entries: Iterable[tuple[Letter, str, float]], now: float | None = None, width: int | None = None,
               color: bool = False) -> list[str]:
    """Dead letters (letter, reason, when) as a list: ``ID AGE FROM TO SUBJECT REASON``, fitted to ``width``."""
    from .table import Column, render

    now = time.time() if now is None else now
    columns = [Column("ID", style="id"), Column("AGE", ">", style="dim"), Column("FROM", most=20, style="name"),
               Column("TO", most=20, style="name"), Column("SUBJECT", flex=True), Column("REASON", flex=True,
                                                                                       style="warn")]
    rows = [[visible(letter.short_id), age(now - when), visible(letter.headers.sender or "?"),
             visible(letter.headers.recipient or "?"), " ".join(visible(letter.headers.subject or letter.name).split()),
             " ".join(visible(why).split())] for letter, why, when in entries]
    return render(columns, rows, width, color)

"""``tmms status``: where a message is now and what happened to it, from the folders and the journal."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import journal, mailbox
from .errors import AmbiguousMessage, MessageNotFound
from .mailbox import Folder, Letter
from .message import short_id
from .registry import Registry
from .terminal import visible

# The state a message is in, by the folder it sits in (most advanced first).
_STATE_OF_FOLDER = ((Folder.DEAD, "dead-lettered"), (Folder.ARCHIVE, "archived"), (Folder.READ, "read"),
                    (Folder.INBOX, "delivered"), (Folder.OUTBOX, "queued"))
_STATE_OF_EVENT = {"posted": "queued", "delivered": "delivered", "notified": "delivered", "read": "read",
                   "dead-lettered": "dead-lettered", "retried": "queued"}
_HOP = {"spooled": "waiting for {host} (in its spool)", "relayed": "relayed to {host}, waiting for its ack",
        "acked": "delivered on {host} (acked)", "refused": "refused by {host}"}  # mail across hosts


@dataclass
class Place:
    """One copy of the message: whose folder it is in, which folder, and the path."""

    owner: str
    folder: Folder
    path: str


@dataclass
class MessageStatus:
    """Everything known about one message."""

    message_id: str
    state: str
    places: list[Place] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    letter: Letter | None = None
    journal_path: str = ""
    hop_host: str = ""  # the other host it went to (from the journal), if any
    link: str = ""  # waiting for that host: its link's last error


def _copies(registry: Registry, dead_dir: str) -> list[tuple[str, Letter]]:
    seen: set[str] = set()
    found: list[tuple[str, Letter]] = []
    for box in registry.mailboxes:
        folders = ((box.inbox, Folder.INBOX), (mailbox.read_folder(box), Folder.READ),
                   (mailbox.archive_folder(box), Folder.ARCHIVE), (box.outbox, Folder.OUTBOX),
                   (mailbox.sent_folder(box), Folder.SENT))
        for directory, folder in folders:
            if directory in seen:
                continue
            seen.add(directory)
            found.extend((box.name, letter) for letter in mailbox.scan(directory, folder))
    found.extend(("dead letter", letter) for letter in mailbox.scan(dead_dir, Folder.DEAD))
    return found


def locate(ref: str, registry: Registry, dead_dir: str, journal_path: str) -> MessageStatus:
    """The status of the one message ``ref`` (an id or unique id prefix) names."""
    copies = [(owner, x) for owner, x in _copies(registry, dead_dir) if mailbox.matches(x, ref)]
    ids = {x.message_id for _, x in copies if x.message_id}
    if not ids:
        ids = _ids_in_journal(ref, journal_path)
    if not ids:
        raise MessageNotFound(ref, "any mailbox, the dead letter folder or the journal")
    if len(ids) > 1:
        raise AmbiguousMessage(ref, sorted(short_id(i) for i in ids))
    message_id = ids.pop()
    different = mailbox.distinct(x for _, x in copies if x.message_id == message_id)
    if len(different) > 1:  # an impostor reuses the id: say so, never report one as the other
        raise AmbiguousMessage(ref, [f"{x.short_id} ({x.folder}: {x.path})" for x in different],
                               hint="different messages carry the same id")
    places = [Place(owner, x.folder, x.path) for owner, x in copies if x.message_id == message_id]
    # The server can journal a delivery before ``tmms post`` journals its post (it writes its line
    # after the file is in the outbox); a message's life begins with its post all the same.
    events = sorted(journal.events_for(journal_path, {message_id}), key=lambda r: r.get("event") != "posted")
    letter = next((x for _, x in copies if x.message_id == message_id and x.folder != Folder.SENT),
                  next((x for _, x in copies if x.message_id == message_id), None))
    hop = next((e for e in reversed(events) if e.get("event") in _HOP and e.get("host")), None)
    state = _state(places, events)
    if hop is not None and state in ("sent copy only", "unknown", "queued") and not any(
            p.folder != Folder.SENT for p in places):
        state = _HOP[hop["event"]].format(host=hop["host"])
    return MessageStatus(message_id, state, places, events, letter, journal_path, hop.get("host", "") if hop else "")


def _ids_in_journal(ref: str, path: str) -> set[str]:
    plain = ref.lower().replace("-", "")
    if not plain:
        return set()
    return {r["id"] for r in journal.read(path) if r.get("id", "").replace("-", "").startswith(plain)}


def _state(places: list[Place], events: list[dict[str, str]]) -> str:
    folders = {p.folder for p in places}
    for folder, state in _STATE_OF_FOLDER:
        if folder in folders:
            return state
    if events:
        last = _STATE_OF_EVENT.get(events[-1].get("event", ""), "")
        if last in ("read", "delivered"):
            return f"{last}, then removed"
        return last or "unknown"
    return "sent copy only" if folders == {Folder.SENT} else "unknown"


def describe(status: MessageStatus) -> str:
    """The status for a person, one fact per line (whatever a sender wrote is shown visibly)."""
    lines = [f"message {status.message_id}: {status.state}"]
    letter = status.letter
    if letter is not None:
        h = letter.headers
        lines.append(f"  {h.sender or '?'} → {h.recipient or '?'}: {h.subject or '(no subject)'}")
    for place in status.places:
        lines.append(f"  {place.folder:<6} of {place.owner}: {place.path}")
    for event in status.events:
        detail = event.get("reason") or _hop_detail(event) or event.get("path") or ""
        who = event.get("mailbox") or event.get("to") or ""
        lines.append(f"  {event.get('at', '?')}  {event.get('event', '?'):<13} {who:<12} {detail}".rstrip())
    if not status.events:
        lines.append(f"  (no journal entries in {status.journal_path or '$XDG_STATE_HOME/tmms/journal.jsonl'})")
    if status.link:
        lines.append(f"  link   {status.link}")
    return "\n".join(visible(line) for line in lines)


def _hop_detail(event: dict[str, str]) -> str:
    """A hop's host, round trip and path there ('' for an event of this host only)."""
    if not event.get("host") and not event.get("via"):
        return ""
    if event.get("via"):
        return f"from {event['via']}: {event.get('path', '')}"
    rtt = f", {event['rtt_ms']} ms" if event.get("rtt_ms") else ""
    return f"{event['host']}{rtt}: {event.get('remote_path') or event.get('path', '')}"

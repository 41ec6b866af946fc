"""``tmms register`` and ``tmms unregister``: one command to join or leave, instead of five options."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import store
from .errors import BadName, NameTaken, UsageError
from .keys import tmms_command
from .paths import data_dir, expand
from .privacy import tighten_mailboxes
from .registry import Registry, folder, is_enabled, missing_options, registration_problem, same_folder
from .tmux import OPTION_NAMES, PaneRecord, Tmux

if TYPE_CHECKING:
    from .detect import Detected

_NAME = re.compile(r"\w[\w.+-]*")
MAX_NAME = 64
UNREAD_OPTION = "@tmms_unread"  # set by ``tmms alert``; status lines show it, so it goes with the rest
AGENT_OPTION = "@tmms_agent"
AGENT_SOURCE_OPTION = "@tmms_agent_source"  # "explicit" (--agent, or set by hand) or "detected"
NO_AGENT = "none"


def default_notify() -> str:
    """The notify command a pane gets when none is given: ``tmms alert`` on this pane."""
    return f"{shlex.join(tmms_command())} alert ${{{{filepath}}}}"


@dataclass(frozen=True)
class Registration:
    """What ``register`` set up."""

    name: str
    pane_id: str
    location: str
    inbox: str
    outbox: str
    notify_cmd: str
    reply_to: str
    groups: tuple[str, ...]
    created: tuple[str, ...]
    agent: str = ""
    """The pane's agent kind ('' for none)."""
    agent_source: str = ""
    """How: "explicit" (--agent), "kept" (an explicit kind kept), "detected", or "" (none)."""
    detected: Detected | None = None
    """The process that detection chose."""
    agent_dropped: str = ""
    """A kind detected earlier that no process runs any more, now unset."""


@dataclass(frozen=True)
class AgentChoice:
    """The agent options ``register`` sets (or unsets), and why."""

    kind: str
    source: str
    detected: Detected | None = None
    dropped: str = ""

    def options(self) -> dict[str, str]:
        """The pane options to set ({} when they are to be unset)."""
        if not self.kind:
            return {}
        return {AGENT_OPTION: self.kind, AGENT_SOURCE_OPTION: "detected" if self.detected else "explicit"}


class FolderClash(UsageError):
    """A registration whose folders would make mail loop, or lose it: refused (exit 2)."""


def check_name(name: str) -> str:
    """A mailbox name: letters, digits, ``_ . + -``, starting with a letter, digit or ``_``."""
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise BadName(name)
    return name


def resolve_pane(tmux: Tmux, target: str | None) -> PaneRecord:
    """The pane ``target`` names (a pane id or any tmux target), or this pane."""
    return tmux.pane(target or tmux.current_pane_id())


def holder_of(panes: Sequence[PaneRecord], name: str, except_pane: str) -> PaneRecord | None:
    """Another live pane that is registered under ``name``."""
    for pane in panes:
        if pane.pane_id != except_pane and not missing_options(pane) and pane.option("name").strip() == name:
            return pane
    return None


def register(
    tmux: Tmux,
    name: str,
    *,
    target: str | None = None,
    notify: str | None = None,
    reply_to: str | None = None,
    groups: Sequence[str] | None = None,
    inbox: str | None = None,
    outbox: str | None = None,
    dead_letter_dirs: Sequence[str] = (),
    agent: str | None = None,
    set_groups: Sequence[str] | None = None,
) -> Registration:
    """Set every ``@tmms_*`` option on the pane and create its folders; refuse a name in use, and
    folders that would make mail loop (see ``check_folders``). ``groups`` are joined (added to the
    pane's); ``set_groups`` replaces them all (``[]``: none). ``agent``: the kind (``none`` clears
    it); None keeps an explicit kind, else detects one from the pane's processes."""
    check_name(name)
    pane = resolve_pane(tmux, target)
    choice = choose_agent(pane, agent, tmux.env)
    panes = tmux.list_panes()
    holder = holder_of(panes, name, pane.pane_id)
    if holder is not None:
        raise NameTaken(name, holder.pane_id, holder.location)
    root = os.path.join(data_dir(tmux.env), "mail", name)
    inbox_dir = os.path.abspath(expand(inbox, tmux.env)) if inbox else os.path.join(root, "inbox")
    outbox_dir = os.path.abspath(expand(outbox, tmux.env)) if outbox else os.path.join(root, "outbox")
    others = Registry.from_panes([p for p in panes if p.pane_id != pane.pane_id], tmux.env)
    check_folders(inbox_dir, outbox_dir, others, dead_letter_dirs)
    created = tuple(d for d in (inbox_dir, outbox_dir) if not os.path.isdir(d))
    for directory in (inbox_dir, outbox_dir):
        store.ensure_dir(directory)
    tighten_mailboxes((inbox_dir, outbox_dir), tmux.env)
    notify_cmd = notify if notify is not None else (pane.option("notify_cmd") or default_notify())
    options = {
        "@tmms_enabled": "true",
        "@tmms_name": name,
        "@tmms_inbox": inbox_dir,
        "@tmms_outbox": outbox_dir,
        "@tmms_notify_cmd": notify_cmd,
    }
    if reply_to is not None:
        options["@tmms_reply_to"] = reply_to
    kept_groups = joined_groups(pane.option("groups"), groups, set_groups)
    if set_groups is not None or groups:
        options["@tmms_groups"] = ",".join(kept_groups)
    options.update(choice.options())
    tmux.set_pane_options(pane.pane_id, options)
    if not choice.kind and (pane.options.get(AGENT_OPTION) or pane.options.get(AGENT_SOURCE_OPTION)):
        tmux.unset_pane_options(pane.pane_id, (AGENT_OPTION, AGENT_SOURCE_OPTION))
    return Registration(
        name=name, pane_id=pane.pane_id, location=pane.location, inbox=inbox_dir, outbox=outbox_dir,
        notify_cmd=notify_cmd, reply_to=options.get("@tmms_reply_to", pane.option("reply_to")),
        groups=tuple(kept_groups), created=created,
        agent=choice.kind, agent_source=choice.source, detected=choice.detected, agent_dropped=choice.dropped,
    )


def group_list(text: str) -> list[str]:
    """Group names in ``@tmms_groups`` or given by the user (comma or space separated; a leading @ dropped)."""
    return [g.lstrip("@") for g in text.replace(",", " ").split() if g.lstrip("@")]


def joined_groups(current: str, groups: Sequence[str] | None, set_groups: Sequence[str] | None) -> list[str]:
    """The pane's groups after a registration: ``current`` (or ``set_groups`` instead) and ``groups``, once each."""
    base = group_list(current) if set_groups is None else group_list(",".join(set_groups))
    return list(dict.fromkeys([*base, *group_list(",".join(groups or []))]))


def choose_agent(pane: PaneRecord, agent: str | None, env: Mapping[str, str]) -> AgentChoice:
    """The agent kind a registration gives the pane: ``agent`` (validated; ``none``: no kind); without
    it, the pane's explicit kind, else the kind whose process runs nearest to the pane (or none)."""
    from .agents import agent_of, load_agents
    from .detect import detect

    if agent is not None:
        if agent.strip() == NO_AGENT:
            return AgentChoice("", "")
        return AgentChoice(agent_of(agent.strip(), env).kind, "explicit")
    current = pane.options.get(AGENT_OPTION, "").strip()
    if current and pane.options.get(AGENT_SOURCE_OPTION, "").strip() != "detected":
        return AgentChoice(current, "kept")
    agents = load_agents(env)  # a bad agents file is refused here, before the pane changes
    found = detect(int(pane.pane_pid), agents) if pane.pane_pid.isdigit() else None
    if found is not None:
        return AgentChoice(found.kind, "detected", found)
    return AgentChoice("", "", dropped=current)


def check_folders(inbox: str, outbox: str, others: Registry, dead_letter_dirs: Iterable[str] = ()) -> None:
    """FolderClash when mail would loop or be set aside in a mailbox: ``registry.registration_problem``
    (an inbox that is an outbox, an outbox that is an inbox or its read folder, dead letter in either),
    for every dead-letter folder a server may use, and an inbox that is an outbox's ``sent`` folder."""
    for dead in [*dead_letter_dirs] or [""]:
        problem = registration_problem(inbox, outbox, others.mailboxes, dead)
        if problem:
            raise FolderClash(f"refusing these folders: {problem}; mail would loop or be lost, give other folders")
    mine = folder(inbox)
    for box in [*others.mailboxes, None]:
        sent = folder(os.path.join(box.outbox if box else outbox, store.SENT_DIR))
        if same_folder(mine, sent):
            whose = f"of pane {box.pane_id} ('{box.name}')" if box else "of this outbox"
            raise FolderClash(f"refusing these folders: the inbox {inbox} is the sent folder {whose}; "
                              "every post would arrive as new mail, give another folder")


def unregister(tmux: Tmux, target: str | None = None) -> tuple[str, str]:
    """Remove every ``@tmms_*`` option from the pane (mail and folders stay); (old name, pane id)."""
    pane = resolve_pane(tmux, target)
    present = [name for name in OPTION_NAMES if pane.options.get(name)]
    if not is_enabled(pane) and not present:
        return "", pane.pane_id
    tmux.unset_pane_options(pane.pane_id, (*OPTION_NAMES, UNREAD_OPTION))
    return pane.option("name"), pane.pane_id

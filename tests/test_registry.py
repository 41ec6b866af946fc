"""Panes to mailboxes: which panes take part, their folders, lookup by name and by group."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from tmms.errors import PaneNotRegistered
from tmms.registry import Registry, is_enabled, mailbox_of, missing_options
from tmms.tmux import PaneRecord

ENV = {"HOME": "/home/u", "MAIL": "/srv/mail"}


def _pane(pane_id: str, mailbox: str | None = None, **options: str) -> PaneRecord:
    """A pane record as tmux would report it; a mailbox name gives it a complete registration."""
    opts: dict[str, str] = {}
    if mailbox is not None:
        opts = {"@tmms_enabled": "true", "@tmms_name": mailbox,
                "@tmms_inbox": f"/m/{mailbox}/inbox", "@tmms_outbox": f"/m/{mailbox}/outbox"}
    opts.update({f"@tmms_{key}": value for key, value in options.items()})
    return PaneRecord(pane_id, "main", "0", pane_id.lstrip("%"), "100", "1", opts)


# --- which panes take part ---------------------------------------------------------------------


class MissingCase(NamedTuple):
    test_id: str
    pane: PaneRecord
    missing: list[str]


MISSING_CASES = [
    MissingCase("complete", _pane("%1", "a"), []),
    MissingCase("no_options", _pane("%1"), ["@tmms_enabled", "@tmms_name", "@tmms_inbox", "@tmms_outbox"]),
    MissingCase("disabled", _pane("%1", "a", enabled="false"), ["@tmms_enabled"]),
    MissingCase("enabled_zero", _pane("%1", "a", enabled="0"), ["@tmms_enabled"]),
    MissingCase("no_name", _pane("%1", "a", name=""), ["@tmms_name"]),
    MissingCase("blank_name", _pane("%1", "a", name="   "), ["@tmms_name"]),
    MissingCase("no_inbox", _pane("%1", "a", inbox=""), ["@tmms_inbox"]),
    MissingCase("no_outbox", _pane("%1", "a", outbox=" "), ["@tmms_outbox"]),
]


@pytest.mark.parametrize("case", MISSING_CASES, ids=[c.test_id for c in MISSING_CASES])
def test_missing_options(case: MissingCase) -> None:
    assert missing_options(case.pane) == case.missing


@pytest.mark.parametrize("value", ["true", "1", "yes", "on", " TRUE ", "On"])
def test_enabled_values(value: str) -> None:
    assert is_enabled(_pane("%1", "a", enabled=value))


@pytest.mark.parametrize("value", ["", "false", "0", "no", "off", "enabled", "truthy"])
def test_disabled_values(value: str) -> None:
    assert not is_enabled(_pane("%1", "a", enabled=value))


def test_from_panes_skips_panes_missing_options() -> None:
    panes = [
        _pane("%1", "alpha"),
        _pane("%2"),
        _pane("%3", "beta", enabled="off"),
        _pane("%4", "gamma", outbox=""),
        _pane("%5", "delta"),
    ]
    registry = Registry.from_panes(panes, ENV)
    assert [(b.pane_id, b.name) for b in registry.mailboxes] == [("%1", "alpha"), ("%5", "delta")]
    assert registry.inboxes_for("beta") == []
    assert registry.inboxes_for("gamma") == []


def test_mailbox_of_an_unregistered_pane_raises() -> None:
    with pytest.raises(PaneNotRegistered) as info:
        mailbox_of(_pane("%7", "a", enabled="no", inbox=""))
    assert (info.value.pane_id, info.value.missing) == ("%7", ["@tmms_enabled", "@tmms_inbox"])
    assert "pane %7 is not a tmms mailbox: missing @tmms_enabled, @tmms_inbox" in str(info.value)


# --- the mailbox of a pane ---------------------------------------------------------------------


def test_mailbox_fields() -> None:
    pane = _pane("%3", " alpha ", inbox="/m/a/in/", outbox="/m/a//out", notify_cmd=" echo ${{filepath}} ",
                 reply_to=" boss ", groups="dev, ops")
    box = mailbox_of(pane, ENV)
    assert (box.name, box.pane_id, box.inbox, box.outbox, box.notify_cmd, box.reply_to, box.groups) == (
        "alpha", "%3", "/m/a/in", "/m/a/out", " echo ${{filepath}} ", "boss", ("dev", "ops"),
    )
    assert box.pane is pane


class FolderCase(NamedTuple):
    test_id: str
    value: str
    expected: str


FOLDER_CASES = [
    FolderCase("tilde", "~/tmms/inbox", "/home/u/tmms/inbox"),
    FolderCase("bare_tilde", "~", "/home/u"),
    FolderCase("variable", "$MAIL/a/inbox", "/srv/mail/a/inbox"),
    FolderCase("braced_variable", "${MAIL}/b", "/srv/mail/b"),
    FolderCase("dot_dot", "/srv/mail/x/../inbox", "/srv/mail/inbox"),
    FolderCase("surrounding_spaces", "  ~/in  ", "/home/u/in"),
    FolderCase("tilde_user_untouched", "/abs/~x", "/abs/~x"),
]


@pytest.mark.parametrize("case", FOLDER_CASES, ids=[c.test_id for c in FOLDER_CASES])
def test_folders_are_expanded_and_normalised(case: FolderCase) -> None:
    box = mailbox_of(_pane("%1", "a", inbox=case.value, outbox=case.value), ENV)
    assert (box.inbox, box.outbox) == (case.expected, case.expected)


def test_registry_expands_tilde_for_every_pane() -> None:
    registry = Registry.from_panes([_pane("%1", "a", inbox="~/a/in"), _pane("%2", "b", outbox="~/b/out")], ENV)
    assert registry.inboxes_for("a") == ["/home/u/a/in"]
    assert registry.outboxes() == ["/m/a/outbox", "/home/u/b/out"]


# --- lookup ------------------------------------------------------------------------------------


def test_inboxes_for_a_name() -> None:
    registry = Registry.from_panes([_pane("%1", "alpha"), _pane("%2", "beta")], ENV)
    assert registry.inboxes_for("alpha") == ["/m/alpha/inbox"]
    assert registry.inboxes_for("beta") == ["/m/beta/inbox"]


def test_inboxes_for_is_exact() -> None:
    registry = Registry.from_panes([_pane("%1", "alpha")], ENV)
    assert registry.inboxes_for("Alpha") == []
    assert registry.inboxes_for("alph") == []
    assert registry.inboxes_for("") == []


def test_two_panes_sharing_a_name_and_inbox_are_one_inbox() -> None:
    registry = Registry.from_panes([_pane("%1", "alpha"), _pane("%2", "alpha", inbox="/m/alpha/inbox/")], ENV)
    assert registry.inboxes_for("alpha") == ["/m/alpha/inbox"]
    assert [b.pane_id for b in registry.by_name["alpha"]] == ["%1", "%2"]


def test_a_name_with_two_inboxes_is_ambiguous() -> None:
    registry = Registry.from_panes([_pane("%1", "alpha"), _pane("%2", "alpha", inbox="/other/inbox")], ENV)
    assert registry.inboxes_for("alpha") == ["/m/alpha/inbox", "/other/inbox"]


def test_outboxes_are_distinct() -> None:
    registry = Registry.from_panes([_pane("%1", "a", outbox="/shared"), _pane("%2", "b", outbox="/shared/")], ENV)
    assert registry.outboxes() == ["/shared"]
    assert [b.name for b in registry.by_outbox["/shared"]] == ["a", "b"]


class GroupCase(NamedTuple):
    test_id: str
    groups: str
    member_of: list[str]


GROUP_CASES = [
    GroupCase("comma", "dev,ops", ["dev", "ops"]),
    GroupCase("comma_space", "dev, ops", ["dev", "ops"]),
    GroupCase("spaces", "  dev   ops ", ["dev", "ops"]),
    GroupCase("empty", "", []),
    GroupCase("only_commas", ",, ,", []),
]


@pytest.mark.parametrize("case", GROUP_CASES, ids=[c.test_id for c in GROUP_CASES])
def test_groups_option_formats(case: GroupCase) -> None:
    registry = Registry.from_panes([_pane("%1", "alpha", groups=case.groups)], ENV)
    assert [g for g in ("dev", "ops") if registry.group(g)] == case.member_of
    assert registry.group("de") == []


def test_group_lists_member_names_once_in_pane_order() -> None:
    panes = [
        _pane("%1", "alpha", groups="dev"),
        _pane("%2", "beta", groups="ops"),
        _pane("%3", "gamma", groups="ops,dev"),
        _pane("%4", "alpha", groups="dev", inbox="/second"),
        _pane("%5", "delta", groups="dev", enabled="no"),
    ]
    registry = Registry.from_panes(panes, ENV)
    assert registry.group("dev") == ["alpha", "gamma"]
    assert registry.group("ops") == ["beta", "gamma"]
    assert registry.group("nobody") == []


def test_signature_changes_with_routing_facts_only() -> None:
    base = Registry.from_panes([_pane("%1", "a"), _pane("%2", "b")], ENV)
    reordered = Registry.from_panes([_pane("%2", "b"), _pane("%1", "a", reply_to="x")], ENV)
    moved = Registry.from_panes([_pane("%1", "a", inbox="/new"), _pane("%2", "b")], ENV)
    assert base.signature() == reordered.signature()
    assert base.signature() != moved.signature()

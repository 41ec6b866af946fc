"""Unit tests of dead-letter handling, the alert text and the key-binding lines (real temp folders, no tmux)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from tmms import deadletter
from tmms.alert import MAX_SHOWN, alert_text, tmux_literal
from tmms.deadletter import DeadLetter
from tmms.errors import AmbiguousMessage, MessageNotFound, UsageError
from tmms.keys import config_lines, popup_binding
from tmms.message import compose
from tmms.registry import Registry
from tmms.tmux import OPTION_NAMES, PaneRecord

NOW = 1_900_000_000.0


def write_message(folder: Path, sender: str, recipient: str, subject: str = "Hi",
                  message_id: str | None = None) -> tuple[Path, str]:
    """A real message file in ``folder``; (path, id)."""
    composed = compose("Body text.\n", sender, recipient, subject, message_id=message_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / composed.file_name
    path.write_text(composed.text, encoding="utf-8")
    return path, composed.message_id


def dead_letter(dead_dir: Path, sender: str, recipient: str, reason: str = "unknown recipient 'ghost'",
                source: Path | None = None, dead_at: float | None = None,
                message_id: str | None = None) -> tuple[Path, str]:
    """A message in dead letter with the ``.reason.json`` the router writes; (path, id)."""
    path, message_id = write_message(dead_dir, sender, recipient, message_id=message_id)
    record = {"reason": reason, "source": str(source / path.name) if source else "", "at": "2030-03-17T17:46:40.000Z",
              "tmms_id": message_id, "tmms_from": sender, "tmms_to": recipient}
    reason_path = Path(str(path) + ".reason.json")
    reason_path.write_text(json.dumps(record) + "\n")
    if dead_at is not None:
        os.utime(reason_path, (dead_at, dead_at))
    return path, message_id


def registry_of(*boxes: tuple[str, Path]) -> Registry:
    """Registered panes, one per (name, mail folder)."""
    panes = []
    for index, (name, root) in enumerate(boxes):
        values = ["true", name, str(root / "inbox"), str(root / "outbox")] + [""] * (len(OPTION_NAMES) - 4)
        panes.append(PaneRecord(f"%{index}", "main", str(index), "0", "1", "1", dict(zip(OPTION_NAMES, values,
                                                                                          strict=True))))
    return Registry.from_panes(panes, {"HOME": "/nonexistent"})


def only(dead_dir: Path) -> DeadLetter:
    entries = deadletter.listing(str(dead_dir))
    assert len(entries) == 1, entries
    return entries[0]


# -- parse_duration ------------------------------------------------------------------------------


class Duration(NamedTuple):
    test_id: str
    text: str
    seconds: float


DURATIONS = [
    Duration("plain-seconds", "90", 90), Duration("seconds", "90s", 90), Duration("minutes", "15m", 900),
    Duration("hours", "12h", 43200), Duration("days", "7d", 604800), Duration("weeks", "2w", 1209600),
    Duration("fraction", "1.5h", 5400), Duration("zero", "0", 0), Duration("upper-and-spaces", " 7D ", 604800),
]


@pytest.mark.parametrize("case", DURATIONS, ids=[c.test_id for c in DURATIONS])
def test_parse_duration_reads_a_number_with_an_optional_unit(case: Duration) -> None:
    assert deadletter.parse_duration(case.text) == case.seconds


@pytest.mark.parametrize("text", ["", "d", "soon", "7x", "-1", "-2d", "nan", "1d2h"])
def test_parse_duration_refuses_what_is_not_an_age(text: str) -> None:
    with pytest.raises(ValueError):
        deadletter.parse_duration(text)


# -- listing and find ----------------------------------------------------------------------------


def test_listing_is_oldest_first_with_reasons_and_ignores_other_files(tmp_path: Path) -> None:
    dead = tmp_path / "dead"
    newer, _ = dead_letter(dead, "alpha", "ghost", reason="newer", dead_at=NOW - 60)
    older, _ = dead_letter(dead, "alpha", "ghost", reason="older", dead_at=NOW - 3600)
    bare, _ = write_message(dead, "beta", "nobody")
    os.utime(bare, (NOW - 600, NOW - 600))
    (dead / ".tmp-writing.md").write_text("half")
    (dead / "notes.txt").write_text("not mail")
    entries = deadletter.listing(str(dead))
    assert [Path(d.letter.path) for d in entries] == [older, bare, newer]
    assert [d.why for d in entries] == ["older", "no reason recorded", "newer"]
    assert [d.dead_at for d in entries] == [NOW - 3600, NOW - 600, NOW - 60]
    assert entries[0].reason["tmms_to"] == "ghost"
    assert entries[0].letter.headers.sender == "alpha"


def test_listing_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert deadletter.listing(str(tmp_path / "never-made")) == []


def test_a_broken_reason_file_reads_as_no_reason(tmp_path: Path) -> None:
    dead = tmp_path / "dead"
    path, _ = dead_letter(dead, "alpha", "ghost")
    Path(str(path) + ".reason.json").write_text("[not, a, mapping]")
    assert only(dead).why == "no reason recorded"


def test_find_by_id_prefix_or_file_name_prefix(tmp_path: Path) -> None:
    dead = tmp_path / "dead"
    path, _ = dead_letter(dead, "alpha", "ghost", message_id="abcd0000-0000-4000-8000-000000000001")
    dead_letter(dead, "beta", "ghost", message_id="abcd1111-0000-4000-8000-000000000002")
    assert deadletter.find(str(dead), "abcd0").letter.path == str(path)
    assert deadletter.find(str(dead), "ABCD-0000").letter.path == str(path)  # dashes and case do not matter
    assert deadletter.find(str(dead), path.name[:-3]).letter.path == str(path)
    with pytest.raises(MessageNotFound, match=f"no message matches 'zzzz' in dead letter \\({dead}\\)"):
        deadletter.find(str(dead), "zzzz")
    with pytest.raises(AmbiguousMessage, match="'abcd' matches 2 messages"):
        deadletter.find(str(dead), "abcd")


# -- retry_target and retry ----------------------------------------------------------------------


def test_retry_target_is_the_registered_outbox_it_came_from(tmp_path: Path) -> None:
    dead = tmp_path / "dead"
    dead_letter(dead, "alpha", "ghost", source=tmp_path / "alpha" / "outbox")
    registry = registry_of(("alpha", tmp_path / "alpha"), ("beta", tmp_path / "beta"))
    assert deadletter.retry_target(only(dead), registry) == str(tmp_path / "alpha" / "outbox")


def test_retry_target_falls_back_to_the_senders_outbox(tmp_path: Path) -> None:
    dead = tmp_path / "dead"
    dead_letter(dead, "alpha", "ghost", source=tmp_path / "old" / "outbox")  # a folder no pane uses any more
    registry = registry_of(("alpha", tmp_path / "alpha-now"))
    assert deadletter.retry_target(only(dead), registry) == str(tmp_path / "alpha-now" / "outbox")


def test_retry_target_uses_the_old_outbox_if_it_still_exists(tmp_path: Path) -> None:
    dead = tmp_path / "dead"
    (tmp_path / "old" / "outbox").mkdir(parents=True)
    dead_letter(dead, "alpha", "ghost", source=tmp_path / "old" / "outbox")
    assert deadletter.retry_target(only(dead), registry_of()) == str(tmp_path / "old" / "outbox")


def test_retry_target_is_none_with_no_sender_pane_and_no_old_outbox(tmp_path: Path) -> None:
    dead = tmp_path / "dead"
    dead_letter(dead, "alpha", "ghost", source=tmp_path / "gone" / "outbox")
    assert deadletter.retry_target(only(dead), registry_of(("beta", tmp_path / "beta"))) is None


def test_retry_moves_the_message_back_and_drops_its_reason(tmp_path: Path) -> None:
    dead, outbox = tmp_path / "dead", tmp_path / "alpha" / "outbox"
    outbox.mkdir(parents=True)
    path, _ = dead_letter(dead, "alpha", "ghost", source=outbox)
    text = path.read_bytes()
    new = deadletter.retry(only(dead), str(outbox))
    assert new == str(outbox / path.name)
    assert Path(new).read_bytes() == text
    assert list(dead.iterdir()) == []


def test_retry_never_replaces_a_file_of_the_same_name(tmp_path: Path) -> None:
    dead, outbox = tmp_path / "dead", tmp_path / "outbox"
    path, _ = dead_letter(dead, "alpha", "ghost", source=outbox)
    outbox.mkdir()
    (outbox / path.name).write_text("another message")
    new = deadletter.retry(only(dead), str(outbox))
    assert new != str(outbox / path.name)
    assert (outbox / path.name).read_text() == "another message"
    assert len(list(outbox.glob("*.md"))) == 2


# -- purge ---------------------------------------------------------------------------------------


def test_purge_removes_only_letters_older_than_the_age_with_their_reasons(tmp_path: Path) -> None:
    dead = tmp_path / "dead"
    old, _ = dead_letter(dead, "alpha", "ghost", dead_at=NOW - 2 * 86400)
    fresh, _ = dead_letter(dead, "alpha", "ghost", dead_at=NOW - 3600)
    removed = deadletter.purge(str(dead), 86400, now=NOW)
    assert [d.letter.path for d in removed] == [str(old)]
    assert sorted(p.name for p in dead.iterdir()) == [fresh.name, fresh.name + ".reason.json"]


def test_purge_with_age_zero_removes_everything(tmp_path: Path) -> None:
    dead = tmp_path / "dead"
    dead_letter(dead, "alpha", "ghost", dead_at=time.time() - 5)
    write_message(dead, "beta", "ghost")  # no reason file: its own age counts
    assert len(deadletter.purge(str(dead), 0)) == 2
    assert list(dead.iterdir()) == []


def test_purge_of_a_missing_folder_removes_nothing(tmp_path: Path) -> None:
    assert deadletter.purge(str(tmp_path / "never-made"), 0) == []


# -- alert text ----------------------------------------------------------------------------------


class Literal(NamedTuple):
    test_id: str
    text: str
    expected: str


LITERALS = [
    Literal("plain", "Build is green", "Build is green"),
    Literal("command-substitution", "#(touch /tmp/x)", "##(touch /tmp/x)"),
    Literal("format", "#{pane_id} #[fg=red]", "##{pane_id} ##[fg=red]"),
    Literal("strftime", "50% done at %H:%M", "50%% done at %%H:%%M"),
    Literal("control-characters", "a\tb\nc\x1b[31md\x07", "a b c [31md "),
    Literal("unicode", "Überprüfung ✓", "Überprüfung ✓"),
]


@pytest.mark.parametrize("case", LITERALS, ids=[c.test_id for c in LITERALS])
def test_tmux_literal_doubles_hash_and_percent_and_drops_control_characters(case: Literal) -> None:
    assert tmux_literal(case.text) == case.expected


def test_alert_text_names_sender_and_subject() -> None:
    assert alert_text("beta", "Review #7") == "tmms: mail from beta: Review ##7"
    assert alert_text("beta", "") == "tmms: mail from beta"
    assert alert_text("", "") == "tmms: mail from ?"


def test_alert_text_is_shortened_before_escaping() -> None:
    text = alert_text("beta", "#" * 500)
    shown = text.replace("##", "#")
    assert len(shown) == MAX_SHOWN
    assert shown.endswith("#…")
    assert text.count("##") == shown.count("#")  # no '#' was cut in half


# -- key binding lines ---------------------------------------------------------------------------


def test_popup_binding_runs_the_ui_of_the_pane_the_key_was_pressed_in() -> None:
    binding = popup_binding("M", ["/usr/bin/python3", "-m", "tmms"])
    assert binding[:3] == ["bind-key", "M", "run-shell"]
    assert binding[3] == ('tmux display-popup -E -w 90% -h 80% -T tmms '
                          '"/usr/bin/python3 -m tmms -S \\"#{socket_path}\\" ui --pane #{pane_id}"')


def test_popup_binding_refuses_a_program_path_that_needs_quoting() -> None:
    with pytest.raises(UsageError, match="cannot bind a tmms whose path needs quoting"):
        popup_binding("M", ["/opt/my python/bin/python", "-m", "tmms"])


def test_config_lines_quote_only_what_needs_it() -> None:
    lines = config_lines([["bind-key", "M", "run-shell", "echo hi"], ["bind-key", "C-x", "display", "%1"]])
    assert lines == "bind-key M run-shell 'echo hi'\nbind-key C-x display %1\n"


def test_config_lines_of_the_popup_binding_need_no_nested_single_quotes() -> None:
    line = config_lines([popup_binding("m", ["/usr/bin/python3", "-m", "tmms"])])
    assert line.count("'") == 2
    assert line.startswith("bind-key m run-shell 'tmux display-popup")
    assert line.endswith("ui --pane #{pane_id}\"'\n")

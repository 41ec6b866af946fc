"""``tmms register`` refuses folders that would make mail loop or be lost (issue 7, item 4).

An inbox that is the outbox, an outbox that is another pane's inbox (or its read folder), an inbox
that is another pane's outbox (or its sent folder), either being a dead-letter folder: each spelled
directly, through a symlink and through ``..``. Refusals are one line and exit 2, and leave the pane
as it was. Fast checks of ``registration.check_folders`` first, then real ``tmms register`` runs.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import TmuxServer
from tmms.registration import FolderClash, check_folders
from tmms.registry import Registry
from tmms.tmux import OPTION_NAMES, PaneRecord


def pane(pane_id: str, name: str, inbox: Path, outbox: Path) -> PaneRecord:
    options = dict.fromkeys(OPTION_NAMES, "")
    options.update({"@tmms_enabled": "true", "@tmms_name": name, "@tmms_inbox": str(inbox),
                    "@tmms_outbox": str(outbox)})
    return PaneRecord(pane_id, "main", "1", "0", "100", "1", options)


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Registry]:
    """beta's folders exist; a folder ``free`` and a dead-letter folder too."""
    for sub in ("beta/inbox/read", "beta/outbox/sent", "free/a", "free/b", "dead"):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / "link-to-beta-inbox").symlink_to(tmp_path / "beta/inbox")
    (tmp_path / "link-to-free-a").symlink_to(tmp_path / "free/a")
    others = Registry.from_panes([pane("%2", "beta", tmp_path / "beta/inbox", tmp_path / "beta/outbox")])
    return tmp_path, others


def spelled(root: Path, target: str, how: str) -> str:
    """``target`` (relative to root) as ``how`` spells it."""
    real = root / target
    if how == "symlink":
        link = root / f"link-{target.replace('/', '-')}"
        if not link.exists():
            link.symlink_to(real)
        return str(link)
    if how == "dotdot":
        return f"{real}/../{real.name}"
    if how == "trailing slash":
        return f"{real}/"
    return str(real)


@pytest.mark.parametrize("how", ["plain", "symlink", "dotdot", "trailing slash"])
@pytest.mark.parametrize("inbox, outbox, words", [
    ("free/a", "SAME", "the inbox and the outbox are the same folder"),
    ("free/a", "beta/inbox", "is also the inbox of pane %2 ('beta')"),
    ("free/a", "beta/inbox/read", "read-mail folder of pane %2 ('beta')"),
    ("beta/outbox", "free/b", "is the outbox of pane %2 ('beta')"),
    ("beta/outbox/sent", "free/b", "sent folder of pane %2 ('beta')"),
    ("free/a", "free/a/read", "the outbox is the inbox's read-mail folder"),
    ("free/a/sent", "free/a", "sent folder of this outbox"),
    ("dead", "free/b", "dead-letter folder"),
    ("free/a", "dead", "dead-letter folder"),
])
def test_folders_that_make_mail_loop_are_refused(world: tuple[Path, Registry], how: str, inbox: str,
                                                 outbox: str, words: str) -> None:
    root, others = world
    (root / "free/a/read").mkdir(exist_ok=True)
    (root / "free/a/sent").mkdir(exist_ok=True)
    inbox_path = spelled(root, inbox, "plain")
    outbox_path = spelled(root, inbox if outbox == "SAME" else outbox, how)
    with pytest.raises(FolderClash, match="refusing these folders") as info:
        check_folders(inbox_path, outbox_path, others, [str(root / "dead")])
    assert words in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(FolderClash):  # the other way round too: the spelling on the inbox side
        check_folders(spelled(root, inbox, how), spelled(root, inbox if outbox == "SAME" else outbox, "plain"),
                      others, [str(root / "dead")])


def test_folders_that_do_not_exist_yet_are_compared_by_their_real_path(world: tuple[Path, Registry]) -> None:
    root, others = world
    with pytest.raises(FolderClash):
        check_folders(str(root / "new/x"), str(root / "link-to-free-a/../../new/x"), others)


@pytest.mark.parametrize("inbox, outbox", [
    ("free/a", "free/b"),
    ("beta/inbox", "free/b"),  # a shared inbox (two panes read it) does not loop
    ("free/a", "beta/outbox"),  # nor does a shared outbox (the server dead-letters a forged sender)
    ("free/a/sub", "free/b/sub"),
])
def test_folders_that_cannot_loop_are_accepted(world: tuple[Path, Registry], inbox: str, outbox: str) -> None:
    root, others = world
    check_folders(str(root / inbox), str(root / outbox), others, [str(root / "dead")])


# -- tmms register, end to end -------------------------------------------------------------------


def register(server: TmuxServer, name: str, *extra: str, pane: str | None = None
             ) -> subprocess.CompletedProcess[str]:
    return server.tmms("register", name, "--no-server", *extra, pane=pane or server.new_pane())


def options_of(server: TmuxServer, pane: str) -> str:
    return server.tmux("show-options", "-p", "-t", pane)


def refused(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert proc.stdout == "" and len(lines) == 1 and lines[0].startswith("tmms: error: refusing these folders"), \
        proc.stderr
    return lines[0]


def test_register_refuses_an_inbox_that_is_its_outbox_in_every_spelling(tmux_server: TmuxServer,
                                                                        tmp_path: Path) -> None:
    box = tmp_path / "box"
    box.mkdir()
    (tmp_path / "link").symlink_to(box)
    (tmp_path / "sub").mkdir()
    target = tmux_server.new_pane()
    before = options_of(tmux_server, target)
    for outbox in (box, tmp_path / "link", tmp_path / "sub/../box", f"{box}/", tmp_path / "link/../box"):
        line = refused(register(tmux_server, "loopy", "--inbox", str(box), "--outbox", str(outbox), pane=target))
        assert "the inbox and the outbox are the same folder" in line
    assert options_of(tmux_server, target) == before  # nothing set
    fresh = tmp_path / "fresh"  # a folder that does not exist yet: refused before anything is made
    refused(register(tmux_server, "loopy", "--inbox", str(fresh), "--outbox", f"{fresh}/../fresh", pane=target))
    assert not fresh.exists()


def test_register_refuses_another_panes_inbox_as_outbox_and_outbox_as_inbox(tmux_server: TmuxServer,
                                                                            tmp_path: Path) -> None:
    beta: dict[str, Any] = json.loads(register(tmux_server, "beta", "--json").stdout)
    (tmp_path / "beta-in").symlink_to(beta["inbox"])
    cases = [
        ("--outbox", beta["inbox"], "is also the inbox of pane"),
        ("--outbox", str(tmp_path / "beta-in"), "is also the inbox of pane"),
        ("--outbox", f"{beta['inbox']}/read", "read-mail folder"),
        ("--inbox", beta["outbox"], "is the outbox of pane"),
        ("--inbox", f"{beta['outbox']}/../outbox", "is the outbox of pane"),
    ]
    for option, folder, words in cases:
        other = "--inbox" if option == "--outbox" else "--outbox"
        proc = register(tmux_server, "alpha", option, folder, other, str(tmp_path / f"own{len(words)}"))
        assert words in refused(proc), (option, folder)
    assert register(tmux_server, "beta2", "--inbox", beta["inbox"], "--outbox", str(tmp_path / "o2")
                    ).returncode == 0  # sharing an inbox is fine


def test_register_refuses_the_dead_letter_folders(tmux_server: TmuxServer, home: Path, tmp_path: Path) -> None:
    default_dead = home / ".local/share/tmms/dead_letter"
    refused(register(tmux_server, "a", "--inbox", str(default_dead), "--outbox", str(tmp_path / "o")))
    custom = tmp_path / "custom-dead"
    config = home / ".tmms.yml"  # the discovered config names another dead-letter folder
    config.write_text(f"dead_letter_dir: {custom}\n")
    refused(register(tmux_server, "a", "--outbox", str(custom), "--inbox", str(tmp_path / "i")))
    config.unlink()
    served = tmp_path / "served-dead"  # the running server's, from its run info (-c, no discovery)
    tmux_server.start_server(dead_letter_dir=str(served))
    line = refused(register(tmux_server, "a", "--inbox", str(served), "--outbox", str(tmp_path / "o")))
    assert "dead-letter folder" in line
    assert register(tmux_server, "a", "--inbox", str(tmp_path / "i"), "--outbox", str(tmp_path / "o")
                    ).returncode == 0

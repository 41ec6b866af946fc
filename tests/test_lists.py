"""The lists (inbox, dead, peers, search): column headers, the terminal's width (cut, never wrapped), colour
(--color, NO_COLOR), filters (--from, --subject, --since). Real tmux, real files; one list in a real narrow pane."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Pane, TmuxServer, failed, messages, ok, wait_until
from tmms.table import Column, cut, render, text_width

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG = "A subject that goes on and on " * 4


def run(server: TmuxServer, pane: Pane | None, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """tmms with extra environment variables (COLUMNS, NO_COLOR), piped."""
    return subprocess.run([sys.executable, "-m", "tmms", "-L", server.socket, *args], capture_output=True, text=True,
                          env={**server.env(pane.pane_id if pane else None), **env}, timeout=30)


def on_pty(server: TmuxServer, pane: Pane, *args: str, **env: str) -> str:
    """What tmms printed with its stdout on a pseudo-terminal."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "tmms", "-L", server.socket, *args], stdin=subprocess.DEVNULL,
                              stdout=follower, stderr=subprocess.PIPE,
                              env={**server.env(pane.pane_id), "COLUMNS": "100", **env}, timeout=30)
        os.close(follower)
        follower = -1
        assert proc.returncode == 0, proc.stderr
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode().replace("\r\n", "\n")
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)


def send(server: TmuxServer, sender: Pane, to: Pane, subject: str, text: str = "hello\n") -> Path:
    """Post from ``sender`` and do the server's job by hand: the file in ``to``'s inbox."""
    out = ok(server.tmms("post", "-t", to.name, "-s", subject, pane=sender.pane_id, input=text))
    path = Path(out.strip())
    target = to.inbox / path.name
    os.rename(path, target)
    return target


@pytest.fixture
def pair(tmux_server: TmuxServer) -> tuple[Pane, Pane]:
    return tmux_server.register("alpha"), tmux_server.register("beta")


# -- the table itself ----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [20, 40, 60, 200])
def test_every_line_fits_the_width_in_terminal_cells(width: int) -> None:
    columns = [Column("ID"), Column("FROM", most=8), Column("SUBJECT", flex=True), Column("THREAD")]
    rows = [["1a2b3c4d", "alpha", LONG, "-"], ["deadbeef", "名前が長い人", "漢字の件名 " * 20, "1a2b3c4d"],
            ["00000000", "e\u0301mile", "emoji 🎉🎉🎉 " * 10, "-"]]
    lines = render(columns, rows, width)
    assert lines[0].split() == ["ID", "FROM", "SUBJECT", "THREAD"][: len(lines[0].split())]
    assert all(text_width(line) <= width for line in lines), [(text_width(x), x) for x in lines]
    if width >= 60:  # the subject shrinks first: every other column stays whole
        pairs = zip(lines[1:], rows, strict=True)
        assert all(line.startswith(row[0]) and line.rstrip().endswith(row[3]) for line, row in pairs)


def test_cut_marks_what_it_drops_and_never_splits_a_wide_character() -> None:
    assert cut("abcdef", 4) == "abc…"
    assert cut("abc", 3) == "abc"
    assert cut("漢字漢字", 5) == "漢字…"  # 4 cells and the mark; a third 漢 would take 2 more
    assert text_width("漢字…") == 5
    assert text_width("e\u0301") == 1  # a combining accent takes no cell


def test_colour_wraps_cells_in_sgr_codes_and_the_text_stays_the_same() -> None:
    columns = [Column("ID", style="id"), Column("SUBJECT", flex=True)]
    plain = render(columns, [["1a2b", "hi"]], 40)
    coloured = render(columns, [["1a2b", "hi"]], 40, color=True)
    assert "\x1b[33m1a2b" in coloured[1] and "\x1b[1mID" in coloured[0]
    assert [ANSI.sub("", line) for line in coloured] == plain


# -- inbox ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [60, 200])
def test_inbox_fits_the_columns_it_is_given(tmux_server: TmuxServer, pair: tuple[Pane, Pane], width: int) -> None:
    alpha, beta = pair
    first = send(tmux_server, alpha, beta, LONG)
    send(tmux_server, alpha, beta, "短い件名と長い件名 " * 10)
    lines = ok(run(tmux_server, beta, "inbox", COLUMNS=str(width))).splitlines()
    assert lines[0].split() == ["ID", "AGE", "FROM", "SUBJECT", "THREAD"]
    assert len(lines) == 3
    assert all(text_width(line) <= width for line in lines), lines
    assert lines[1].startswith(first.name.rsplit("_", 1)[1][:8])
    if width == 60:
        assert "…" in lines[1] and LONG.strip() not in lines[1]
    else:
        assert LONG.strip() in lines[1] and "…" not in lines[1]


def test_inbox_piped_without_columns_is_never_cut(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, beta = pair
    send(tmux_server, alpha, beta, LONG)
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.run([sys.executable, "-m", "tmms", "-L", tmux_server.socket, "inbox"], capture_output=True,
                          text=True, env={**env, "TMUX_PANE": beta.pane_id}, timeout=30)
    assert LONG.strip() in ok(proc)


def test_inbox_in_a_real_narrow_pane_never_wraps(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, beta = pair
    for n in range(3):
        send(tmux_server, alpha, beta, f"{n} {LONG}")
    tmux_server.tmux("new-session", "-d", "-s", "narrow", "-x", "60", "-y", "20")
    pane = tmux_server.tmux("display-message", "-p", "-t", "narrow", "#{pane_id}").strip()
    assert tmux_server.tmux("display-message", "-p", "-t", pane, "#{pane_width}").strip() == "60"
    command = f"env -u COLUMNS {sys.executable} -m tmms -L {tmux_server.socket} inbox --pane {beta.pane_id}; echo END"
    tmux_server.tmux("send-keys", "-t", pane, "-l", f"clear; {command}")
    tmux_server.tmux("send-keys", "-t", pane, "Enter")
    def screen() -> str:
        text = tmux_server.tmux("capture-pane", "-p", "-J", "-t", pane)
        return text if text.splitlines().count("END") == 1 else ""

    lines = wait_until(screen).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ID "))
    table = lines[start:lines.index("END")]
    assert len(table) == 4, lines  # the header and three rows: no row was wrapped onto a second line
    assert all(len(line) <= 60 and "…" in line for line in table[1:]), table


def test_inbox_colour_follows_color_and_no_color(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, beta = pair
    send(tmux_server, alpha, beta, "Hi")
    assert "\x1b[" in on_pty(tmux_server, beta, "inbox")  # auto, on a terminal
    assert "\x1b[" not in on_pty(tmux_server, beta, "inbox", NO_COLOR="1")
    assert "\x1b[" in on_pty(tmux_server, beta, "inbox", "--color", "always", NO_COLOR="1")  # the option wins
    assert "\x1b[" not in on_pty(tmux_server, beta, "inbox", "--color", "never")
    assert "\x1b[" not in ok(run(tmux_server, beta, "inbox"))  # auto, piped
    assert "\x1b[33m" in ok(run(tmux_server, beta, "inbox", "--color", "always"))
    assert "\x1b[" not in on_pty(tmux_server, beta, "inbox", TERM="dumb")


def test_inbox_filters_by_sender_subject_and_age(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, beta = pair
    gamma = tmux_server.register("gamma")
    old = send(tmux_server, alpha, beta, "Old news")
    past = time.time() - 3 * 3600
    os.utime(old, (past, past))
    send(tmux_server, alpha, beta, "Build is RED")
    send(tmux_server, gamma, beta, "build is green")

    def subjects(*args: str) -> list[str]:
        return [m["subject"] for m in ok_json(tmux_server, beta, "inbox", *args)]

    assert subjects("--from", "gamma") == ["build is green"]
    assert subjects("--from", "alpha,gamma") == subjects("--from", "alpha", "--from", "gamma") == subjects()
    assert subjects("--subject", "BUILD") == ["Build is RED", "build is green"]
    assert subjects("--since", "1h") == ["Build is RED", "build is green"]
    assert subjects("--since", "1h", "--from", "alpha", "--subject", "red") == ["Build is RED"]
    assert subjects("--from", "nobody") == []
    text = ok(run(tmux_server, beta, "inbox", "--since", "2h", "--subject", "green")).splitlines()
    assert len(text) == 2 and "build is green" in text[1]
    assert on_pty(tmux_server, beta, "inbox", "--from", "nobody") == "no unread mail for beta matching the filters\n"


def ok_json(server: TmuxServer, pane: Pane, *args: str) -> list[dict[str, str]]:
    import json

    from conftest import as_json

    value = as_json(server.tmms(*args, "--json", pane=pane.pane_id))
    assert isinstance(value, list)
    return [json.loads(json.dumps(v)) for v in value]


@pytest.mark.parametrize("age", ["soon", "-1h", "2x", ""])
def test_a_bad_since_exits_2_with_one_line(tmux_server: TmuxServer, pair: tuple[Pane, Pane], age: str) -> None:
    _, beta = pair
    line = failed(tmux_server.tmms("inbox", f"--since={age}", pane=beta.pane_id), 2)
    assert line == f"tmms: error: --since: '{age}' is not an age such as 90s, 10m, 2h, 3d, 2w"


def test_a_bad_color_exits_2_with_one_line(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    _, beta = pair
    line = failed(tmux_server.tmms("inbox", "--color", "sometimes", pane=beta.pane_id), 2)
    assert "--color" in line and "sometimes" in line


# -- dead and peers --------------------------------------------------------------------------------------


def test_dead_is_a_list_with_headers_that_fits_and_filters(tmux_server: TmuxServer, tmp_path: Path) -> None:
    alpha = tmux_server.register("alpha")
    dead = tmp_path / "dead"
    config = tmux_server.config(dead_letter_dir=str(dead), recipient_grace_seconds=0)
    tmux_server.start_server(config=config)
    ok(tmux_server.tmms("post", "-t", "nobody", "-s", LONG, pane=alpha.pane_id, input="x\n"))
    ok(tmux_server.tmms("post", "-t", "ghost", "-s", "Short", pane=alpha.pane_id, input="x\n"))
    wait_until(lambda: len(messages(dead)) == 2, timeout=20)
    for width in (60, 200):
        lines = ok(run(tmux_server, None, "dead", "-c", str(config), COLUMNS=str(width))).splitlines()
        assert lines[0].split() == ["ID", "AGE", "FROM", "TO", "SUBJECT", "REASON"]
        assert len(lines) == 3 and all(text_width(line) <= width for line in lines), lines
        assert ("unknown recipient 'ghost'" in "".join(lines)) == (width == 200)
    assert len(ok(run(tmux_server, None, "dead", "-c", str(config), "--subject", "short")).splitlines()) == 2
    assert ok(run(tmux_server, None, "dead", "-c", str(config), "--from", "zed")) == ""
    assert len(ok(run(tmux_server, None, "dead", "-c", str(config), "--since", "1h", "--from", "alpha"))
               .splitlines()) == 3
    assert "\x1b[" in ok(run(tmux_server, None, "dead", "-c", str(config), "--color", "always"))
    line = failed(tmux_server.tmms("dead", "-c", str(config), "--since", "later"), 2)
    assert line.startswith("tmms: error: --since: 'later' is not an age")


def test_peers_is_a_list_with_headers_that_fits(tmux_server: TmuxServer) -> None:
    for name in ("alpha", "a-very-long-registered-name-for-a-pane"):
        tmux_server.register(name)
    tmux_server.tmux("set-option", "-p", "-t", tmux_server.register("gamma").pane_id, "@tmms_groups",
                     "reviewers,builders,testers,writers,readers")
    for width in (60, 200):
        lines = ok(run(tmux_server, None, "peers", COLUMNS=str(width))).splitlines()
        assert lines[1].split()[:5] == ["NAME", "PANE", "WHERE", "UNREAD", "AGENT"]
        assert all(text_width(line) <= width for line in lines[1:]), lines
        assert ("readers" in lines[-1]) == (width == 200)


def test_read_on_a_terminal_heeds_no_color(tmux_server: TmuxServer, pair: tuple[Pane, Pane]) -> None:
    alpha, beta = pair
    path = send(tmux_server, alpha, beta, "Colours", "# Title\n\nSee [docs](https://example.com) and `code`.\n")
    ref = path.name.rsplit("_", 1)[1][:8]
    colour = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-9]|9[0-7]|4[0-9])(?:;[0-9]+)*m")
    assert colour.search(on_pty(tmux_server, beta, "read", ref, "--keep", "--no-pager"))
    plain = on_pty(tmux_server, beta, "read", ref, "--keep", "--no-pager", NO_COLOR="1")
    assert not colour.search(plain) and "docs (https://example.com)" in ANSI.sub("", plain)


def test_thread_on_a_terminal_renders_and_shows_hostile_text_visibly(tmux_server: TmuxServer,
                                                                     pair: tuple[Pane, Pane]) -> None:
    alpha, beta = pair
    path = send(tmux_server, alpha, beta, "[bold red]x[/] \x1b]0;title\x07",
                "**Bold** and [a link](https://example.com/x)\n\x1b[2J\u202ecleared?\n")
    out = on_pty(tmux_server, beta, "thread", path.name.rsplit("_", 1)[1][:8], PAGER="cat")
    text = ANSI.sub("", out)
    assert "[bold red]x[/] ^[]0;title^G" in text  # rich markup and an OSC title, both as text
    assert "a link (https://example.com/x)" in text and "**Bold**" not in text
    assert "^[[2J<U+202E>cleared?" in text
    assert "\x1b]" not in out and "\x1b[2J" not in out and "\u202e" not in out

#!/usr/bin/env python3
"""docs/ui.svg and docs/traffic.svg: ``tmms ui`` photographing itself (Textual's own SVG screenshot).

A private tmux server with three mailboxes and a real tmms server; the mail is posted with ``tmms
post``/``tmms reply`` and delivered, notified and read for real, so the traffic tab shows the
journal those commands and that server wrote. The app then runs headless at 110x28 and saves the
list with a message under the cursor, and the traffic tab.

    python bench/screenshots.py            # writes docs/ui.svg and docs/traffic.svg
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from harness import REPO, BenchTmux, Box, new_root, this_tree, wait_for

SIZE = (110, 28)
MAIL = (  # (from, to, subject, body)
    ("planner", "alpha", "Plan for the parser refactor", "Three steps:\n\n1. split the lexer\n2. fuzz it\n3. ship\n"),
    ("reviewer", "alpha", "Review: PR 12 needs one change", "The error path drops the line number.\n"),
    ("alpha", "planner", "Question about step 2", "Which corpus do we fuzz with?\n"),
    ("planner", "alpha", "CI is green on main", "All 1,412 tests passed in 3 min 10 s.\n"),
    ("reviewer", "alpha", "[bold red]not markup[/] and \x1b]0;no title\x07", "A sender cannot style the screen.\n"),
    ("planner", "reviewer", "Can you take PR 13?", "It is small.\n"),
)


def tmms(bench: BenchTmux, box: Box, *args: str, text: str = "") -> str:
    """Run tmms as ``box``'s pane."""
    return subprocess.run([*this_tree().argv, "-L", bench.socket, *args], input=text, capture_output=True, text=True,
                          check=True, env=bench.env(box.pane_id, impl=this_tree())).stdout


def scene(bench: BenchTmux) -> Box:
    """The mailboxes, the server, the mail; alpha's box."""
    boxes = {name: bench.register(name) for name in ("alpha", "planner", "reviewer")}
    bench.start(this_tree(), bench.config(60))
    wait_for(lambda: b"serving" in (bench.root / "server-0.log").read_bytes(), 10)
    for sender, to, subject, body in MAIL:
        outbox = boxes[sender].outbox
        tmms(bench, boxes[sender], "post", "-t", to, "-s", subject, text=body)
        wait_for(lambda: not any(outbox.glob("*.md")), 10)  # noqa: B023 - called at once
    alpha = boxes["alpha"]
    wait_for(lambda: len(list(alpha.inbox.glob("*.md"))) == 4, 10)
    first = sorted(alpha.inbox.glob("*.md"))[0].name.rsplit("_", 1)[1].removesuffix(".md")
    tmms(bench, alpha, "read", first)
    tmms(bench, alpha, "reply", first, text="Looks good. Start with the lexer.\n")
    tmms(bench, boxes["reviewer"], "read")
    wait_for(lambda: not any(alpha.outbox.glob("*.md")), 10)
    return alpha


async def photograph(bench: BenchTmux, alpha: Box, docs: Path) -> None:
    """Run the app headless and save both tabs."""
    from tmms import api
    from tmms.tmux import Tmux
    from tmms.tui.app import MailApp

    at = api.here(Tmux(socket_name=bench.socket, env=bench.env()), alpha.pane_id)
    app = MailApp(at, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        while not app.loaded:
            await pilot.pause(0.01)
        await pilot.press("j")
        await pilot.pause()
        app.save_screenshot("ui.svg", path=str(docs))
        await pilot.press("2")
        await pilot.pause(0.2)
        app.save_screenshot("traffic.svg", path=str(docs))


def main() -> int:
    root = new_root()
    for var, sub in (("HOME", "home"), ("XDG_STATE_HOME", "state"), ("XDG_CONFIG_HOME", "config"),
                     ("XDG_DATA_HOME", "data")):
        os.environ[var] = str(root / sub)
    os.environ.pop("TMUX", None)
    bench = BenchTmux(root)
    try:
        alpha = scene(bench)
        asyncio.run(photograph(bench, alpha, REPO / "docs"))
    finally:
        bench.close()
        shutil.rmtree(root, ignore_errors=True)
    print("wrote docs/ui.svg and docs/traffic.svg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

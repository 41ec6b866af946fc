"""What the listing and reading commands share: --color, the list filters, the terminal's width, the pager.

Lists (inbox, dead, peers, search) fit the terminal: a line is cut, never wrapped. ``read`` and
``thread`` page through ``$PAGER`` (``less -R`` when unset) when stdout is a terminal, as git does.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from ..errors import UsageError
from .common import arg

if TYPE_CHECKING:
    import subprocess

COLOR = arg("--color", choices=("auto", "always", "never"), default="auto",
            help="colour the list: auto (a terminal without NO_COLOR; default), always, never")
FILTERS = (arg("--from", dest="senders", action="append", metavar="NAME",
               help="only from NAME (repeat or comma-separate)"),
           arg("--subject", metavar="TEXT", help="only subjects containing TEXT (any case)"),
           arg("--since", metavar="AGE", help="only mail newer than AGE, such as 10m, 2h, 3d"))
NO_PAGER = arg("--no-pager", dest="pager", action="store_false", help="never page through $PAGER")
DEFAULT_PAGER = "less -R"


def use_color(choice: str) -> bool:
    """Whether to colour: --color always/never; auto: stdout is a terminal, NO_COLOR unset or empty, TERM not dumb."""
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def width() -> int | None:
    """The width a list fits: $COLUMNS, else the terminal's; None (no limit) when stdout is no terminal."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    if not sys.stdout.isatty():
        return None
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns or None
    except (OSError, ValueError):
        return None


def since_seconds(args: argparse.Namespace) -> float | None:
    """--since as seconds; a bad age is a usage error (exit 2)."""
    if args.since is None:
        return None
    from ..deadletter import parse_duration

    try:
        return parse_duration(args.since)
    except ValueError:
        raise UsageError(f"--since: '{args.since}' is not an age such as 90s, 10m, 2h, 3d, 2w") from None


def senders(args: argparse.Namespace) -> frozenset[str]:
    """The names --from gave (repeated or comma-separated)."""
    return frozenset(n.strip() for item in args.senders or () for n in item.split(",") if n.strip())


def page(text: str, enabled: bool = True) -> None:
    """Print ``text``; through $PAGER (``less -R`` when unset) when stdout is a terminal and paging is on.

    ``PAGER=cat`` or an empty PAGER prints directly. ``less`` gets ``LESS=FRX`` unless LESS is set
    (quit when it fits one screen, keep colours, leave the text on the screen), as git does.
    """
    pager = os.environ.get("PAGER", DEFAULT_PAGER).strip() if enabled and sys.stdout.isatty() else ""
    if pager in ("", "cat"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    proc = _start(pager)
    if proc is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    import signal

    assert proc.stdin is not None
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C belongs to the pager (less stays open), as in git
    try:
        proc.stdin.write(text.encode("utf-8", errors="surrogateescape"))
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the reader quit the pager before the end: that is fine
    finally:
        proc.wait()
        signal.signal(signal.SIGINT, before)


def _start(pager: str) -> subprocess.Popen[bytes] | None:
    """The pager, started with its stdin a pipe; None (after one warning line) when it cannot be run."""
    import shlex
    import shutil
    import subprocess

    from .common import warn

    try:
        words = shlex.split(pager)
    except ValueError:
        words = []
    if not words or shutil.which(words[0]) is None:
        warn(f"warning: the pager '{pager}' ($PAGER) cannot be run; printing directly")
        return None
    env = {**os.environ}
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    sys.stdout.flush()
    try:
        return subprocess.Popen(pager, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        warn(f"warning: the pager '{pager}' ($PAGER) cannot be run; printing directly")
        return None

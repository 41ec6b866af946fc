"""A small scripted agent for the demo: it registers its pane, waits for mail and replies.

    python -m tmms.cli.demo_agent NAME [--group G] [--inbox DIR --outbox DIR] [--max N]

It understands a few subjects ("count words", "sort lines", "sum numbers", "status"); anything
else gets an acknowledgement. It stands in for an AI agent that calls the tmms command line:
``tmms wait`` to get work, ``tmms reply`` to answer, in the thread the asker started.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from .. import api, mailbox
from ..api import Here
from ..mailbox import Letter
from ..terminal import visible
from ..tmux import Tmux


def answer(subject: str, body: str, name: str) -> str:
    """What the agent replies to a message."""
    topic = subject.lower()
    if "count" in topic:
        return f"{len(body.split())} words.\n"
    if "sort" in topic:
        return "".join(f"- {line}\n" for line in sorted(x.strip() for x in body.splitlines() if x.strip()))
    if "sum" in topic:
        numbers = [float(x) for x in body.replace(",", " ").split() if _is_number(x)]
        return f"The sum is {sum(numbers):g}.\n"
    if "status" in topic:
        return f"{name}: idle and ready.\n"
    return f"{name} got your message ({len(body)} characters).\n"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Register, then answer mail until killed or ``--max`` messages."""
    parser = argparse.ArgumentParser(prog="python -m tmms.cli.demo_agent", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("--group", action="append")
    parser.add_argument("--inbox")
    parser.add_argument("--outbox")
    parser.add_argument("--max", type=int, default=0, help="stop after N messages (0: never)")
    args = parser.parse_args(argv)
    tmux = Tmux()
    api.register(tmux, args.name, notify="", groups=args.group, inbox=args.inbox, outbox=args.outbox,
                 start_server=False, write_config=False)
    at = api.here(tmux)
    print(f"[{args.name}] registered on {at.me.pane_id}; waiting for mail", flush=True)
    handled = 0
    while not args.max or handled < args.max:
        letter = api.wait(at, timeout=None)
        if letter is None:
            continue
        handled += 1
        _handle(at, letter, args.name)
    return 0


def _handle(at: Here, letter: Letter, name: str) -> None:
    h = letter.headers
    started = time.monotonic()
    text = answer(h.subject, mailbox.body_of(letter.path), name)
    api.reply(at, letter, text)
    first = text.strip().splitlines()[0] if text.strip() else ""
    print(visible(f"[{name}] {h.sender} asked '{h.subject}' → replied in {(time.monotonic() - started) * 1000:.1f} "
                  f"ms: {first}"), flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)

"""The nudge command: type one line into an agent's pane, safely, and exit 0 only when it was submitted."""

from __future__ import annotations

import argparse

from .common import JSON, ExitCode, Spec, arg, say, tmux_of

PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("nudge", "cmd_nudge", "type one line into an agent's pane, only when it is idle, and prove it was submitted",
         "Type TEXT (default: a doorbell line for the pane's unread mail that no hook or doorbell announced) "
         "into the composer of the agent registered as NAME, and submit it. It types only when the agent "
         "is idle, its composer is visible and empty (a person's draft is never touched), no menu shows "
         "and the pane is in no mode; Enter is a separate key, and the submission is proven from the "
         "composer (the text left it, or a busy marker appeared). One sender per pane at a time. Exit 0 "
         "only on a proven submission; 13 queued (the agent was not ready within --wait: the tmms server "
         "types it when it is idle), 14 timed out, 15 refused.",
         """\
  tmms nudge -t reviewer                       # announce reviewer's unread mail
  tmms nudge -t reviewer "CI is green, merge when ready"
  tmms nudge -t reviewer --wait 60 --no-queue "deploy finished"
""", (arg("-t", "--to", dest="target", required=True, metavar="NAME",
          help="the registered name (or pane id) of an agent pane"),
      arg("text", nargs="*", metavar="TEXT", help="the line to type (words are joined by spaces)"),
      arg("--wait", type=float, default=10.0, metavar="S",
          help="seconds to wait for the agent to be ready (default 10)"),
      arg("--no-queue", dest="queue", action="store_false",
          help="when the agent is not ready in time, give up (exit 14) instead of queueing"),
      JSON)),
)}


def cmd_nudge(args: argparse.Namespace) -> int:
    from .. import api
    from ..errors import UsageError
    from ..views import to_json

    if args.wait < 0:
        raise UsageError("--wait must be 0 or more seconds")
    text = " ".join(args.text) if args.text else None
    done = api.nudge(tmux_of(args), args.target, text, wait=args.wait, queue=args.queue)
    if args.json:
        say(to_json({"target": done.target, "pane": done.pane_id, "text": done.text, "proof": done.proof,
                     "waited_s": round(done.waited, 3)}))
    else:
        say(f"submitted to {done.target} ({done.pane_id}): {done.proof}")
    return ExitCode.OK

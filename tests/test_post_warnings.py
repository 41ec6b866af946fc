"""Guidance when a post will not arrive soon (issue #11): no tmms server runs (a warning naming the command
that starts one; the message is queued all the same), or no pane holds the name now (a warning at once with
"did you mean" from the registered names and groups; the grace period still applies). Real tmux."""

from __future__ import annotations

from pathlib import Path

from conftest import NO_SERVER_WARNING, Pane, TmuxServer, failed, messages, ok, wait_until
from tmms.post import server_running
from tmms.server.service import server_pid
from tmms.tmux import Tmux

USAGE = 2


def registered(server: TmuxServer, *names: str) -> list[Pane]:
    return [server.register(name) for name in names]


def test_a_post_while_no_server_runs_warns_and_is_queued(tmux_server: TmuxServer) -> None:
    alpha, _ = registered(tmux_server, "alpha", "beta")
    proc = tmux_server.tmms("post", "-t", "beta", pane=alpha.pane_id, input="hello\n")
    assert Path(ok(proc).strip()) in messages(alpha.outbox)
    assert proc.stderr == (f"{NO_SERVER_WARNING}: the message waits in the outbox until one does "
                           "(start one: tmms server start)\n")


def test_a_post_while_a_server_runs_says_nothing(tmux_server: TmuxServer) -> None:
    alpha, beta = registered(tmux_server, "alpha", "beta")
    tmux_server.start_server()
    proc = tmux_server.tmms("post", "-t", "beta", pane=alpha.pane_id, input="hello\n")
    ok(proc)
    assert proc.stderr == ""
    wait_until(lambda: messages(beta.inbox))


def test_the_probe_agrees_with_the_servers_lock(tmux_server: TmuxServer) -> None:
    tmux = Tmux(socket_name=tmux_server.socket)
    assert server_running(tmux) is False and server_pid(tmux) is None
    proc = tmux_server.start_server()
    assert server_running(tmux) is True and server_pid(tmux) == proc.pid
    tmux_server.stop(proc)
    assert server_running(tmux) is False


def test_a_near_miss_name_warns_with_did_you_mean(tmux_server: TmuxServer) -> None:
    alpha, _, _ = registered(tmux_server, "alpha", "agent-beta", "agent-gamma")
    proc = tmux_server.tmms("post", "-t", "agent-bta", pane=alpha.pane_id, input="hi\n")
    ok(proc)
    lines = proc.stderr.splitlines()
    assert lines[-1] == ("tmms: warning: no pane is registered as 'agent-bta' now (did you mean 'agent-beta'?); "
                         "the server will dead-letter the message unless one appears within recipient_grace_seconds")
    assert len(messages(alpha.outbox)) == 1  # queued all the same


def test_did_you_mean_offers_groups_and_never_the_sender(tmux_server: TmuxServer) -> None:
    alpha, beta = registered(tmux_server, "alpha", "beta")
    tmux_server.tmux("set-option", "-p", "-t", beta.pane_id, "@tmms_groups", "reviewers")
    proc = tmux_server.tmms("post", "-t", "@reviewer", pane=alpha.pane_id, input="hi\n")
    assert failed(proc, USAGE) == ("tmms: error: no recipient: group '@reviewer' has no members "
                                   "(did you mean '@reviewers'?)")
    assert list(alpha.outbox.iterdir()) == []
    proc = tmux_server.tmms("post", "-t", "alph", pane=alpha.pane_id, input="hi\n")
    assert "did you mean" not in ok(proc) + proc.stderr  # the sender is no suggestion to itself
    proc = tmux_server.tmms("post", "-t", "zzzzzz", pane=alpha.pane_id, input="hi\n")
    assert proc.stderr.splitlines()[-1].startswith("tmms: warning: no pane is registered as 'zzzzzz' now; ")


def test_the_grace_period_still_applies_after_the_warning(tmux_server: TmuxServer) -> None:
    (alpha,) = registered(tmux_server, "alpha")
    tmux_server.start_server(recipient_grace_seconds=60)
    proc = tmux_server.tmms("post", "-t", "late", pane=alpha.pane_id, input="for whoever comes\n")
    ok(proc)
    assert "no pane is registered as 'late'" in proc.stderr
    late = tmux_server.register("late")  # a pane takes the name within the grace period: it gets the mail
    (delivered,) = wait_until(lambda: messages(late.inbox))
    assert delivered.read_text().endswith("for whoever comes\n")

"""The use-case layer, ``tmms.api``, called directly: a real tmux server, real folders, returned data.

These are the functions the command line, the popup and the MCP server call; each test checks what
one returns (or raises) and what it left on disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Pane, TmuxServer, messages
from tmms import api
from tmms.errors import (
    AmbiguousMessage,
    BadName,
    MessageNotFound,
    NameTaken,
    NoRecipient,
    PaneNotFound,
    PaneNotRegistered,
    UsageError,
)
from tmms.message import compose
from tmms.tmux import Tmux


@pytest.fixture
def tmux(tmux_server: TmuxServer) -> Tmux:
    return Tmux(socket_name=tmux_server.socket, env=tmux_server.env())


@pytest.fixture
def alpha(tmux_server: TmuxServer) -> Pane:
    return tmux_server.register("alpha")


@pytest.fixture
def beta(tmux_server: TmuxServer) -> Pane:
    return tmux_server.register("beta")


def at(tmux: Tmux, pane: Pane) -> api.Here:
    return api.here(tmux, pane.pane_id)


def delivered(posted: api.Posted, to: Pane) -> Path:
    """Do the server's job by hand: move the one posted outbox file into ``to``'s inbox."""
    (path,) = posted.paths
    target = to.inbox / Path(path).name
    Path(path).rename(target)
    return target


def headers_of(path: str) -> dict[str, Any]:
    """The front matter of a message file."""
    loaded: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8").split("---\n")[1])
    return loaded


def placed(to: Pane, message_id: str, sender: str = "alpha") -> Path:
    """A message with a chosen id, written straight into ``to``'s inbox."""
    composed = compose("crafted\n", sender, to.name, "crafted", message_id=message_id)
    path = to.inbox / composed.file_name
    path.write_text(composed.text, encoding="utf-8")
    return path


# -- here, post, reply ---------------------------------------------------------------------------------


def test_here_is_the_pane_its_mailbox_and_the_registry(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    where = at(tmux, alpha)
    assert (where.me.name, where.me.inbox) == ("alpha", str(alpha.inbox))
    assert sorted(where.registry.by_name) == ["alpha", "beta"]


def test_here_refuses_an_unknown_or_unregistered_pane(tmux: Tmux, tmux_server: TmuxServer, alpha: Pane) -> None:
    with pytest.raises(PaneNotFound):
        api.here(tmux, "%999")
    with pytest.raises(PaneNotRegistered):
        api.here(tmux, tmux_server.new_pane())


def test_post_writes_one_file_per_recipient_and_returns_where(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    posted = api.post(at(tmux, alpha), "Hello\n", ["beta,ghost"], "Greeting")
    assert posted.recipients == ["beta", "ghost"]
    assert posted.unknown == ["ghost"]  # posted anyway: the server holds it for the grace period
    assert [Path(p).parent for p in posted.paths] == [alpha.outbox, alpha.outbox]
    headers = headers_of(posted.paths[0])
    assert (headers["tmms_to"], headers["tmms_subject"], headers["tmms_id"]) == ("beta", "Greeting",
                                                                                 posted.message_ids[0])


def test_post_without_a_recipient_or_reply_to_is_refused(tmux: Tmux, alpha: Pane) -> None:
    with pytest.raises(NoRecipient):
        api.post(at(tmux, alpha), "Hello\n")
    assert messages(alpha.outbox) == []


def test_post_in_a_thread_given_by_a_prefix_joins_its_root(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    first = api.post(at(tmux, alpha), "One\n", ["beta"], "Start")
    root = first.message_ids[0]
    second = api.post(at(tmux, alpha), "Two\n", ["beta"], "More", thread=root[:6])
    assert second.thread_id == root
    assert api.post(at(tmux, alpha), "Three\n", ["beta"], thread="elsewhere").thread_id == "elsewhere"


def test_reply_by_id_goes_to_the_sender_in_the_thread(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    original = api.post(at(tmux, alpha), "Question\n", ["beta"], "Q")
    delivered(original, beta)
    answer = api.reply(at(tmux, beta), original.message_ids[0][:8], "Answer\n")
    assert answer.recipients == ["alpha"]
    assert answer.thread_id == original.message_ids[0]
    headers = headers_of(answer.paths[0])
    assert (headers["tmms_subject"], headers["tmms_in_reply_to"]) == ("Re: Q", original.message_ids[0])


def test_reply_to_an_unknown_or_ambiguous_id_is_refused(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    with pytest.raises(MessageNotFound):
        api.reply(at(tmux, beta), "deadbeef", "Answer\n")
    placed(beta, "abcd1111-0000-4000-8000-000000000001")
    placed(beta, "abcd2222-0000-4000-8000-000000000002")
    with pytest.raises(AmbiguousMessage):
        api.reply(at(tmux, beta), "abcd", "Answer\n")
    assert messages(beta.outbox) == []


def test_ask_posts_a_thread_and_names_who_did_not_reply(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    seen: list[api.Posted] = []
    asked = api.ask(at(tmux, alpha), "Status?\n", ["beta"], "Q", timeout=0, on_posted=seen.append)
    assert seen == [asked.posted]
    assert asked.posted.thread_id == asked.posted.message_ids[0]
    assert (asked.replies, asked.missing) == ([], ["beta"])


def test_ask_returns_a_reply_already_in_the_inbox(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    def answer(posted: api.Posted) -> None:  # beta answers at once, before ask begins to wait
        delivered(posted, beta)
        reply = api.reply(at(tmux, beta), posted.message_ids[0], "Green\n")
        delivered(reply, alpha)

    asked = api.ask(at(tmux, alpha), "Status?\n", ["beta"], "Q", timeout=5, on_posted=answer)
    assert [r.headers.sender for r in asked.replies] == ["beta"]
    assert asked.missing == []
    assert Path(asked.replies[0].path).parent == alpha.inbox / "read"


# -- inbox, read, thread, wait -------------------------------------------------------------------------


def test_inbox_and_read_take_the_oldest_and_move_it_to_read(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    first = delivered(api.post(at(tmux, alpha), "One\n", ["beta"], "1"), beta)
    delivered(api.post(at(tmux, alpha), "Two\n", ["beta"], "2"), beta)
    where = at(tmux, beta)
    assert [x.headers.subject for x in api.inbox(where)] == ["1", "2"]
    kept = api.read(where, keep=True)
    assert kept is not None and kept.path == str(first)
    taken = api.read(where)
    assert taken is not None and Path(taken.path) == beta.inbox / "read" / first.name
    assert [x.headers.subject for x in api.inbox(where)] == ["2"]
    assert [x.headers.subject for x in api.inbox(where, include_read=True)] == ["2", "1"]


def test_read_by_id_and_when_nothing_is_unread(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    where = at(tmux, beta)
    assert api.read(where) is None
    posted = api.post(at(tmux, alpha), "One\n", ["beta"], "1")
    delivered(posted, beta)
    letter = api.read(where, posted.message_ids[0][:8])
    assert letter is not None and letter.message_id == posted.message_ids[0]
    assert api.read(where, posted.message_ids[0][:8]) == letter  # read mail is found again
    with pytest.raises(MessageNotFound):
        api.read(where, "deadbeef")


def test_mark_read_moves_a_listed_letter(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    path = delivered(api.post(at(tmux, alpha), "One\n", ["beta"], "1"), beta)
    where = at(tmux, beta)
    (letter,) = api.inbox(where)
    assert Path(api.mark_read(where, letter).path) == beta.inbox / "read" / path.name
    with pytest.raises(FileNotFoundError):
        api.mark_read(where, letter)


def test_thread_lists_every_message_of_the_thread_in_order(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    original = api.post(at(tmux, alpha), "Question\n", ["beta"], "Q")
    api.post(at(tmux, alpha), "Other\n", ["beta"], "Unrelated")
    delivered(original, beta)
    answer = api.reply(at(tmux, beta), original.message_ids[0], "Answer\n")
    delivered(answer, alpha)
    members = api.thread(at(tmux, alpha), answer.message_ids[0][:8])
    assert [m.headers.subject for m in members] == ["Q", "Re: Q"]
    with pytest.raises(MessageNotFound):
        api.thread(at(tmux, alpha), "deadbeef")


def test_wait_returns_a_matching_message_or_none(tmux: Tmux, alpha: Pane, beta: Pane, tmux_server: TmuxServer) -> None:
    gamma = tmux_server.register("gamma")
    delivered(api.post(at(tmux, gamma), "From gamma\n", ["beta"], "G"), beta)
    where = at(tmux, beta)
    assert api.wait(where, ["alpha"], timeout=0) is None
    letter = api.wait(where, ["alpha,gamma"], timeout=0, keep=True)
    assert letter is not None and letter.headers.sender == "gamma"
    assert api.wait(where, thread="deadbeef", timeout=0) is None
    taken = api.wait(where, timeout=0)
    assert taken is not None and Path(taken.path).parent == beta.inbox / "read"


# -- whoami, peers, register, unregister ---------------------------------------------------------------


def test_whoami_and_peers_describe_the_mailboxes(tmux: Tmux, alpha: Pane, beta: Pane) -> None:
    delivered(api.post(at(tmux, alpha), "One\n", ["beta"], "1"), beta)
    me = api.whoami(at(tmux, beta))
    assert (me.info.name, me.info.pane_id, me.info.inbox, me.info.unread) == ("beta", beta.pane_id,
                                                                              str(beta.inbox), 1)
    assert me.server_pid is None
    found = api.peers(tmux)
    assert found.server is None
    assert [(p.name, p.unread) for p in found.peers] == [("alpha", 0), ("beta", 1)]


def test_register_sets_the_pane_writes_a_config_and_unregister_undoes_it(
        tmux: Tmux, tmux_server: TmuxServer, home: Path) -> None:
    pane = tmux_server.new_pane()
    done = api.register(tmux, "delta", target=pane, groups=["team"], start_server=False)
    assert (done.registration.name, done.registration.pane_id, done.registration.groups) == ("delta", pane,
                                                                                            ("team",))
    assert done.config_written == str(home / ".config" / "tmms" / "config.yml")
    assert (done.server_pid, done.server_started) == (None, False)
    assert Path(done.registration.inbox).is_dir()
    assert api.here(tmux, pane).me.name == "delta"
    again = api.register(tmux, "delta", target=pane, start_server=False)
    assert again.config_written is None  # one is there now
    assert api.unregister(tmux, pane) == ("delta", pane)
    assert api.unregister(tmux, pane) == ("", pane)
    with pytest.raises(PaneNotRegistered):
        api.here(tmux, pane)


def test_register_refuses_a_name_taken_or_malformed(tmux: Tmux, tmux_server: TmuxServer, alpha: Pane) -> None:
    pane = tmux_server.new_pane()
    with pytest.raises(NameTaken):
        api.register(tmux, "alpha", target=pane, start_server=False, write_config=False)
    with pytest.raises(BadName):
        api.register(tmux, "bad name", target=pane, start_server=False, write_config=False)
    assert api.peers(tmux).peers[0].name == "alpha" and len(api.peers(tmux).peers) == 1


# -- dead letter and status ----------------------------------------------------------------------------


def dead_letter(posted: api.Posted, dead_dir: Path, reason: str = "unknown recipient 'ghost'") -> Path:
    """Move a posted message into dead letter with the reason file the router writes."""
    (path,) = posted.paths
    dead_dir.mkdir(parents=True, exist_ok=True)
    target = dead_dir / Path(path).name
    Path(path).rename(target)
    Path(str(target) + ".reason.json").write_text(json.dumps({
        "reason": reason, "source": path, "at": "2030-01-01T00:00:00.000Z", "tmms_id": posted.message_ids[0],
        "tmms_from": "alpha", "tmms_to": posted.recipients[0]}) + "\n")
    return target


def test_dead_letters_list_show_retry_purge(tmux: Tmux, tmux_server: TmuxServer, alpha: Pane, home: Path) -> None:
    config = tmux_server.config()
    place = api.dead_letters(tmux, str(config))
    assert (place.folder, place.warnings) == (str(tmux_server.root / "dead"), [])
    posted = api.post(at(tmux, alpha), "Lost\n", ["ghost"], "L")
    dead_letter(posted, Path(place.folder))
    (entry,) = api.dead_list(place)
    assert entry.why == "unknown recipient 'ghost'"
    assert api.dead_show(place, posted.message_ids[0][:8]) == entry
    with pytest.raises(MessageNotFound):
        api.dead_show(place, "deadbeef")
    retried = api.dead_retry(tmux, place, [posted.message_ids[0][:8], posted.message_ids[0]])
    assert retried.done == [(posted.message_ids[0], str(alpha.outbox / Path(posted.paths[0]).name))]
    assert retried.left == []
    assert api.dead_list(place) == []
    journaled = (home / ".local" / "state" / "tmms" / "journal.jsonl").read_text().splitlines()
    assert json.loads(journaled[-1])["event"] == "retried"
    dead_letter(posted, Path(place.folder))
    with pytest.raises(UsageError):
        api.dead_purge(place, "soon")
    assert [d.letter.message_id for d in api.dead_purge(place, "0")] == [posted.message_ids[0]]


def test_dead_retry_leaves_a_letter_with_nowhere_to_go(tmux: Tmux, tmux_server: TmuxServer, alpha: Pane) -> None:
    place = api.dead_letters(tmux, str(tmux_server.config()))
    posted = api.post(at(tmux, alpha), "Lost\n", ["ghost"], "L")
    dead_letter(posted, Path(place.folder))
    api.unregister(tmux, alpha.pane_id)
    for leftover in messages(alpha.outbox / "sent"):
        leftover.unlink()
    (alpha.outbox / "sent").rmdir()
    alpha.outbox.rmdir()
    retried = api.dead_retry(tmux, place)
    assert (retried.done, retried.left) == ([], [posted.message_ids[0].replace("-", "")[:8]])


def test_status_follows_a_message_from_outbox_to_inbox(tmux: Tmux, tmux_server: TmuxServer, alpha: Pane,
                                                       beta: Pane) -> None:
    place = api.dead_letters(tmux, str(tmux_server.config()))
    posted = api.post(at(tmux, alpha), "Hi\n", ["beta"], "S")
    assert api.status(tmux, place, posted.message_ids[0][:8]).state == "queued"
    delivered(posted, beta)
    status = api.status(tmux, place, posted.message_ids[0])
    assert (status.message_id, status.state) == (posted.message_ids[0], "delivered")
    assert [p.owner for p in status.places if p.folder == "inbox"] == ["beta"]
    with pytest.raises(MessageNotFound):
        api.status(tmux, place, "deadbeef")

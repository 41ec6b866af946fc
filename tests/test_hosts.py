"""Mail across hosts without ssh: addresses, config, frames, spools, and two real link ends over pipes."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from routerkit import front, mail, message, pane, reason_of
from tmms import config as config_mod
from tmms.errors import ConfigError
from tmms.hosts import frames
from tmms.hosts.address import Address, folder_name, host_problem, qualified, split
from tmms.hosts.frames import Decoder, ProtocolError
from tmms.hosts.links import Context, Links, reason_for, ssh_argv
from tmms.hosts.received import Received, key
from tmms.hosts.receiver import HIDDEN, Delivered, Receiver
from tmms.hosts.relay import serve
from tmms.hosts.session import LinkDown, Session, read_frames, write_all
from tmms.hosts.settings import Hosts, parse
from tmms.hosts.spool import Spool
from tmms.journal import Journal
from tmms.message import compose
from tmms.post import is_remote, resolve_recipients
from tmms.registry import Registry
from tmms.server.router import Status
from tmms.server.transport import RemoteTransport

# -- addresses and settings ---------------------------------------------------------------------------


def test_the_address_forms() -> None:
    assert split("bob@gpu-box") == Address("bob", "gpu-box")
    assert split("@reviewers@gpu-box") == Address("@reviewers", "gpu-box")
    assert split("*@gpu-box") == Address("*", "gpu-box")
    assert split("bob@me@gpu.example.com") == Address("bob", "me@gpu.example.com")  # the host as ssh takes it
    for local in ("bob", "@reviewers", "*", "bob@", "@x", "@"):
        assert split(local) is None, local
    assert str(Address("bob", "gpu-box")) == "bob@gpu-box"


def test_a_host_that_ssh_would_take_for_an_option_is_refused() -> None:
    assert host_problem("gpu-box") == host_problem("me@10.0.0.7") == host_problem("ssh://me@h:2222") == ""
    assert "option" in host_problem("-oProxyCommand=touch /tmp/x")
    assert host_problem("a b") and host_problem("a;b") and host_problem("a\nb") and host_problem("$(x)")
    assert host_problem("") and host_problem("h" * 300)


def test_spool_folder_names_are_plain_or_safe() -> None:
    assert folder_name("gpu-box") == "gpu-box"
    assert folder_name("me@gpu.example.com") == "me@gpu.example.com"
    odd = folder_name("ssh://me@h/x")
    assert "/" not in odd and odd != folder_name("ssh://me@h/y")
    assert not folder_name("..").startswith(".")


def test_a_relayed_sender_is_always_qualified() -> None:
    assert qualified("alice", "laptop") == "alice@laptop"
    assert qualified("bob@gpu-box", "laptop") == "bob@laptop"  # a claimed host is never kept
    assert qualified("", "laptop") == "unknown@laptop"


def test_the_hosts_sections_of_the_config(tmp_path: Path) -> None:
    text = (b"polling_interval: 5\nhost_name: laptop\nlink_idle_seconds: 30\naccept_from: [ci, laptop]\n"
            b"hosts:\n  gpu-box:\n    ssh: me@gpu.example.com\n    ssh_options: [-p, '2222']\n"
            b"    tmux_socket_name: work\n    command: ~/.local/bin/tmms\n  plain:\n")
    cfg = config_mod.parse(text, "c.yml", {"HOME": str(tmp_path)})
    assert cfg.warnings == () and cfg.polling_interval == 5
    hosts = cfg.hosts
    assert hosts.host_name == "laptop" and hosts.link_idle_seconds == 30 and hosts.accept_from == ("ci", "laptop")
    gpu = hosts.host("gpu-box")
    assert (gpu.destination, gpu.ssh_options, gpu.tmux_socket_name, gpu.command) == (
        "me@gpu.example.com", ("-p", "2222"), "work", "~/.local/bin/tmms")
    assert hosts.host("plain").destination == "plain" and hosts.host("other").destination == "other"
    assert hosts.accepts("ci") and not hosts.accepts("evil")
    assert Hosts().accepts("anyone") and config_mod.Config().hosts == Hosts()


@pytest.mark.parametrize(("text", "word"), [
    ("hosts: [a]\n", "hosts must be a mapping"),
    ("hosts:\n  g:\n    port: 22\n", "unknown key 'port'"),
    ("hosts:\n  g:\n    ssh: -oProxyCommand=x\n", "option"),
    ("accept_from: 7\n", "accept_from"),
    ("link_idle_seconds: 0\n", "link_idle_seconds"),
    ("host_name: 'a b'\n", "host_name"),
])
def test_a_bad_hosts_section_is_a_config_error_naming_the_key(text: str, word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        config_mod.parse(text.encode(), "c.yml", {})


def test_post_keeps_remote_addresses_for_the_host_to_expand() -> None:
    registry = Registry([])
    assert resolve_recipients(["bob@gpu-box,@ops@gpu-box", "*@gpu-box"], registry, "alice") == [
        "bob@gpu-box", "@ops@gpu-box", "*@gpu-box"]
    assert is_remote("bob@gpu-box", registry) and not is_remote("@ops", registry) and not is_remote("bob", registry)


# -- frames ---------------------------------------------------------------------------------------------


def test_frames_come_out_whole_from_any_chunks() -> None:
    stream = (frames.hello("laptop") + frames.encode(frames.MESSAGE, {"seq": 1, "id": "x", "to": "bob"}, b"a\nb\0c")
              + frames.encode(frames.ACK, {"seq": 1, "path": "/p", "dup": False}) + frames.encode(frames.BYE, {}))
    for size in (1, 3, 7, len(stream)):
        decoder = Decoder()
        got = [f for start in range(0, len(stream), size) for f in decoder.feed(stream[start:start + size])]
        assert [f.kind for f in got] == [b"H", b"M", b"A", b"B"]
        assert got[1].data == b"a\nb\0c" and got[1].fields["to"] == "bob" and decoder.pending == 0
    assert frames.chosen_version(got[0].fields) == frames.VERSION
    assert frames.chosen_version({"versions": [99]}) is None


@pytest.mark.parametrize("bad", [b"\x00\x00\x00\x02Zx", b"\x00\x00\x00\x03A[]", b"\xff\xff\xff\xff",
                                 b"\x00\x00\x00\x00"])
def test_a_malformed_frame_is_a_protocol_error(bad: bytes) -> None:
    with pytest.raises(ProtocolError):
        Decoder(limit=1 << 20).feed(bad)


def test_the_ssh_command_never_prompts_and_never_takes_the_host_for_an_option() -> None:
    settings = parse({"hosts": {"gpu-box": {"ssh": "me@gpu", "ssh_options": ["-p", "2222"],
                                            "tmux_socket_name": "my work", "command": "~/bin/tmms"}}})
    argv = ssh_argv(settings, "gpu-box", {})
    assert argv[:2] == ["ssh", "-T"] and "BatchMode=yes" in argv and "ServerAliveInterval=15" in argv
    assert argv[-3:] == ["--", "me@gpu", "~/bin/tmms -L 'my work' relay"] and argv[-5:-3] == ["-p", "2222"]
    assert ssh_argv(Hosts(), "box", {"TMMS_SSH": "/opt/ssh -F /x"})[:3] == ["/opt/ssh", "-F", "/x"]
    assert ssh_argv(Hosts(), "box", {})[-1] == "tmms relay"


def test_the_reason_a_link_failed_is_one_line() -> None:
    assert reason_for("gpu-box", 127, ["bash: line 1: tmms: command not found"], "x") == (
        "gpu-box: tmms is not installed there: pip install tmms")
    assert reason_for("gpu-box", 1, ["/usr/bin/python3: No module named tmms"], "x").endswith("pip install tmms")
    assert reason_for("gpu-box", 255, ["ssh: Could not resolve hostname gpu-box: Name or service not known"], "x") == (
        "gpu-box: ssh: ssh: Could not resolve hostname gpu-box: Name or service not known")
    assert reason_for("gpu-box", 255, [], "x") == "gpu-box: ssh failed (exit status 255)"
    assert reason_for("gpu-box", 0, [], "gpu-box: the connection closed") == "gpu-box: the connection closed"


# -- two link ends over pipes -----------------------------------------------------------------------------


class End:
    """One host's side for a session: panes (PaneRecords), its spools, dead letter, what it delivered."""

    def __init__(self, root: Path, me: str, names: tuple[str, ...], groups: dict[str, str] | None = None) -> None:
        self.root, self.me = root, me
        self.panes = []
        for index, name in enumerate(names):
            record = pane(f"%{index + 1}", name, root / name / "inbox", root / name / "outbox")
            if groups and name in groups:
                record = record._replace(options={**record.options, "@tmms_groups": groups[name]})
            self.panes.append(record)
            (root / name / "inbox").mkdir(parents=True)
        self.delivered: list[Delivered] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.dead = root / "dead"

    def registry(self, fresh: bool = False) -> Registry:
        return Registry.from_panes(self.panes, {"HOME": str(self.root)})

    def spool(self, peer: str) -> Spool:
        spool = Spool(str(self.root / "hosts"), peer)
        spool.ensure()
        return spool

    def receiver(self, peer: str) -> Receiver:
        return Receiver(peer, Received(self.spool(peer).ledger_path), self.registry, here=self.me,
                        on_delivered=self.delivered.append)

    def session(self, rfd: int, wfd: int, peer: str, idle: float | None) -> Session:
        return Session(rfd, wfd, peer, self.receiver(peer), self.spool(peer), idle=idle,
                       events=lambda e, f: self.events.append((e, f)), dead_dir=lambda: str(self.dead))

    def inbox(self, name: str) -> list[Path]:
        return sorted((self.root / name / "inbox").glob("*.md"))


def spool_message(spool: Spool, sender: str, to: str, body: str, message_id: str | None = None) -> Path:
    incoming = Path(spool.incoming) / f"20260322-143005_{sender}_to_{to}_{os.urandom(4).hex()}.md"
    incoming.write_bytes(compose(body, sender, to, message_id=message_id).text.encode())
    return Path(spool.admit(str(incoming)))


def link(laptop: End, gpu: End, idle: float = 0.3) -> tuple[str, str]:
    """Run the laptop's session (which says bye once idle) against the gpu-box's; how each ended."""
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    ends: dict[str, str] = {}

    def far() -> None:
        try:
            ends["gpu"] = gpu.session(down_r, up_w, "laptop", None).run()
        except LinkDown as exc:
            ends["gpu"] = f"down: {exc}"

    thread = threading.Thread(target=far)
    thread.start()
    try:
        ends["laptop"] = laptop.session(up_r, down_w, "gpu-box", idle).run()
    finally:
        thread.join(10)
        for fd in (down_r, down_w, up_r, up_w):
            os.close(fd)
    return ends["laptop"], ends["gpu"]


def test_a_spool_goes_over_the_link_exactly_once_in_order(tmp_path: Path) -> None:
    laptop, gpu = End(tmp_path / "laptop", "laptop", ("alice",)), End(tmp_path / "gpu", "gpu-box", ("bob",))
    spool = laptop.spool("gpu-box")
    ids = [f"id-{n:04d}" for n in range(300)]
    for n, message_id in enumerate(ids):
        spool_message(spool, "alice", "bob@gpu-box", f"number {n}\n", message_id)
    assert link(laptop, gpu) == ("idle", "bye")
    assert [d.message_id for d in gpu.delivered] == ids  # delivered in posting order
    assert spool.names() == [] and len(gpu.inbox("bob")) == 300
    letter = front(gpu.inbox("bob")[0])
    assert letter["tmms_from"] == "alice@laptop" and letter["tmms_to"] == "bob"
    relayed = [f["id"] for e, f in laptop.events if e == "relayed"]
    acked = [f for e, f in laptop.events if e == "acked"]
    assert relayed == ids and [f["id"] for f in acked] == ids and all(float(f["rtt_ms"]) >= 0 for f in acked)
    assert not list((tmp_path / "gpu" / "bob" / "inbox").glob(HIDDEN + "*"))


def test_mail_held_for_the_connecting_host_flows_back_on_the_same_link(tmp_path: Path) -> None:
    laptop, gpu = End(tmp_path / "laptop", "laptop", ("alice",)), End(tmp_path / "gpu", "gpu-box", ("bob",))
    spool_message(laptop.spool("gpu-box"), "alice", "bob@gpu-box", "there\n")
    spool_message(gpu.spool("laptop"), "bob", "alice@laptop", "back\n")
    link(laptop, gpu)
    assert front(gpu.inbox("bob")[0])["tmms_from"] == "alice@laptop"
    assert front(laptop.inbox("alice")[0])["tmms_from"] == "bob@gpu-box"
    assert gpu.spool("laptop").names() == [] == laptop.spool("gpu-box").names()


def test_an_unknown_name_is_refused_and_set_aside_with_the_remote_reason(tmp_path: Path) -> None:
    laptop, gpu = End(tmp_path / "laptop", "laptop", ("alice",)), End(tmp_path / "gpu", "gpu-box", ("bob",))
    spool = laptop.spool("gpu-box")
    spool_message(spool, "alice", "nobody@gpu-box", "lost?\n", "id-nobody")
    spool_message(spool, "alice", "bob@gpu-box", "fine\n", "id-bob")
    link(laptop, gpu)
    assert [d.message_id for d in gpu.delivered] == ["id-bob"] and spool.names() == []
    (dead,) = [p for p in laptop.dead.iterdir() if p.suffix == ".md"]
    reason = reason_of(dead)
    assert reason["reason"] == ("refused by gpu-box: unknown recipient 'nobody' on gpu-box "
                                "(no enabled pane has that @tmms_name)")
    assert reason["tmms_id"] == "id-nobody" and reason["host"] == "gpu-box"
    assert front(dead)["tmms_to"] == "nobody@gpu-box"


def test_groups_and_everyone_are_expanded_on_the_remote_host(tmp_path: Path) -> None:
    laptop = End(tmp_path / "laptop", "laptop", ("alice",))
    gpu = End(tmp_path / "gpu", "gpu-box", ("bob", "carol", "dave"), groups={"bob": "ops", "carol": "ops"})
    spool = laptop.spool("gpu-box")
    spool_message(spool, "alice", "@ops@gpu-box", "ops\n", "id-ops")
    spool_message(spool, "alice", "*@gpu-box", "all\n", "id-all")
    spool_message(spool, "alice", "@empty@gpu-box", "none\n", "id-empty")
    link(laptop, gpu)
    got = sorted((d.mailbox, d.message_id) for d in gpu.delivered)
    assert got == [("bob", "id-all"), ("bob", "id-ops"), ("carol", "id-all"), ("carol", "id-ops"), ("dave", "id-all")]
    assert front(gpu.inbox("dave")[0])["tmms_to"] == "dave"
    (dead,) = [p for p in laptop.dead.iterdir() if p.suffix == ".md"]
    assert "'@empty' has no members on gpu-box" in reason_of(dead)["reason"]


def frame(seq: int, message_id: str, to: str, sender: str = "alice") -> frames.Frame:
    return frames.Frame(frames.MESSAGE, {"seq": seq, "id": message_id, "to": to, "name": "20260322-143005_x.md"},
                        message(sender, f"{to}@gpu-box", message_id=message_id))


def test_a_repeat_is_acked_again_and_never_delivered_twice(tmp_path: Path) -> None:
    gpu = End(tmp_path, "gpu-box", ("bob",))
    first = gpu.receiver("laptop").take([frame(1, "id-1", "bob")])
    again = gpu.receiver("laptop").take([frame(7, "id-1", "bob"), frame(8, "id-1", "bob")])  # a new process, too
    assert len(gpu.inbox("bob")) == 1
    answers = [frames.Decoder().feed(reply)[0] for reply in first + again]
    assert [a.fields["dup"] for a in answers] == [False, True, True]
    assert [a.fields["seq"] for a in answers] == [1, 7, 8]
    assert answers[0].fields["path"] == answers[1].fields["path"] == str(gpu.inbox("bob")[0])


def test_a_crash_between_the_ledger_and_the_rename_is_finished_by_the_repeat(tmp_path: Path) -> None:
    gpu = End(tmp_path, "gpu-box", ("bob",))
    digest = key("id-1", "bob")
    hidden = tmp_path / "bob" / "inbox" / f"{HIDDEN}{digest:016x}"
    hidden.write_bytes(message("alice@laptop", "bob", "written before the crash\n", message_id="id-1"))
    ledger = Received(gpu.spool("laptop").ledger_path)
    with ledger:
        ledger.add(digest)
        ledger.sync()
    gpu.receiver("laptop").take([frame(2, "id-1", "bob")])
    (only,) = gpu.inbox("bob")
    assert "written before the crash" in only.read_text() and not hidden.exists()


def test_a_relayed_message_can_never_pose_as_a_local_pane(tmp_path: Path) -> None:
    gpu = End(tmp_path, "gpu-box", ("bob", "carol"))
    gpu.receiver("laptop").take([frame(1, "id-1", "bob", sender="carol"), frame(2, "id-2", "bob", sender="x@y")])
    assert sorted(front(p)["tmms_from"] for p in gpu.inbox("bob")) == ["carol@laptop", "x@laptop"]


def test_the_ledger_is_shared_by_two_processes_taking_from_one_host(tmp_path: Path) -> None:
    path = str(tmp_path / "received.log")
    one, two = Received(path), Received(path)
    with one:
        one.add(key("a", "bob"))
        one.sync()
    with two:
        assert key("a", "bob") in two
    small = Received(path, cap=2)
    for name in "bcdef":
        with small:
            small.add(key(name, "bob"))
            small.sync()
    with two:  # compacted meanwhile: read again whole
        assert key("f", "bob") in two


def hello_pair(tmp_path: Path, settings: Hosts) -> tuple[list[frames.Frame], str]:
    """Say hello as 'laptop' to a relay over pipes; (its first answer frames, how the relay ended)."""
    gpu = End(tmp_path, "gpu-box", ("bob",))
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    ended: list[str] = []

    def relay() -> None:
        try:
            ended.append(serve(str(tmp_path / "hosts"), settings, "gpu-box", gpu.registry, Journal(str(tmp_path / "j")),
                               lambda: str(tmp_path / "dead"), 0, {}, down_r, up_w))
        except LinkDown as exc:
            ended.append(f"down: {exc}")

    thread = threading.Thread(target=relay)
    thread.start()
    write_all(down_w, frames.hello("laptop"))
    got = read_frames(up_r, Decoder(), 10)
    write_all(down_w, frames.encode(frames.BYE, {}))
    thread.join(10)
    for fd in (down_r, down_w, up_r, up_w):
        os.close(fd)
    return got, ended[0]


def test_the_relay_answers_a_hello_and_notes_the_host_links_in(tmp_path: Path) -> None:
    got, ended = hello_pair(tmp_path, Hosts())
    assert got[0].kind == frames.HELLO and got[0].fields["host"] == "gpu-box" and got[0].fields["version"] == 1
    assert ended == "bye" and Spool(str(tmp_path / "hosts"), "laptop").inbound


def test_accept_from_refuses_a_host_name_it_does_not_list(tmp_path: Path) -> None:
    got, ended = hello_pair(tmp_path, Hosts(accept_from=("ci",)))
    assert got[0].kind == frames.ERROR
    assert got[0].fields["reason"] == "gpu-box: host name 'laptop' is not in accept_from there"
    assert ended.startswith("down:")


def test_the_router_moves_remote_mail_into_the_host_spool_in_posting_order(tmp_path: Path) -> None:
    kit = mail(tmp_path, ("alice", "bob"))
    context = Context(str(tmp_path / "hosts"), Hosts(), "laptop", {}, Journal(str(tmp_path / "journal")),
                      lambda fresh: kit.registry(),
                      lambda: str(kit.dead), 0)
    links = Links(context)
    links.close()  # no link threads: only the spool is looked at
    kit.router.remote = RemoteTransport(links)
    outbox = kit.boxes["alice"].outbox
    for n in range(5):  # posted in one second while no server ran: the names sort the other way round
        path = outbox / f"20260322-143005_alice_to_bob@gpu-box_{9 - n:08x}.md"
        path.write_bytes(message("mallory", "bob@gpu-box", f"n{n}\n", message_id=f"id-{n}"))
        os.utime(path, ns=(1_700_000_000_000_000_000 + n * 1000, 1_700_000_000_000_000_000 + n * 1000))
    outcomes = kit.route()
    assert [o.status for o in outcomes] == [Status.SPOOLED] * 5 and {o.reason for o in outcomes} == {"gpu-box"}
    spool = links.spool("gpu-box")
    names = spool.names()
    assert [front(Path(spool.dir) / n)["tmms_id"] for n in names] == [f"id-{n}" for n in range(5)]
    assert front(Path(spool.dir) / names[0])["tmms_from"] == "alice"  # the outbox owner, as for local mail
    assert list(outbox.glob("*.md")) == []


def test_a_bad_host_goes_to_dead_letter(tmp_path: Path) -> None:
    kit = mail(tmp_path, ("alice",))
    context = Context(str(tmp_path / "hosts"), Hosts(), "laptop", {}, Journal(str(tmp_path / "journal")),
                      lambda fresh: kit.registry(), lambda: str(kit.dead), 0)
    links = Links(context)
    links.close()
    kit.router.remote = RemoteTransport(links)
    (kit.boxes["alice"].outbox / "m.md").write_bytes(message("alice", "bob@-oProxyCommand=x"))
    (outcome,) = kit.route()
    assert outcome.status is Status.DEAD and "starts with '-'" in outcome.reason


def test_a_relay_that_hears_nothing_for_long_gives_up(tmp_path: Path) -> None:
    gpu = End(tmp_path, "gpu-box", ("bob",))
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    session = Session(down_r, up_w, "laptop", gpu.receiver("laptop"), gpu.spool("laptop"), idle=None, silence=0.2)
    with pytest.raises(LinkDown, match=r"nothing heard from laptop for 0\.2s"):
        session.run()
    for fd in (down_r, down_w, up_r, up_w):
        os.close(fd)


def test_an_old_tmms_there_is_told_apart_from_a_missing_one() -> None:
    old = ["usage: tmms [-h] ...", "tmms: error: argument COMMAND: invalid choice: 'relay' (choose from ...)"]
    assert reason_for("gpu-box", 2, old, "x") == "gpu-box: the tmms there has no 'tmms relay': pip install -U tmms"
    assert reason_for("gpu-box", 3, ["tmms: error: malformed YAML (c.yml)"], "x") == (
        "gpu-box: tmms: error: malformed YAML (c.yml)")


def test_the_other_recipients_are_named_as_this_host_names_them(tmp_path: Path) -> None:
    gpu = End(tmp_path, "gpu-box", ("bob", "carol"))
    text = compose("hi\n", "alice", "bob@gpu-box", "s", message_id="id-1",
                   recipients=["bob@gpu-box", "carol@gpu-box", "dave@build", "erin"]).text
    gpu.receiver("laptop").take([frames.Frame(frames.MESSAGE, {"seq": 1, "id": "id-1", "to": "bob"}, text.encode())])
    (letter,) = gpu.inbox("bob")
    assert front(letter)["tmms_recipients"] == ["bob", "carol", "dave@build", "erin@laptop"]  # reply --all works here
    assert front(letter)["tmms_from"] == "alice@laptop" and letter.read_text().endswith("\nhi\n")


def test_an_answer_with_an_odd_sequence_number_matches_nothing(tmp_path: Path) -> None:
    laptop = End(tmp_path, "laptop", ("alice",))
    spool_message(laptop.spool("gpu-box"), "alice", "bob@gpu-box", "x\n", "id-1")
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    for fields in ({"seq": [1], "path": "p"}, {"seq": True, "reason": "r"}, {"seq": "1", "path": "p"}):
        kind = frames.ACK if "path" in fields else frames.REFUSED
        write_all(up_w, frames.encode(kind, fields))
    write_all(up_w, frames.encode(frames.BYE, {}))
    assert laptop.session(up_r, down_w, "gpu-box", None).run() == "bye"
    assert len(laptop.spool("gpu-box").names()) == 1 and not laptop.dead.exists()
    for fd in (down_r, down_w, up_r, up_w):
        os.close(fd)

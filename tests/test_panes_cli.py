"""End-to-end tests of the pane commands: register, unregister, whoami, peers, bind, ui, alert, help.

Every command runs as a real process (``python -m tmms``) against a private tmux server; the
popup and alert tests attach a real tmux client to it from a second private server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

import tmms
from conftest import Pane, TmuxServer, alive, as_json, failed, messages, ok, server_pid_of, wait_until
from tmms.alert import alert_text
from tmms.config import template_text
from tmms.errors import BadName

# -- helpers -------------------------------------------------------------------------------------


def run_tmms(*args: str, env: dict[str, str], input: str = "") -> subprocess.CompletedProcess[str]:
    """``python -m tmms`` with exactly this environment (no -L: the socket comes from $TMUX)."""
    return subprocess.run([sys.executable, "-m", "tmms", *args], input=input, capture_output=True, text=True,
                          env=env, timeout=30)


def tmms_options(server: TmuxServer, pane: str) -> dict[str, str]:
    """The ``@tmms_*`` options set on the pane itself (``show-options -p``), values as stored."""
    names = [line.split(" ", 1)[0] for line in server.tmux("show-options", "-p", "-t", pane).splitlines()]
    return {name: server.tmux("show-options", "-p", "-v", "-t", pane, name).rstrip("\n")
            for name in names if name.startswith("@tmms_")}


def first_pane(server: TmuxServer) -> str:
    return server.tmux("display-message", "-p", "-t", "main:0.0", "#{pane_id}").strip()


def register(server: TmuxServer, name: str, *extra: str, pane: str | None = None) -> dict[str, Any]:
    """``tmms register NAME --json`` in a new pane (or ``pane``); its JSON report."""
    pane = pane or server.new_pane()
    report: dict[str, Any] = as_json(server.tmms("register", name, "--json", *extra, pane=pane))
    return report


def deliver(server: TmuxServer, sender: Pane, to: str, inbox: Path, subject: str, body: str = "Body.\n") -> Path:
    """Post from ``sender`` and move the file into ``inbox`` as the server would; its inbox path."""
    posted = Path(ok(server.tmms("post", "-t", to, "-s", subject, pane=sender.pane_id, input=body)).strip())
    target = inbox / posted.name
    posted.rename(target)
    return target


def front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text.split("---\n")[1])
    return data


@pytest.fixture
def client(tmux_server: TmuxServer) -> Iterator[TmuxServer]:
    """A second private tmux server whose only pane runs a client attached to ``tmux_server``'s session.

    Keys sent to that pane reach the attached client as typed keys, and capture-pane shows what
    the client shows (popups included).
    """
    outer = TmuxServer(f"tmms-test-outer-{uuid.uuid4().hex[:8]}", tmux_server.root)
    outer.tmux("-f", "/dev/null", "new-session", "-d", "-s", "outer", "-x", "160", "-y", "45",
               f"env -u TMUX tmux -L {tmux_server.socket} attach -t main")
    try:
        wait_until(lambda: tmux_server.tmux("list-clients").strip())
        yield outer
    finally:
        outer.tmux("kill-server", check=False)


def screen(outer: TmuxServer) -> str:
    return outer.tmux("capture-pane", "-p", "-t", "outer")


# -- register ------------------------------------------------------------------------------------


def test_register_sets_the_options_makes_folders_writes_config_and_starts_the_server(
        tmux_server: TmuxServer, home: Path) -> None:
    pane = tmux_server.new_pane()
    out = ok(tmux_server.tmms("register", "alpha", pane=pane))
    root = home / ".local" / "share" / "tmms" / "mail" / "alpha"
    opts = tmms_options(tmux_server, pane)
    assert opts == {
        "@tmms_enabled": "true", "@tmms_name": "alpha", "@tmms_inbox": str(root / "inbox"),
        "@tmms_outbox": str(root / "outbox"),
        "@tmms_notify_cmd": f"{sys.executable} -m tmms alert ${{{{filepath}}}}",
    }
    assert (root / "inbox").is_dir() and (root / "outbox").is_dir()
    config = home / ".config" / "tmms" / "config.yml"
    assert config.read_text() == template_text()
    pid = as_json(tmux_server.tmms("whoami", "--json", pane=pane))["server_pid"]
    assert isinstance(pid, int) and alive(pid)
    assert out.splitlines() == [
        f"registered 'alpha' on pane {pane} (main:1.0)",
        f"  inbox   {root / 'inbox'}",
        f"  outbox  {root / 'outbox'}",
        f"  config  {config} (written with the defaults)",
        f"  server  started, pid {pid}",
    ]


def test_register_a_second_pane_uses_the_running_server_and_keeps_the_config(
        tmux_server: TmuxServer, home: Path) -> None:
    first = register(tmux_server, "alpha")
    config = home / ".config" / "tmms" / "config.yml"
    config.write_text("polling_interval: 5\n")
    second = register(tmux_server, "beta")
    assert first["server_started"] is True and first["config_written"] == str(config)
    assert second["server_started"] is False and second["config_written"] is None
    assert second["server_pid"] == first["server_pid"]
    assert config.read_text() == "polling_interval: 5\n"


def test_registered_panes_get_mail_and_the_default_notify_sets_the_unread_count(tmux_server: TmuxServer) -> None:
    alpha = register(tmux_server, "alpha")
    beta = register(tmux_server, "beta")

    def unread_option() -> str | None:
        return tmms_options(tmux_server, alpha["pane_id"]).get("@tmms_unread")

    ok(tmux_server.tmms("post", "-t", "alpha", "-s", "First", pane=beta["pane_id"], input="Hi\n"))
    wait_until(lambda: unread_option() == "1")
    ok(tmux_server.tmms("post", "-t", "alpha", "-s", "Second", pane=beta["pane_id"], input="Hi\n"))
    wait_until(lambda: unread_option() == "2")
    assert len(messages(Path(alpha["inbox"]))) == 2


def test_register_writes_no_config_when_one_exists_anywhere_tmms_looks(tmux_server: TmuxServer, home: Path) -> None:
    (home / ".tmms.yml").write_text("notify_timeout: 5\n")
    report = register(tmux_server, "alpha", "--no-server")
    assert report["config_written"] is None
    assert not (home / ".config").exists()


def test_register_puts_folders_under_xdg_data_home(tmux_server: TmuxServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    report = register(tmux_server, "alpha", "--no-server")
    root = tmp_path / "xdg-data" / "tmms" / "mail" / "alpha"
    assert (report["inbox"], report["outbox"]) == (str(root / "inbox"), str(root / "outbox"))
    assert report["created"] == [str(root / "inbox"), str(root / "outbox")]
    assert (root / "inbox").is_dir() and (root / "outbox").is_dir()


def test_register_no_server_starts_none(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    out = ok(tmux_server.tmms("register", "alpha", "--no-server", pane=pane))
    assert out.splitlines()[-1] == "  server  not running (--no-server): start one with 'tmms server &'"
    assert server_pid_of(tmux_server) is None


def test_register_with_given_folders_expands_them_and_uses_them(
        tmux_server: TmuxServer, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILROOT", str(tmp_path / "mailroot"))
    report = register(tmux_server, "alpha", "--no-server", "--inbox", "~/boxes/in", "--outbox", "$MAILROOT/out")
    inbox, outbox = home / "boxes" / "in", tmp_path / "mailroot" / "out"
    assert (report["inbox"], report["outbox"]) == (str(inbox), str(outbox))
    assert inbox.is_dir() and outbox.is_dir()
    opts = tmms_options(tmux_server, report["pane_id"])
    assert (opts["@tmms_inbox"], opts["@tmms_outbox"]) == (str(inbox), str(outbox))
    assert not (home / ".local" / "share" / "tmms" / "mail").exists()


def test_register_groups_reply_to_and_notify(tmux_server: TmuxServer) -> None:
    report = register(tmux_server, "rev", "--no-server", "--group", "reviewers", "--group", "@qa",
                      "--reply-to", "lead", "--notify", "echo got ${{tmms_subject}}")
    opts = tmms_options(tmux_server, report["pane_id"])
    assert opts["@tmms_groups"] == "reviewers,qa"
    assert opts["@tmms_reply_to"] == "lead"
    assert opts["@tmms_notify_cmd"] == "echo got ${{tmms_subject}}"
    assert (report["groups"], report["reply_to"]) == (["reviewers", "qa"], "lead")


def test_register_the_same_pane_again_keeps_what_is_not_given(tmux_server: TmuxServer) -> None:
    first = register(tmux_server, "alpha", "--no-server", "--group", "g1", "--notify", "echo custom",
                     "--reply-to", "lead")
    again = register(tmux_server, "alpha", "--no-server", pane=first["pane_id"])
    assert again["created"] == []
    assert (again["notify_cmd"], again["reply_to"], again["groups"]) == ("echo custom", "lead", ["g1"])
    renamed = register(tmux_server, "alpha2", "--no-server", pane=first["pane_id"])
    opts = tmms_options(tmux_server, first["pane_id"])
    assert opts["@tmms_name"] == "alpha2"
    assert renamed["inbox"].endswith("/mail/alpha2/inbox")
    assert (opts["@tmms_notify_cmd"], opts["@tmms_groups"]) == ("echo custom", "g1")


def test_register_refuses_a_name_another_live_pane_holds_and_names_that_pane(tmux_server: TmuxServer) -> None:
    holder = register(tmux_server, "alpha", "--no-server")
    pane = tmux_server.new_pane()
    line = failed(tmux_server.main("register", "alpha", "--no-server", pane=pane), 10)
    assert line == (f"tmms: error: the name 'alpha' is already held by pane {holder['pane_id']} "
                    f"({holder['location']}); pick another name or run 'tmms unregister' in that pane")
    assert tmms_options(tmux_server, pane) == {}
    tmux_server.tmux("kill-pane", "-t", holder["pane_id"])
    assert register(tmux_server, "alpha", "--no-server", pane=pane)["pane_id"] == pane  # free once it is gone


@pytest.mark.parametrize("name", ["", ".hidden", "+plus", "-dash", "a b", "a/b", "a,b", "@group", "*", "x" * 65],
                         ids=["empty", "dot", "plus", "dash", "space", "slash", "comma", "at", "star", "too-long"])
def test_register_refuses_a_name_that_cannot_be_an_address(tmux_server: TmuxServer, name: str) -> None:
    pane = tmux_server.new_pane()
    line = failed(tmux_server.main("register", "--no-server", "--", name, pane=pane), 2)
    assert line == f"tmms: error: {BadName(name)}"
    assert line.startswith(f"tmms: error: '{name}' cannot be a mailbox name: use letters, digits and _ . + -")
    assert tmms_options(tmux_server, pane) == {}


def test_register_accepts_names_of_letters_digits_and_punctuation(tmux_server: TmuxServer) -> None:
    for name in ["agent_1", "ci.bot+v2", "Überprüfer", "x" * 64]:
        assert register(tmux_server, name, "--no-server")["name"] == name


def test_register_another_pane_with_t_from_outside_tmux(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    report = as_json(tmux_server.tmms("register", "alpha", "-t", pane, "--no-server", "--json"))  # no $TMUX_PANE
    assert report["pane_id"] == pane
    assert tmms_options(tmux_server, pane)["@tmms_name"] == "alpha"


def test_register_an_unknown_pane_exits_4(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.main("register", "alpha", "-t", "%999", "--no-server"), 4)
    assert line == "tmms: error: pane %999 does not exist on this tmux server"


def test_register_outside_tmux_without_t_exits_4(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.main("register", "alpha", "--no-server"), 4)
    assert line == "tmms: error: not inside a tmux pane ($TMUX_PANE is not set); run this in a tmux pane"


def test_register_with_a_stale_tmux_pane_exits_4_and_touches_no_pane(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.main("register", "alpha", "--no-server", pane="%999"), 4)
    assert line == "tmms: error: pane %999 does not exist on this tmux server"
    panes = tmux_server.tmux("list-panes", "-a", "-F", "#{pane_id}").split()
    assert all(tmms_options(tmux_server, pane) == {} for pane in panes)


def test_register_typed_in_a_pane_finds_its_tmux_server_and_pane(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    tmux_server.tmux("send-keys", "-t", pane, "-l", f"{sys.executable} -m tmms register alpha --group typed")
    tmux_server.tmux("send-keys", "-t", pane, "Enter")
    wait_until(lambda: tmms_options(tmux_server, pane).get("@tmms_groups") == "typed")
    # the server it started is the one -L finds: both name the same lock
    pid = wait_until(lambda: server_pid_of(tmux_server))
    assert isinstance(pid, int) and alive(pid)
    assert as_json(tmux_server.tmms("whoami", "--json", pane=pane))["server_pid"] == pid


def test_register_exits_12_when_the_server_cannot_start(tmux_server: TmuxServer, home: Path) -> None:
    (home / ".tmms.yml").write_text("polling_interval: [oops\n")  # the server refuses this config
    pane = tmux_server.new_pane()
    line = failed(tmux_server.tmms("register", "alpha", pane=pane), 12)
    log = home / ".local" / "state" / "tmms"
    assert line.startswith("tmms: error: could not start the tmms server: it exited with code 3: tmms: error: "
                           f"{home / '.tmms.yml'}: malformed YAML")
    assert line.endswith(".log)") and f"(log: {log}/server-" in line
    assert server_pid_of(tmux_server) is None


# -- unregister ----------------------------------------------------------------------------------


def test_unregister_removes_the_options_and_keeps_folders_and_mail(tmux_server: TmuxServer) -> None:
    alpha = register(tmux_server, "alpha", "--no-server", "--group", "g")
    beta = tmux_server.register("beta")
    letter = deliver(tmux_server, beta, "alpha", Path(alpha["inbox"]), "Kept")
    tmux_server.tmux("set-option", "-p", "-t", alpha["pane_id"], "@tmms_unread", "1")  # as tmms alert leaves it
    out = ok(tmux_server.main("unregister", pane=alpha["pane_id"]))
    assert out == f"unregistered 'alpha' from pane {alpha['pane_id']}; its folders and mail are kept\n"
    assert tmms_options(tmux_server, alpha["pane_id"]) == {}
    assert letter.exists() and Path(alpha["outbox"]).is_dir()
    assert failed(tmux_server.main("whoami", pane=alpha["pane_id"]), 5).startswith(
        f"tmms: error: pane {alpha['pane_id']} is not a tmms mailbox: missing @tmms_enabled")
    assert register(tmux_server, "alpha", "--no-server")["name"] == "alpha"  # the name is free again


def test_unregister_another_pane_with_t(tmux_server: TmuxServer) -> None:
    alpha = register(tmux_server, "alpha", "--no-server")
    ok(tmux_server.tmms("unregister", "-t", alpha["pane_id"]))
    assert tmms_options(tmux_server, alpha["pane_id"]) == {}


def test_unregister_an_unknown_pane_exits_4_and_touches_no_other_pane(tmux_server: TmuxServer) -> None:
    alpha = register(tmux_server, "alpha", "--no-server", pane=first_pane(tmux_server))
    line = failed(tmux_server.main("unregister", "-t", "%999"), 4)
    assert line == "tmms: error: pane %999 does not exist on this tmux server"
    assert tmms_options(tmux_server, alpha["pane_id"])["@tmms_name"] == "alpha"


def test_unregister_a_pane_that_is_not_registered_says_so_and_succeeds(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    proc = tmux_server.tmms("unregister", pane=pane)
    assert (proc.returncode, proc.stdout) == (0, "")
    assert proc.stderr == f"tmms: pane {pane} was not registered; nothing to do\n"


def test_unregister_outside_tmux_without_t_exits_4(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.main("unregister"), 4)
    assert line.startswith("tmms: error: not inside a tmux pane")


# -- whoami and peers ----------------------------------------------------------------------------


def test_whoami_prints_this_panes_mailbox_and_unread_count(tmux_server: TmuxServer) -> None:
    alpha = register(tmux_server, "alpha", "--no-server", "--group", "devs", "--reply-to", "lead",
                     "--notify", "true")
    beta = tmux_server.register("beta")
    for subject in ("one", "two"):
        deliver(tmux_server, beta, "alpha", Path(alpha["inbox"]), subject)
    info = as_json(tmux_server.tmms("whoami", "--json", pane=alpha["pane_id"]))
    assert info == {"name": "alpha", "pane_id": alpha["pane_id"], "location": alpha["location"],
                    "inbox": alpha["inbox"], "outbox": alpha["outbox"], "notify_cmd": "true", "reply_to": "lead",
                    "groups": ["devs"], "unread": 2, "agent": "", "state": "", "state_reason": "", "doorbell": "",
                    "server_pid": None, "server": None}
    text = ok(tmux_server.tmms("whoami", pane=alpha["pane_id"]))
    assert text.splitlines() == [
        f"alpha on pane {alpha['pane_id']} ({alpha['location']}): 2 unread",
        f"  inbox      {alpha['inbox']}",
        f"  outbox     {alpha['outbox']}",
        "  notify_cmd true",
        "  reply_to   lead",
        "  groups     devs",
        "  server     not running",
    ]
    assert as_json(tmux_server.tmms("whoami", "--json", "--pane", alpha["pane_id"]))["name"] == "alpha"


def test_whoami_shows_the_running_server(tmux_server: TmuxServer) -> None:
    alpha = register(tmux_server, "alpha")
    text = ok(tmux_server.tmms("whoami", pane=alpha["pane_id"]))
    assert text.splitlines()[-1] == f"  server     running, pid {alpha['server_pid']}"


def test_whoami_of_an_unregistered_pane_exits_5(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    line = failed(tmux_server.main("whoami", pane=pane), 5)
    assert line == (f"tmms: error: pane {pane} is not a tmms mailbox: missing @tmms_enabled, @tmms_name, "
                    f"@tmms_inbox, @tmms_outbox; make it one with 'tmms register NAME --pane {pane}'")


def test_whoami_outside_tmux_exits_4(tmux_server: TmuxServer) -> None:
    assert failed(tmux_server.main("whoami"), 4).startswith("tmms: error: not inside a tmux pane")


def test_peers_lists_every_registered_pane_with_unread_counts(tmux_server: TmuxServer) -> None:
    alpha = register(tmux_server, "alpha", "--no-server", "--group", "devs")
    beta = register(tmux_server, "beta", "--no-server")
    sender = tmux_server.register("gamma")
    tmux_server.new_pane()  # not registered: not listed
    for subject in ("one", "two", "three"):
        deliver(tmux_server, sender, "alpha", Path(alpha["inbox"]), subject)
    deliver(tmux_server, sender, "beta", Path(beta["inbox"]), "four")
    rows = {p["name"]: p for p in as_json(tmux_server.tmms("peers", "--json"))}  # an array of panes
    assert sorted(rows) == ["alpha", "beta", "gamma"]
    assert (rows["alpha"]["unread"], rows["beta"]["unread"], rows["gamma"]["unread"]) == (3, 1, 0)
    assert rows["alpha"]["pane_id"] == alpha["pane_id"]
    assert rows["alpha"]["location"] == alpha["location"] == "main:1.0"
    assert rows["alpha"]["groups"] == ["devs"]
    lines = ok(tmux_server.tmms("peers")).splitlines()
    socket_path = tmux_server.tmux("display-message", "-p", "#{socket_path}").strip()
    assert lines[0] == f"tmms server: not running ({socket_path})"
    assert lines[1].split() == ["NAME", "PANE", "WHERE", "UNREAD", "AGENT", "GROUPS"]
    alpha_line = next(line for line in lines if line.split()[0] == "alpha")
    assert alpha_line.split() == ["alpha", alpha["pane_id"], "main:1.0", "3", "-", "devs"]  # "-": no agent
    beta_line = next(line for line in lines if line.split()[0] == "beta")
    assert beta_line.split()[-3:] == ["1", "-", "-"]


def test_peers_shows_the_running_server_and_no_panes(tmux_server: TmuxServer) -> None:
    assert ok(tmux_server.tmms("peers")).splitlines()[1:] == ["no registered panes"]
    assert as_json(tmux_server.tmms("peers", "--json")) == []
    server = tmux_server.start_server()
    wait_until(lambda: server_pid_of(tmux_server) == server.pid)
    assert ok(tmux_server.tmms("peers")).startswith(f"tmms server: running, pid {server.pid} (")


def test_peers_without_a_tmux_server_exits_4(tmux_server: TmuxServer) -> None:
    proc = subprocess.run([sys.executable, "-m", "tmms", "-L", f"tmms-test-none-{uuid.uuid4().hex[:8]}", "peers"],
                          capture_output=True, text=True, env=tmux_server.env(), timeout=30)
    assert failed(subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout, proc.stderr), 4).startswith(
        "tmms: error: no tmux server is running on ")


# -- bind ----------------------------------------------------------------------------------------


def prefix_binding(server: TmuxServer, key: str) -> str:
    return server.tmux("list-keys", "-T", "prefix", key, check=False).strip()


def test_bind_prints_one_tmux_conf_line_and_binds_nothing(tmux_server: TmuxServer) -> None:
    before = prefix_binding(tmux_server, "M")
    out = ok(tmux_server.tmms("bind"))
    assert out == (f"bind-key M run-shell 'tmux display-popup -E -w 90% -h 80% -T tmms \"{sys.executable} -m tmms "
                   "-S \\\"#{socket_path}\\\" ui --pane #{pane_id}\"'\n")
    assert prefix_binding(tmux_server, "M") == before


def test_bind_install_adds_the_binding_and_the_printed_line_means_the_same(tmux_server: TmuxServer) -> None:
    out = ok(tmux_server.tmms("bind", "--install"))
    socket_path = tmux_server.tmux("display-message", "-p", "#{socket_path}").strip()
    first, line = out.splitlines()
    assert first == f"bound prefix+M on {socket_path}; to keep it, add this to ~/.tmux.conf:"
    assert line + "\n" == ok(tmux_server.tmms("bind"))
    installed = prefix_binding(tmux_server, "M")
    assert "display-popup" in installed and "ui --pane #{pane_id}" in installed
    conf = tmux_server.root / "tmux.conf"
    conf.write_text(ok(tmux_server.tmms("bind", "--key", "m")))
    tmux_server.tmux("source-file", str(conf))
    sourced = prefix_binding(tmux_server, "m")
    assert sourced.split(None, 4)[4] == installed.split(None, 4)[4]  # the same command, whichever way


def test_bind_install_with_an_unknown_key_exits_2(tmux_server: TmuxServer) -> None:
    line = failed(tmux_server.main("bind", "--key", "NotAKey", "--install"), 2)
    assert line == "tmms: error: --key: tmux knows no key 'NotAKey' (such as M, m, C-m, F5)"


def test_bind_install_without_a_tmux_server_exits_4(tmux_server: TmuxServer) -> None:
    missing = f"tmms-test-none-{uuid.uuid4().hex[:8]}"
    proc = subprocess.run([sys.executable, "-m", "tmms", "-L", missing, "bind", "--install"],
                          capture_output=True, text=True, env=tmux_server.env(), timeout=30)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr == f"tmms: error: no tmux server is running on /tmp/tmux-{os.getuid()}/{missing}\n"


def test_prefix_m_opens_the_inbox_in_a_popup_and_reads_a_message(tmux_server: TmuxServer,
                                                                 client: TmuxServer) -> None:
    pane = first_pane(tmux_server)
    alpha = register(tmux_server, "alpha", "--no-server", pane=pane)
    beta = tmux_server.register("beta")
    letter = deliver(tmux_server, beta, "alpha", Path(alpha["inbox"]), "Popup check",
                     "Hello from the popup test\n")
    ok(tmux_server.tmms("bind", "--install"))
    client.tmux("send-keys", "-t", "outer", "C-b", "M")
    wait_until(lambda: "tmms · alpha" in screen(client) and "Popup check" in screen(client))
    assert "1 unread" in screen(client)
    client.tmux("send-keys", "-t", "outer", "1", "Enter")
    wait_until(lambda: "Hello from the popup test" in screen(client))
    assert "From:" in screen(client) and "beta" in screen(client)
    assert not letter.exists()
    assert (Path(alpha["inbox"]) / "read" / letter.name).exists()
    client.tmux("send-keys", "-t", "outer", "q", "Enter")
    wait_until(lambda: "tmms · alpha" not in screen(client))


# -- ui ------------------------------------------------------------------------------------------


# The Textual mailbox: tests/test_tui.py (each key and state, in Textual's pilot) and
# tests/test_ui_popup.py (prefix+M in a real client, the errors, a plain pane).


# -- alert ---------------------------------------------------------------------------------------


def notify_env(server: TmuxServer, pane: str) -> dict[str, str]:
    """What the server gives a notify command: $TMUX of the recipient's server and $TMUX_PANE."""
    socket_path, pid = server.tmux("display-message", "-p", "#{socket_path} #{pid}").split()
    env = server.env(pane)
    env["TMUX"] = f"{socket_path},{pid},0"
    return env


def test_alert_shows_the_subject_literally_and_never_runs_it(tmux_server: TmuxServer, client: TmuxServer,
                                                             tmp_path: Path) -> None:
    pane = first_pane(tmux_server)
    alpha = register(tmux_server, "alpha", "--no-server", pane=pane)
    beta = tmux_server.register("beta")
    ran = tmp_path / "ran"
    subject = f"#(touch {ran}) #{{pane_id}} 50% at %H:%M"
    letter = deliver(tmux_server, beta, "alpha", Path(alpha["inbox"]), subject)
    deliver(tmux_server, beta, "alpha", Path(alpha["inbox"]), "another")
    proc = run_tmms("alert", str(letter), env=notify_env(tmux_server, pane))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert tmms_options(tmux_server, pane)["@tmms_unread"] == "2"
    # shown as written (clipped to MAX_SHOWN when long): nothing expanded, nothing run; the recipient pane named
    where = tmux_server.tmux("display-message", "-p", "-t", pane, "#{session_name}:#{window_index}.#{pane_index}")
    wanted = "message: " + alert_text("beta", subject).replace("##", "#").replace("%%", "%").replace(
        "tmms: mail ", f"tmms: mail for alpha ({where.strip()}) ", 1)
    assert f"#(touch {ran})" in wanted
    wait_until(lambda: any(line.endswith(wanted) for line in tmux_server.tmux("show-messages").splitlines()))
    assert not ran.exists()


def test_alert_for_a_message_already_read_still_updates_the_count(tmux_server: TmuxServer) -> None:
    alpha = register(tmux_server, "alpha", "--no-server")
    beta = tmux_server.register("beta")
    letter = deliver(tmux_server, beta, "alpha", Path(alpha["inbox"]), "gone soon")
    ok(tmux_server.tmms("read", "--next", pane=alpha["pane_id"]))
    proc = run_tmms("alert", str(letter), env=notify_env(tmux_server, alpha["pane_id"]))
    assert proc.returncode == 0, proc.stderr
    assert tmms_options(tmux_server, alpha["pane_id"])["@tmms_unread"] == "0"


def test_alert_outside_tmux_exits_4(tmux_server: TmuxServer, tmp_path: Path) -> None:
    line = failed(tmux_server.main("alert", str(tmp_path / "x.md")), 4)
    assert line == "tmms: error: not inside a tmux pane ($TMUX_PANE is not set); run this in a tmux pane"


# -- help and version ----------------------------------------------------------------------------


class HelpCase(NamedTuple):
    test_id: str
    command: list[str]
    example: str


HELPS = [
    HelpCase("register", ["register"], "tmms register agent-alpha"),
    HelpCase("unregister", ["unregister"], "tmms unregister --pane %3"),
    HelpCase("whoami", ["whoami"], "tmms whoami --json"),
    HelpCase("peers", ["peers"], "tmms -L pipeline1 peers --json"),
    HelpCase("bind", ["bind"], "tmms bind --install"),
    HelpCase("ui", ["ui"], "tmms ui --pane %3"),
    HelpCase("alert", ["alert"], "tmms alert ~/.local/share/tmms/mail/alpha/inbox/"),
    HelpCase("dead", ["dead"], "tmms dead purge --older-than 7d"),
    HelpCase("status", ["status"], "tmms status 1a2b3c4d --json"),
    HelpCase("help", ["help"], "tmms help post"),
]


@pytest.mark.parametrize("case", HELPS, ids=[c.test_id for c in HELPS])
def test_every_pane_and_ops_command_help_has_an_example(home: Path, case: HelpCase) -> None:
    proc = run_tmms(*case.command, "--help", env=dict(os.environ))
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith(f"usage: tmms {case.command[0]}")
    examples = proc.stdout.split("\nexamples:\n", 1)[1]
    assert case.example in examples


def test_help_command_prints_a_commands_help_or_the_overview(home: Path) -> None:
    env = dict(os.environ)
    assert ok(run_tmms("help", "register", env=env)) == ok(run_tmms("register", "--help", env=env))
    overview = ok(run_tmms("help", env=env))
    assert overview.startswith("usage: tmms") and "register" in overview and "exit codes:" in overview


def test_help_for_an_unknown_command_exits_2(home: Path) -> None:
    proc = run_tmms("help", "nosuch", env=dict(os.environ))
    assert failed(proc, 2) == "tmms: error: no command 'nosuch'"


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_flag(home: Path, flag: str) -> None:
    assert ok(run_tmms(flag, env=dict(os.environ))) == f"tmms {tmms.__version__}\n"


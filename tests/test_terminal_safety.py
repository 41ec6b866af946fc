"""Nothing a sender wrote reaches a terminal raw (issue #7, item 15).

The escaping itself is tested as pure logic: a table of every class of dangerous character and a
sweep over every code point. Then the commands run as real processes against a private tmux
server with hostile messages, names and folders: their stdout and stderr (piped, on a
pseudo-terminal, and on a tmux pane's screen) carry no raw control, C1, bidi or format character,
and ``--json`` keeps every value exact.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest

from conftest import Pane, TmuxServer, messages, wait_until, without_no_server
from test_mail_cli import on_terminal
from test_panes_cli import front_matter
from tmms.mailbox import Folder, load
from tmms.terminal import is_unsafe, json_visible, visible, visible_text
from tmms.tracking import MessageStatus, Place, describe
from tmms.views import conversation, header_block, letter_line, rendered, to_json

# What may never reach a terminal raw, written out independently of tmms.terminal: C0 controls but
# newline and tab (and CR only before a newline), DEL, C1, soft hyphen, Arabic letter mark, the
# Mongolian vowel separator, zero-width space, LRM/RLM, line and paragraph separators, the bidi
# embeddings/overrides/isolates, word joiner and invisible operators, BOM, interlinear annotation
# controls, surrogates and tag characters.
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]|\r(?!\n)")
SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colours rich (and tmux's capture-pane -e) add themselves


def raw_controls(text: str, terminal_styles: bool = False) -> list[str]:
    """The forbidden characters in ``text`` (SGR colour sequences allowed when ``terminal_styles``)."""
    return FORBIDDEN.findall(SGR.sub("", text) if terminal_styles else text)


# -- the escaping: one character class per row ---------------------------------------------------


class Case(NamedTuple):
    test_id: str
    text: str
    one_line: str  # visible(text)
    layout: str  # visible_text(text)


CASES = [
    Case("esc-csi-clear", "a\x1b[2Jb", "a^[[2Jb", "a^[[2Jb"),
    Case("csi-8bit", "a\x9b31mb", "a<U+009B>31mb", "a<U+009B>31mb"),
    Case("osc52-clipboard-bel", "\x1b]52;c;cm0gLXJm\x07", "^[]52;c;cm0gLXJm^G", "^[]52;c;cm0gLXJm^G"),
    Case("osc0-title-st", "\x1b]0;PWNED\x1b\\", "^[]0;PWNED^[\\", "^[]0;PWNED^[\\"),
    Case("osc2-title-8bit", "\x9d2;PWNED\x9c", "<U+009D>2;PWNED<U+009C>", "<U+009D>2;PWNED<U+009C>"),
    Case("dcs", "\x1bP+q544e\x1b\\", "^[P+q544e^[\\", "^[P+q544e^[\\"),
    Case("dcs-8bit", "\x90q\x9c", "<U+0090>q<U+009C>", "<U+0090>q<U+009C>"),
    Case("bel", "ding\x07", "ding^G", "ding^G"),
    Case("backspace-overstrike", "rm -rf /\x08\x08\x08\x08ls", "rm -rf /^H^H^H^Hls", "rm -rf /^H^H^H^Hls"),
    Case("cr-mid-line", "ok\rFORGED", "ok^MFORGED", "ok^MFORGED"),
    Case("cr-at-end", "ok\r", "ok^M", "ok^M"),
    Case("crlf", "one\r\ntwo\r\n", "one^M^Jtwo^M^J", "one\r\ntwo\r\n"),
    Case("cr-cr-lf", "one\r\r\n", "one^M^M^J", "one^M\r\n"),
    Case("form-feed-vertical-tab", "a\x0cb\x0bc", "a^Lb^Kc", "a^Lb^Kc"),
    Case("del", "a\x7fb", "a^?b", "a^?b"),
    Case("nul-and-unit-separator", "a\x00b\x1fc", "a^@b^_c", "a^@b^_c"),
    Case("newline-and-tab", "a\nb\tc", "a^Jb^Ic", "a\nb\tc"),
    Case("nel-c1", "a\x85b", "a<U+0085>b", "a<U+0085>b"),
    Case("every-c1-end", "\x80\x9f", "<U+0080><U+009F>", "<U+0080><U+009F>"),
    Case("bidi-override", "\u202eexe.txt\u202c", "<U+202E>exe.txt<U+202C>", "<U+202E>exe.txt<U+202C>"),
    Case("bidi-embeddings", "\u202a\u202b\u202d", "<U+202A><U+202B><U+202D>", "<U+202A><U+202B><U+202D>"),
    Case("bidi-isolates", "\u2066\u2067\u2068\u2069", "<U+2066><U+2067><U+2068><U+2069>",
         "<U+2066><U+2067><U+2068><U+2069>"),
    Case("bidi-marks", "\u200e\u200f\u061c", "<U+200E><U+200F><U+061C>", "<U+200E><U+200F><U+061C>"),
    Case("zero-width-space-and-bom", "ad\u200bmin\ufeff", "ad<U+200B>min<U+FEFF>", "ad<U+200B>min<U+FEFF>"),
    Case("soft-hyphen-word-joiner", "ad\u00admin\u2060", "ad<U+00AD>min<U+2060>", "ad<U+00AD>min<U+2060>"),
    Case("line-paragraph-separators", "a\u2028b\u2029c", "a<U+2028>b<U+2029>c", "a<U+2028>b<U+2029>c"),
    Case("tag-characters", "hi\U000e0041\U000e007f", "hi<U+E0041><U+E007F>", "hi<U+E0041><U+E007F>"),
    Case("lone-surrogate", "a\udcffb", "a<U+DCFF>b", "a<U+DCFF>b"),
    Case("plain-ascii", "Re: build #7 is green", "Re: build #7 is green", "Re: build #7 is green"),
    Case("accents-cjk-emoji", "café 日本語 🚀", "café 日本語 🚀", "café 日本語 🚀"),
    Case("zwj-emoji-zwnj", "👩\u200d💻 می\u200cخواهم", "👩\u200d💻 می\u200cخواهم", "👩\u200d💻 می\u200cخواهم"),
    Case("rtl-letters-nbsp", "שלום\u00a0עולם", "שלום\u00a0עולם", "שלום\u00a0עולם"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_visible_shows_each_class_of_control_as_text(case: Case) -> None:
    assert visible(case.text) == case.one_line
    assert visible_text(case.text) == case.layout
    assert raw_controls(visible(case.text)) == []
    assert "\n" not in visible(case.text) and "\t" not in visible(case.text)


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_visible_is_idempotent(case: Case) -> None:
    assert visible(visible(case.text)) == visible(case.text)
    assert visible_text(visible_text(case.text)) == visible_text(case.text)


def test_every_code_point_comes_out_safe() -> None:
    everything = "".join(chr(code) for code in range(0x110000))
    one_line, layout = visible(everything), visible_text(everything)
    assert raw_controls(one_line) == [] and raw_controls(layout) == []
    assert "\n" not in one_line and "\t" not in one_line and "\r" not in one_line
    unsafe = [chr(code) for code in range(0x110000) if is_unsafe(chr(code))]
    assert len(unsafe) > 2048 + 65 + 20  # surrogates, C0+DEL+C1 and the format characters at least
    assert not [char for char in unsafe if char in one_line]


def test_json_keeps_every_value_exact_with_nothing_raw() -> None:
    hostile = {"subject": "".join(c.text for c in CASES), "from": "m\u2067\x7f", "tag": "\U000e0041",
               "lone": "\ud800", "nested": ["\x9b2J", {"k\u202e": "\u2028"}]}
    text = to_json(hostile)
    assert json.loads(text) == hostile
    assert raw_controls(text) == []
    assert "\\u009b" in text and "\\u007f" in text and "\\udb40\\udc41" in text
    assert json_visible('{"a": "café 👩\u200d💻"}') == '{"a": "café 👩\u200d💻"}'


# -- the views, on a hostile file (no tmux) ----------------------------------------------------------

SUBJECT = "\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[HForged line\x9b31m\u202eevil\u202c"
SENDER = "mallory\u2067\x1b[8m"
THREAD = "\x1bP+q\x1b\\thread"
BODY = ("Dear agent,\n\x1b]52;c;cm0gLXJmIH4=\x07clipboard\n\x1b]2;PWNED-TITLE\x1b\\\n"
        "ok\rFORGED: all tests passed\n\x08\x08\x0c\x0b\x7f\x85\x90P\x9c\u2028\u2029\u200b\ufeff\u00ad"
        "\U000e0041tag\ttab\r\n\n```\ncode \x1b[31mred\x9b0m\n```\n\n[docs](https://example.com/\x1b]8;;x\x07) "
        "`inline \x1b[5m`\n")


def hostile_file(folder: Path, message_id: str, recipient: str = "beta", name: str = "", sender: str = SENDER,
                 thread: str = THREAD) -> Path:
    """A message whose subject, sender, thread and body carry escape sequences (valid YAML escapes)."""
    head = {"tmms_id": message_id, "tmms_from": sender, "tmms_to": recipient,
            "tmms_created_at": "2026-03-22T14:30:05.000Z", "tmms_subject": SUBJECT, "tmms_thread_id": thread}
    text = "---\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in head.items()) + "---\n" + BODY
    path = folder / (name or f"20260322-143005_mallory_to_{recipient}_{message_id[:8]}.md")
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


def test_views_show_a_hostile_letter_visibly(tmp_path: Path) -> None:
    letter = load(str(hostile_file(tmp_path, "7e57ab1e-0000-4000-8000-000000000001")), Folder.INBOX)
    assert letter.headers.subject == SUBJECT  # the test's message really is hostile
    line = letter_line(letter, time.time())
    head = header_block(letter)
    talk = conversation([letter], "beta")
    for text in (line, head, talk):
        assert raw_controls(text) == [], text
    assert "^[]0;PWNED-TITLE^G" in line and "\n" not in line
    assert "Subject:     ^[]0;PWNED-TITLE^G^[[2J^[[HForged line<U+009B>31m<U+202E>evil<U+202C>" in head
    assert "From:        mallory<U+2067>^[[8m" in head and "^[P+q^[\\thread" in head
    assert "ok^MFORGED: all tests passed" in talk and "\ttab\r\n" in talk


def test_rendered_markdown_escapes_text_code_blocks_and_links_before_rich(tmp_path: Path) -> None:
    letter = load(str(hostile_file(tmp_path, "7e57ab1e-0000-4000-8000-000000000002")), Folder.INBOX)
    pretty = rendered(letter, width=100)
    assert "\x1b[" in pretty  # rich did style it
    assert raw_controls(pretty, terminal_styles=True) == [], ascii(pretty)
    assert "\x1b]8" not in pretty  # no hidden hyperlink target: it is shown as text
    plain = SGR.sub("", pretty)
    for shown in ("^[]52;c;cm0gLXJmIH4=^Gclipboard", "ok^MFORGED", "code ^[[31mred<U+009B>0m",
                  "https://example.com/%5E%5B%5D8;;x%5EG", "inline ^[[5m", "^[]0;PWNED-TITLE^G"):
        assert shown in plain, (shown, plain)


def test_status_description_shows_every_field_visibly(tmp_path: Path) -> None:
    letter = load(str(hostile_file(tmp_path, "7e57ab1e-0000-4000-8000-000000000003")), Folder.DEAD)
    status = MessageStatus("7e57ab1e-0000-4000-8000-000000000003", "dead-lettered",
                           [Place("dead letter", Folder.DEAD, f"{tmp_path}/\x1b]0;x\x07.md")],
                           [{"at": "now\x1b[2J", "event": "dead-lettered\x07", "to": "\u202eghost",
                             "reason": "no pane named '\x1b[8mx'\nforged line"}], letter, "j")
    text = describe(status)
    assert raw_controls(text) == []
    assert len(text.splitlines()) == 4  # a newline in a reason forges no line
    assert "no pane named '^[[8mx'^Jforged line" in text and "<U+202E>ghost" in text


# -- the commands, against a real tmux server ----------------------------------------------------------

MESSAGE_ID = "7e57ab1e-1111-4111-8111-111111111111"
SHORT = MESSAGE_ID[:8]


@dataclass
class Hostile:
    """Two panes and a beta inbox of hostile mail: a message, raw bytes in front matter, hostile and non-UTF-8 names."""

    server: TmuxServer
    alpha: Pane
    beta: Pane
    message: Path


@pytest.fixture
def hostile(tmux_server: TmuxServer) -> Hostile:
    alpha, beta = tmux_server.register("alpha"), tmux_server.register("beta")
    message = hostile_file(beta.inbox, MESSAGE_ID)
    (beta.inbox / "20260322-143006_x_to_beta_0badc0de.md").write_bytes(
        b"---\ntmms_id: 0badc0de-2222-4222-8222-222222222222\ntmms_from: raw\x1b[2Jbytes\x07\n"
        b"tmms_to: beta\ntmms_subject: \x9b31m\xe2\x80\xae raw\n---\nbody \x1b]52;c;eA==\x07\n")
    (beta.inbox / "20260322-143007_m\x1b]0;T\x07\u202e_to_beta_0ddba11.md").write_bytes(
        b"no front matter \x1b[2J\n")
    with open(os.fsencode(beta.inbox) + b"/20260322-143008_\xff\x9b_to_beta_0badbeef.md", "wb") as bad_name:
        bad_name.write(b"---\ntmms_id: 0badbeef-4444-4444-8444-444444444444\ntmms_from: x\ntmms_to: beta\n---\nhi\n")
    return Hostile(tmux_server, alpha, beta, message)


def run(server: TmuxServer, *args: str, pane: Pane | str | None = None,
        text: str = "") -> subprocess.CompletedProcess[bytes]:
    """``python -m tmms`` in ``pane`` with bytes out (nothing decoded or replaced)."""
    pane_id = pane.pane_id if isinstance(pane, Pane) else pane
    return subprocess.run([sys.executable, "-m", "tmms", "-L", server.socket, *args], input=text.encode(),
                          capture_output=True, env=server.env(pane_id), timeout=60)


def safe_output(proc: subprocess.CompletedProcess[bytes], code: int = 0) -> str:
    """stdout and stderr of a command that exited ``code``, checked for raw controls; stdout as text."""
    assert proc.returncode == code, (proc.args, proc.returncode, proc.stdout, proc.stderr)
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    assert raw_controls(out) == [], (proc.args, out)
    assert raw_controls(err) == [], (proc.args, err)
    return out


def test_mail_commands_show_a_hostile_message_visibly(hostile: Hostile) -> None:
    server, beta = hostile.server, hostile.beta
    listing = safe_output(run(server, "inbox", pane=beta))
    assert "^[]0;PWNED-TITLE^G" in listing and "mallory<U+2067>" in listing and SHORT in listing
    assert "<U+009B>31m" in listing or "unreadable" in listing  # raw bytes in front matter: shown or refused
    assert safe_output(run(server, "thread", SHORT, pane=beta)).count("^[]52;c;") == 1
    assert "^[]0;PWNED-TITLE^G" in safe_output(run(server, "status", SHORT))
    kept = safe_output(run(server, "read", SHORT, "--keep", pane=beta))
    assert "ok^MFORGED: all tests passed" in kept and "tmms_subject:" in kept  # the file, controls shown
    waited = safe_output(run(server, "wait", "--keep", "--timeout", "5", pane=beta))
    assert waited
    assert "^[]52;c;" in safe_output(run(server, "read", SHORT, pane=beta))
    assert not hostile.message.exists()
    assert "read   " in safe_output(run(server, "inbox", "--all", pane=beta))


def test_read_raw_is_byte_exact_only_when_piped(hostile: Hostile) -> None:
    server, beta = hostile.server, hostile.beta
    stored = hostile.message.read_bytes()
    assert run(server, "read", SHORT, "--keep", "--raw", pane=beta).stdout == stored
    on_screen = on_terminal(server, beta, "read", SHORT, "--keep", "--raw")
    assert raw_controls(on_screen) == [], ascii(on_screen)
    assert "ok^MFORGED" in on_screen and "tmms_subject:" in on_screen
    pretty = on_terminal(server, beta, "read", SHORT, "--keep")
    assert raw_controls(pretty, terminal_styles=True) == [], ascii(pretty)
    assert "\x1b]" not in pretty and "^[]52;c;" in SGR.sub("", pretty)


@pytest.mark.parametrize("command", [["inbox", "--json"], ["inbox", "--all", "--json"],
                                     ["read", SHORT, "--keep", "--json"], ["thread", SHORT, "--json"],
                                     ["wait", "--keep", "--json", "--timeout", "5"]])
def test_json_output_is_exact_and_carries_nothing_raw(hostile: Hostile, command: list[str]) -> None:
    data = json.loads(safe_output(run(hostile.server, *command, pane=hostile.beta)))
    records = data if isinstance(data, list) else [data]
    if command[0] == "inbox":  # a file name that is not UTF-8 comes back as the very name os.listdir gives
        assert os.fsdecode(os.fsencode(hostile.beta.inbox) + b"/20260322-143008_\xff\x9b_to_beta_0badbeef.md") in [
            r["path"] for r in records]
    mine = [r for r in records if r["id"] == MESSAGE_ID]
    if command[0] != "wait" or mine:
        (record,) = mine
        assert (record["subject"], record["from"], record["thread_id"]) == (SUBJECT, SENDER, THREAD)
        if "body" in record:
            assert record["body"] == BODY


def test_status_json_is_exact(hostile: Hostile) -> None:
    data = json.loads(safe_output(run(hostile.server, "status", SHORT, "--json")))
    assert data["message"]["subject"] == SUBJECT and data["message"]["from"] == SENDER


class Complaint(NamedTuple):
    test_id: str
    args: list[str]
    code: int
    says: str  # the start of the one stderr line


COMPLAINTS = [
    Complaint("unknown-id", ["read", "\x1b]0;PWNED\x07"], 11, "tmms: error: no message matches '^[]0;PWNED^G'"),
    Complaint("unknown-thread-id", ["thread", "\u2067zz\n"], 11, "tmms: error: no message matches '<U+2067>zz^J'"),
    Complaint("argparse-extra", ["inbox", "\x1b[2Jextra\x9b"], 2, "tmms: error: unrecognized arguments: ^[[2Jextra"),
    Complaint("no-such-pane", ["inbox", "--pane", "%9\x1b]52;c;eA==\x07"], 4, "tmms: error: "),
    Complaint("post-to-unknown-name", ["post", "-t", "x\x1b[2J\u202e"], 0,
              "tmms: warning: no pane is registered as 'x^[[2J<U+202E>'"),
    Complaint("reply-to-hostile-sender", ["reply", SHORT], 0,
              "tmms: warning: no pane is registered as 'mallory<U+2067>^[[8m'"),
]


@pytest.mark.parametrize("case", COMPLAINTS, ids=[c.test_id for c in COMPLAINTS])
def test_errors_and_warnings_quote_names_visibly_on_one_line(hostile: Hostile, case: Complaint) -> None:
    proc = run(hostile.server, *case.args, pane=hostile.beta, text="answer\n")
    safe_output(proc, case.code)
    lines = without_no_server(proc.stderr.decode()).splitlines()  # a post also warns that no server runs
    assert len(lines) == 1 and lines[0].startswith(case.says), lines


def test_pane_commands_show_hostile_folders_and_names_visibly(tmux_server: TmuxServer) -> None:
    root = tmux_server.root / "box\x1b]0;PWNED\x07\u202e"
    pane = tmux_server.new_pane()
    inbox, outbox = root / "in\x9b2J", root / "out\x07"
    out = safe_output(run(tmux_server, "register", "gamma", "--no-server", "--inbox", str(inbox), "--outbox",
                          str(outbox), "--group", "g", "--notify", "echo \x1b[2J", pane=pane))
    assert "box^[]0;PWNED^G<U+202E>/in<U+009B>2J" in out
    odd = tmux_server.register("delta\x1b[8m", notify="say \x1b]52;c;eA==\x07", reply_to="\u202eboss")
    tmux_server.tmux("set-option", "-p", "-t", odd.pane_id, "@tmms_groups", "ops\x07")
    who = safe_output(run(tmux_server, "whoami", pane=odd))
    assert "delta^[[8m on pane" in who and "<U+202E>boss" in who and "^[]52;c;eA==^G" in who
    peers = safe_output(run(tmux_server, "peers"))
    assert "delta^[[8m" in peers and "box^[]0;PWNED" not in peers  # peers shows names, not folders
    post = safe_output(run(tmux_server, "post", "-t", "gamma", pane=odd, text="hi\n"))
    assert "box^[]0;PWNED" not in post and "delta" in post and raw_controls(post) == []
    assert json.loads(safe_output(run(tmux_server, "whoami", "--json", pane=odd)))["reply_to"] == "\u202eboss"
    gone = safe_output(run(tmux_server, "unregister", "-t", odd.pane_id))
    assert "unregistered 'delta^[[8m'" in gone


def test_ask_prints_a_hostile_reply_visibly(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    question_text = tmux_server.root / "question.md"
    question_text.write_text("question\n")
    with question_text.open("rb") as stdin:
        asker = subprocess.Popen([sys.executable, "-m", "tmms", "-L", tmux_server.socket, "ask", "-t", "beta",
                                  "-s", "Q", "--timeout", "30"], stdin=stdin, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=tmux_server.env(alpha.pane_id))
    try:
        wait_until(lambda: messages(alpha.outbox))
        (question,) = messages(alpha.outbox)
        hostile_file(alpha.inbox, "7e57ab1e-3333-4333-8333-333333333333", recipient="alpha", sender="beta",
                     thread=str(front_matter(question)["tmms_id"]))
        out, err = asker.communicate(timeout=30)
    finally:
        if asker.poll() is None:
            asker.kill()
            asker.communicate()
    text = safe_output(subprocess.CompletedProcess(asker.args, asker.returncode, out, err))
    assert "^[]52;c;cm0gLXJmIH4=^Gclipboard" in text and "ok^MFORGED" in text


def test_the_demo_agent_prints_what_it_answered_visibly(tmux_server: TmuxServer) -> None:
    tmux_server.register("beta")
    inbox, outbox, log = (tmux_server.root / "agent" / "inbox", tmux_server.root / "agent" / "outbox",
                          tmux_server.root / "agent.log")
    tmux_server.tmux("new-window", "-d", f"{sys.executable} -m tmms.cli.demo_agent helper --max 1 --inbox {inbox} "
                                         f"--outbox {outbox} > {log} 2>&1; sleep 60")
    wait_until(lambda: log.exists() and b"waiting for mail" in log.read_bytes())
    hostile_file(inbox, MESSAGE_ID, recipient="helper", sender="beta")
    wait_until(lambda: b"replied" in log.read_bytes())
    text = log.read_bytes().decode()
    assert raw_controls(text) == [], text
    assert "asked '^[]0;PWNED-TITLE^G" in text


def test_server_init_and_bind_print_hostile_paths_and_keys_visibly(tmux_server: TmuxServer) -> None:
    target = tmux_server.root / "cfg\x1b]0;PWNED\x07\u202e" / "config.yml"
    written = safe_output(run(tmux_server, "server", "init", "-o", str(target)))
    assert "cfg^[]0;PWNED^G<U+202E>/config.yml" in written and target.exists()
    bound = run(tmux_server, "bind", "--key", "M\x1b[2J")
    safe_output(bound, bound.returncode)


def test_dead_letters_and_the_server_log_show_controls_visibly(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    config = tmux_server.config(recipient_grace_seconds=0)
    server = tmux_server.start_server(config=config)
    hostile_file(alpha.outbox, MESSAGE_ID, recipient="ghost\x1b[2J\u202e",
                 name="20260322-143005_a_to_ghost\x1b]0;T\x07_7e57ab1e.md")
    dead = tmux_server.root / "dead"
    wait_until(lambda: messages(dead), timeout=20)
    listing = safe_output(run(tmux_server, "dead", "-c", str(config)))
    assert "^[]0;PWNED-TITLE^G" in listing
    shown = safe_output(run(tmux_server, "dead", "show", SHORT, "-c", str(config)))
    assert "reason:" in shown and "ok^MFORGED" in shown and "ghost^[[2J<U+202E>" in shown
    (record,) = json.loads(safe_output(run(tmux_server, "dead", "--json", "-c", str(config))))
    assert record["subject"] == SUBJECT
    assert "^[]0;PWNED-TITLE" in safe_output(run(tmux_server, "status", SHORT, "-c", str(config)))
    safe_output(run(tmux_server, "dead", "retry", SHORT, "-c", str(config)))
    wait_until(lambda: messages(dead), timeout=20)  # routed again, dead-lettered again
    purged = safe_output(run(tmux_server, "dead", "purge", "--older-than", "0", "-c", str(config)))
    assert purged.startswith("purged 1 dead letter(s)")
    wait_until(lambda: b"ghost" in tmux_server.server_log(server))
    tmux_server.stop(server)
    log = tmux_server.server_log(server).decode("utf-8", "replace")
    assert raw_controls(log) == [], log
    assert "ghost^[[2J<U+202E>" in log


# -- on a real terminal: a tmux pane's screen, title and clipboard -------------------------------------


def pane_state(server: TmuxServer, pane: str) -> tuple[str, str, str]:
    """What an escape sequence could change: the pane's title, tmux's paste buffers, the screen (with styles)."""
    title = server.tmux("display-message", "-p", "-t", pane, "#{pane_title}").strip()
    buffers = server.tmux("list-buffers", check=False)
    return title, buffers, server.tmux("capture-pane", "-e", "-p", "-J", "-S", "-200", "-t", pane)


def test_a_terminal_running_the_commands_keeps_its_title_clipboard_and_screen(hostile: Hostile) -> None:
    server, beta = hostile.server, hostile.beta
    server.tmux("set-option", "-g", "set-clipboard", "on")  # OSC 52 would create a tmux buffer
    tmms = f"{sys.executable} -m tmms -L {server.socket}"
    script = (f"echo BEFORE; export TMUX_PANE={beta.pane_id}; {tmms} inbox; {tmms} thread {SHORT}; "
              f"{tmms} status {SHORT}; {tmms} read {SHORT} --keep --raw; {tmms} read {SHORT}; "
              f"{tmms} read $(printf 'x\\033[2J'); echo DONE; sleep 60")
    pane = server.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", script).strip()
    wait_until(lambda: "DONE" in pane_state(server, pane)[2], timeout=60)
    title, buffers, screen = pane_state(server, pane)
    assert "PWNED" not in title and buffers == ""
    assert "BEFORE" in screen  # nothing cleared the screen
    assert raw_controls(screen, terminal_styles=True) == [], ascii(screen)
    assert "^[]0;PWNED-TITLE^G" in screen and "^[]52;c;" in screen and "ok^MFORGED" in screen
    # the same bytes printed raw do change all three: the checks above can fail
    control = server.tmux("new-window", "-d", "-P", "-F", "#{pane_id}",
                          f"cat {hostile.message.parent / 'read' / hostile.message.name}; sleep 60").strip()
    wait_until(lambda: "PWNED" in pane_state(server, control)[0] and pane_state(server, control)[1])
    assert "FORGED" in pane_state(server, control)[2] and "ok^M" not in pane_state(server, control)[2]

"""End-to-end tests of the ``tmms`` command line: post, server init, help, version and errors.

Every command runs as a real process (``python -m tmms``) against a private tmux server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

import tmms
from conftest import TmuxServer, error_line, messages, split_message
from tmms import config as config_mod

NAME_PATTERN = re.compile(r"^(\d{8})-(\d{6})_(?P<sender>.+)_to_(?P<recipient>.+)_(?P<short>[0-9a-f]{8})\.md$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def run_tmms(*args: str, env: dict[str, str], input: bytes = b"") -> subprocess.CompletedProcess[str]:
    """Run ``python -m tmms`` with exactly the given environment."""
    proc = subprocess.run([sys.executable, "-m", "tmms", *args], input=input, capture_output=True, env=env,
                          timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(errors="replace"),
                                       proc.stderr.decode(errors="replace"))


def posted_path(proc: subprocess.CompletedProcess[str]) -> Path:
    """The outbox file a successful post printed."""
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    path = Path(lines[0])
    assert path.is_absolute()
    return path


# -- post: where the message goes and what it holds ----------------------------------------------


def test_post_writes_one_file_in_the_senders_outbox_and_prints_its_path(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    proc = tmux_server.tmms("post", "-t", "beta", "-s", "Greeting", pane=alpha.pane_id, input="Hello from alpha!\n")
    path = posted_path(proc)
    assert messages(alpha.outbox) == [path]
    assert sorted(p.name for p in alpha.outbox.iterdir()) == [path.name, "sent"]  # no temporary file is left
    assert [p.name for p in (alpha.outbox / "sent").iterdir()] == [path.name]  # the sender's own copy
    assert (alpha.outbox / "sent" / path.name).read_bytes() == path.read_bytes()
    assert messages(beta.outbox) == []
    match = NAME_PATTERN.match(path.name)
    assert match, path.name
    assert (match["sender"], match["recipient"]) == ("alpha", "beta")
    data, _, body = split_message(path)
    assert UUID4.match(str(data["tmms_id"])), data
    assert match["short"] == str(data["tmms_id"]).replace("-", "")[:8]
    assert (data["tmms_from"], data["tmms_to"], data["tmms_subject"]) == ("alpha", "beta", "Greeting")
    assert "tmms_created_at" in data
    assert body == "Hello from alpha!\n"


def test_post_reads_the_body_from_a_file_argument(tmux_server: TmuxServer, tmp_path: Path) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    report = tmp_path / "report.md"
    report.write_text("# Report\n\nAll green.\n")
    path = posted_path(tmux_server.tmms("post", "-t", "beta", str(report), pane=alpha.pane_id,
                                        input="stdin is ignored\n"))
    _, _, body = split_message(path)
    assert body == "# Report\n\nAll green.\n"


def test_post_dash_f_sends_the_file_and_leaves_it_unchanged(tmux_server: TmuxServer, tmp_path: Path) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    report = tmp_path / "report.md"
    original = b"---\ntags: [report]\ntmms_to: someone-else\n---\nThe analysis is complete.\n"
    report.write_bytes(original)
    before = report.stat()
    path = posted_path(tmux_server.tmms("post", "-t", "beta", "-s", "Report", "-f", str(report),
                                        pane=alpha.pane_id))
    assert report.read_bytes() == original
    after = report.stat()
    assert (after.st_mtime_ns, after.st_ino, after.st_size) == (before.st_mtime_ns, before.st_ino, before.st_size)
    data, _, body = split_message(path)
    assert data["tmms_to"] == "beta"
    assert data["tags"] == ["report"]
    assert body == "The analysis is complete.\n"


def test_post_without_to_falls_back_to_reply_to(tmux_server: TmuxServer) -> None:
    beta = tmux_server.register("beta", reply_to="alpha")
    tmux_server.register("alpha")
    path = posted_path(tmux_server.tmms("post", pane=beta.pane_id, input="ack\n"))
    assert path.parent == beta.outbox
    data, _, _ = split_message(path)
    assert (data["tmms_from"], data["tmms_to"]) == ("beta", "alpha")
    assert NAME_PATTERN.match(path.name)["recipient"] == "alpha"  # type: ignore[index]


def test_post_merge_keeps_the_authors_keys_verbatim_and_regenerates_tmms_keys(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    author = (
        "# written by hand\n"
        "date: 2024-01-01\n"
        "tmms_from: mallory\n"
        "code: 007\n"
        "tmms_id: not-a-uuid\n"
        "tags:\n"
        "  - report   # the first tag\n"
        "  - 'quoted'\n"
        "tmms_subject: old subject\n"
        "on: yes\n"
    )
    source = f"---\n{author}---\nBody text.\n"
    path = posted_path(tmux_server.tmms("post", "-t", "beta", "-s", "New", pane=alpha.pane_id, input=source))
    data, head, body = split_message(path)
    kept = "".join(line for line in author.splitlines(keepends=True) if not line.startswith("tmms_"))
    assert kept in head  # same text, order and comments
    assert "mallory" not in head and "not-a-uuid" not in head and "old subject" not in head
    assert (data["tmms_from"], data["tmms_to"], data["tmms_subject"]) == ("alpha", "beta", "New")
    assert UUID4.match(str(data["tmms_id"]))
    assert body == "Body text.\n"


def test_post_refuses_a_js_front_matter_and_evaluates_nothing(tmux_server: TmuxServer, tmp_path: Path) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    marker = tmp_path / "evaluated"
    source = (f"---js\n{{ x: require('fs').writeFileSync({str(marker)!r}, 'pwned') }}\n"
              f"---\nbody\n")
    proc = tmux_server.main("post", "-t", "beta", pane=alpha.pane_id, input=source)
    assert proc.returncode == 6
    assert "front matter language 'js' is not supported" in error_line(proc)
    assert not marker.exists()
    assert list(alpha.outbox.iterdir()) == []


def test_post_sender_is_tmux_pane_even_when_another_pane_has_focus(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    tmux_server.tmux("select-window", "-t", beta.pane_id)
    tmux_server.tmux("select-pane", "-t", beta.pane_id)
    active = tmux_server.tmux("display-message", "-p", "#{pane_id}").strip()
    assert active == beta.pane_id
    path = posted_path(tmux_server.tmms("post", "-t", "beta", pane=alpha.pane_id, input="from alpha\n"))
    assert path.parent == alpha.outbox
    assert messages(beta.outbox) == []
    data, _, _ = split_message(path)
    assert data["tmms_from"] == "alpha"


def test_post_to_several_recipients_writes_one_file_each(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    tmux_server.register("gamma")
    proc = tmux_server.tmms("post", "-t", "beta,gamma", "-t", "beta", pane=alpha.pane_id, input="to both\n")
    assert proc.returncode == 0, proc.stderr
    paths = [Path(line) for line in proc.stdout.splitlines()]
    assert sorted(paths) == messages(alpha.outbox)
    heads = [split_message(path)[0] for path in paths]
    assert [h["tmms_to"] for h in heads] == ["beta", "gamma"]
    assert len({h["tmms_id"] for h in heads}) == 2


def test_post_to_an_unknown_name_warns_but_writes_the_message(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    proc = tmux_server.tmms("post", "-t", "ghost", pane=alpha.pane_id, input="anyone?\n")
    path = posted_path(proc)
    assert messages(alpha.outbox) == [path]
    lines = proc.stderr.splitlines()  # no server runs here: that is warned about too (issue #11)
    assert len(lines) == 2 and lines[0].startswith("tmms: warning: no tmms server runs"), proc.stderr
    assert lines[1].startswith("tmms: warning: no pane is registered as 'ghost'"), proc.stderr


# -- post: errors ----------------------------------------------------------------------------------


def test_post_outside_tmux_exits_4(tmux_server: TmuxServer) -> None:
    tmux_server.register("beta")
    proc = tmux_server.main("post", "-t", "beta", pane=None, input="hi\n")
    assert proc.returncode == 4
    assert "not inside a tmux pane ($TMUX_PANE is not set)" in error_line(proc)


def test_post_with_no_tmux_server_on_the_socket_exits_4(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    env = tmux_server.env(alpha.pane_id)
    missing = tmux_server.socket + "-nobody"
    proc = run_tmms("-L", missing, "post", "-t", "beta", env=env, input=b"hi\n")
    assert proc.returncode == 4
    line = error_line(proc)
    assert "no tmux server is running on" in line and missing in line
    assert list(alpha.outbox.iterdir()) == []


def test_post_without_tmux_installed_exits_4(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    python_dir = os.path.dirname(os.path.abspath(sys.executable))
    if shutil.which("tmux", path=python_dir):
        pytest.skip("tmux lives next to the python executable")
    env = tmux_server.env(alpha.pane_id)
    env["PATH"] = python_dir
    proc = run_tmms("-L", tmux_server.socket, "post", "-t", "beta", env=env, input=b"hi\n")
    assert proc.returncode == 4
    assert error_line(proc) == "tmms: error: tmux is not installed or not on PATH"
    assert list(alpha.outbox.iterdir()) == []


def test_post_from_a_pane_without_tmms_options_exits_5(tmux_server: TmuxServer) -> None:
    tmux_server.register("beta")
    bare = tmux_server.new_pane()
    proc = tmux_server.main("post", "-t", "beta", pane=bare, input="hi\n")
    assert proc.returncode == 5
    line = error_line(proc)
    assert f"pane {bare} is not a tmms mailbox" in line
    assert "@tmms_enabled" in line and "@tmms_name" in line and "@tmms_outbox" in line


def test_post_without_a_recipient_exits_2(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    proc = tmux_server.main("post", pane=alpha.pane_id, input="hi\n")
    assert proc.returncode == 2
    assert "no recipient: pass -t NAME or set @tmms_reply_to" in error_line(proc)
    assert list(alpha.outbox.iterdir()) == []


class BadInput(NamedTuple):
    test_id: str
    stdin: bytes
    file: bytes | None  # None: the body comes from stdin; b"<dir>": a folder; b"<missing>": no file
    message: str


BAD_INPUTS = [
    BadInput("missing-file", b"", b"<missing>", "No such file or directory"),
    BadInput("folder-not-file", b"", b"<dir>", "Is a directory"),
    BadInput("binary-stdin", b"---\nx: 1\n---\nab\x00cd\n", None, "binary content (NUL bytes)"),
    BadInput("binary-file", b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content (NUL bytes)"),
    BadInput("non-utf8-stdin", b"caf\xe9\n", None, "not UTF-8 text"),
    BadInput("malformed-yaml", b"---\nkey: [unclosed\n---\nbody\n", None, "malformed YAML front matter"),
    BadInput("unclosed-front-matter", b"---\nkey: value\nbody without a fence\n", None,
             "front matter is not closed"),
    BadInput("list-front-matter", b"---\n- a\n- b\n---\nbody\n", None, "not a mapping"),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c.test_id for c in BAD_INPUTS])
def test_post_bad_input_exits_6(tmux_server: TmuxServer, tmp_path: Path, case: BadInput) -> None:
    alpha = tmux_server.register("alpha")
    tmux_server.register("beta")
    args = ["post", "-t", "beta"]
    source = tmp_path / "input.md"
    if case.file == b"<dir>":
        source.mkdir()
        args.append(str(source))
    elif case.file == b"<missing>":
        args += ["-f", str(source)]
    elif case.file is not None:
        source.write_bytes(case.file)
        args += ["-f", str(source)]
    proc = tmux_server.main(*args, pane=alpha.pane_id, input=case.stdin)
    assert proc.returncode == 6
    line = error_line(proc)
    assert case.message in line
    if case.file is not None:
        assert str(source) in line
    assert list(alpha.outbox.iterdir()) == []


# -- server init, config errors ---------------------------------------------------------------------


def test_server_init_writes_the_template_creating_parent_folders(tmux_server: TmuxServer, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "config.yml"
    proc = tmux_server.tmms("server", "init", "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(target)
    assert target.read_text() == config_mod.template_text()
    loaded = config_mod.load(str(target))
    assert loaded.polling_interval == 10
    assert loaded.dead_letter_dir.endswith(os.path.join(".local", "share", "tmms", "dead_letter"))


def test_server_init_defaults_to_the_xdg_config_path(tmux_server: TmuxServer, home: Path) -> None:
    proc = tmux_server.tmms("server", "init")
    assert proc.returncode == 0, proc.stderr
    target = home / ".config" / "tmms" / "config.yml"
    assert proc.stdout.strip() == str(target)
    assert target.read_text() == config_mod.template_text()


def test_server_init_refuses_to_overwrite_and_exits_9(tmux_server: TmuxServer, tmp_path: Path) -> None:
    target = tmp_path / "config.yml"
    target.write_text("polling_interval: 3\n")
    proc = tmux_server.main("server", "init", "-o", str(target))
    assert proc.returncode == 9
    assert error_line(proc) == f"tmms: error: {target} already exists; refusing to overwrite it"
    assert target.read_text() == "polling_interval: 3\n"


class BadConfig(NamedTuple):
    test_id: str
    text: str
    message: str


BAD_CONFIGS = [
    BadConfig("malformed-yaml", "polling_interval: [1\n", "malformed YAML"),
    BadConfig("wrong-type", "polling_interval: fast\n", "polling_interval must be a number, not 'fast'"),
    BadConfig("boolean-number", "notify_timeout: true\n", "notify_timeout must be a number"),
    BadConfig("negative", "polling_interval: -1\n", "polling_interval must be > 0"),
    BadConfig("fractional-int", "notify_concurrency: 1.5\n", "notify_concurrency must be a whole number"),
    BadConfig("not-a-mapping", "- polling_interval\n", "config must be a mapping of keys, not a list"),
    BadConfig("dead-letter-not-path", "dead_letter_dir: [a, b]\n", "dead_letter_dir must be a path"),
]


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=[c.test_id for c in BAD_CONFIGS])
def test_server_with_a_bad_config_exits_3(tmux_server: TmuxServer, tmp_path: Path, case: BadConfig) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(case.text)
    proc = tmux_server.tmms("server", "-c", str(bad), timeout=10)
    assert proc.returncode == 3
    line = error_line(proc)
    assert line.startswith(f"tmms: error: {bad}: ")
    assert case.message in line


def test_server_with_a_missing_config_exits_3(tmux_server: TmuxServer, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    proc = tmux_server.tmms("server", "-c", str(missing), timeout=10)
    assert proc.returncode == 3
    assert error_line(proc) == f"tmms: error: {missing}: config file not found"


# -- version and help -------------------------------------------------------------------------------


def test_version_prints_the_package_version(tmux_server: TmuxServer) -> None:
    proc = tmux_server.tmms("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"tmms {tmms.__version__}"


def _every_command() -> list[list[str]]:
    from tmms.cli import mail as cli_mail
    from tmms.cli import ops as cli_ops
    from tmms.cli import panes as cli_panes

    names = [name for module in (cli_mail, cli_panes, cli_ops) for name in module.PARSERS]
    return [[], *([name] for name in names), ["server", "init"], ["help"]]


@pytest.mark.parametrize("command", _every_command(), ids=lambda c: "-".join(c) or "tmms")
def test_every_command_help_has_an_example(tmux_server: TmuxServer, command: list[str]) -> None:
    proc = tmux_server.tmms(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: tmms")
    assert "example" in proc.stdout.lower()
    assert proc.stderr == ""


def test_unknown_option_is_a_usage_error(tmux_server: TmuxServer) -> None:
    proc = tmux_server.main("post", "--bogus")
    assert proc.returncode == 2
    assert error_line(proc).startswith("tmms: error: unrecognized arguments: --bogus")

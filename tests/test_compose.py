"""Writing mail in $EDITOR (issue #11): ``post``, ``reply`` and ``ask`` with stdin on a terminal and no
file open $VISUAL or $EDITOR (else vi) on a git-commit-like template; an empty message is refused
(exit 2) unless --allow-empty; piped stdin is sent as it is (TMMS compatibility).

Each command runs in a real tmux pane (its stdin is the pane's terminal), the editor is a shell script.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import Pane, TmuxServer, messages, ok, split_message, wait_until
from tmms.post import SCISSORS, editor_template, from_editor

USAGE = 2


@dataclass
class Run:
    """A tmms command that ran in a pane: its exit code, stdout and stderr (files, not the terminal)."""

    code: int
    out: str
    err: str


def editor(tmp_path: Path, body: str = "", code: int = 0, name: str = "editor.sh") -> Path:
    """An editor script: keeps a copy of the template it was given, puts ``body`` above it, exits ``code``."""
    script = tmp_path / name
    script.write_text("#!/bin/sh\n"
                      f'cp "$1" {shlex.quote(str(tmp_path / "template.txt"))}\n'
                      f'{{ printf %s {shlex.quote(body)}; cat "$1"; }} > "$1.new" && mv "$1.new" "$1"\n'
                      f"exit {code}\n")
    script.chmod(0o755)
    return script


def in_pane(server: TmuxServer, pane: Pane, tmp_path: Path, *args: str, env: dict[str, str]) -> Run:
    """Run ``tmms ARGS`` in ``pane``'s shell, stdin its terminal; wait until it exits."""
    folder = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
    folder.mkdir()
    settings = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
    command = shlex.join([sys.executable, "-m", "tmms", "-L", server.socket, *args])
    script = folder / "run.sh"
    script.write_text(f"{settings} {command} > {folder}/out 2> {folder}/err\necho $? > {folder}/rc.tmp\n"
                      f"mv {folder}/rc.tmp {folder}/rc\n")
    server.tmux("send-keys", "-t", pane.pane_id, f"sh {shlex.quote(str(script))}", "Enter")
    rc = folder / "rc"
    wait_until(rc.exists, timeout=30)
    return Run(int(rc.read_text()), (folder / "out").read_text(), (folder / "err").read_text())


@pytest.fixture
def panes(tmux_server: TmuxServer) -> tuple[Pane, Pane]:
    """alpha, in a pane running a shell (where commands are typed), and beta."""
    alpha = tmux_server.register("alpha", pane_id=tmux_server.tmux(
        "new-window", "-d", "-P", "-F", "#{pane_id}", "sh").strip())
    return alpha, tmux_server.register("beta")


def test_post_on_a_terminal_sends_what_was_written_in_the_editor(tmux_server: TmuxServer, tmp_path: Path,
                                                                 panes: tuple[Pane, Pane]) -> None:
    alpha, _ = panes
    script = editor(tmp_path, "Hello from the editor\n\n# A heading stays\n")
    run = in_pane(tmux_server, alpha, tmp_path, "post", "-t", "beta", "-s", "Greeting",
                  env={"EDITOR": str(script), "VISUAL": ""})
    assert run.code == 0, run.err
    (path,) = messages(alpha.outbox)
    assert run.out == f"{path}\n"
    head, _, body = split_message(path)
    assert (head["tmms_to"], head["tmms_subject"]) == ("beta", "Greeting")
    assert body == "Hello from the editor\n\n# A heading stays\n"
    template = (tmp_path / "template.txt").read_text()
    assert SCISSORS in template and "# To:      beta" in template and "# Subject: Greeting" in template
    assert "An empty message cancels" in template


def test_an_empty_message_is_refused_with_exit_2_and_nothing_is_written(tmux_server: TmuxServer, tmp_path: Path,
                                                                        panes: tuple[Pane, Pane]) -> None:
    alpha, _ = panes
    run = in_pane(tmux_server, alpha, tmp_path, "post", "-t", "beta",
                  env={"EDITOR": str(editor(tmp_path, "  \n\n")), "VISUAL": ""})
    assert (run.code, run.out) == (USAGE, "")
    assert run.err == "tmms: error: empty message: nothing was sent (--allow-empty sends one)\n"
    assert list(alpha.outbox.iterdir()) == []


def test_allow_empty_sends_an_empty_message(tmux_server: TmuxServer, tmp_path: Path,
                                            panes: tuple[Pane, Pane]) -> None:
    alpha, _ = panes
    run = in_pane(tmux_server, alpha, tmp_path, "post", "-t", "beta", "--allow-empty",
                  env={"EDITOR": str(editor(tmp_path)), "VISUAL": ""})
    assert run.code == 0, run.err
    (path,) = messages(alpha.outbox)
    assert split_message(path)[2] == ""


def test_visual_comes_before_editor(tmux_server: TmuxServer, tmp_path: Path, panes: tuple[Pane, Pane]) -> None:
    alpha, _ = panes
    visual = editor(tmp_path, "from VISUAL\n", name="visual.sh")
    run = in_pane(tmux_server, alpha, tmp_path, "post", "-t", "beta",
                  env={"EDITOR": str(editor(tmp_path, "from EDITOR\n")), "VISUAL": str(visual)})
    assert run.code == 0, run.err
    assert split_message(messages(alpha.outbox)[0])[2] == "from VISUAL\n"


def test_an_editor_that_fails_sends_nothing(tmux_server: TmuxServer, tmp_path: Path,
                                            panes: tuple[Pane, Pane]) -> None:
    alpha, _ = panes
    script = editor(tmp_path, "half written\n", code=3)
    run = in_pane(tmux_server, alpha, tmp_path, "post", "-t", "beta", env={"EDITOR": str(script), "VISUAL": ""})
    assert (run.code, run.err) == (USAGE, f"tmms: error: the editor '{script}' exited with status 3; "
                                          "nothing was sent\n")
    assert list(alpha.outbox.iterdir()) == []


def test_an_editor_that_cannot_run_is_one_line(tmux_server: TmuxServer, tmp_path: Path,
                                               panes: tuple[Pane, Pane]) -> None:
    alpha, _ = panes
    missing = str(tmp_path / "no-such-editor")
    run = in_pane(tmux_server, alpha, tmp_path, "post", "-t", "beta", env={"EDITOR": missing, "VISUAL": ""})
    assert (run.code, run.err) == (USAGE, f"tmms: error: cannot run the editor '{missing}': No such file or "
                                          "directory; set $EDITOR\n")


def test_no_recipient_fails_before_the_editor_opens(tmux_server: TmuxServer, tmp_path: Path,
                                                    panes: tuple[Pane, Pane]) -> None:
    alpha, _ = panes
    run = in_pane(tmux_server, alpha, tmp_path, "post", env={"EDITOR": str(editor(tmp_path, "x\n")), "VISUAL": ""})
    assert (run.code, run.err) == (USAGE, "tmms: error: no recipient: pass -t NAME or set @tmms_reply_to on "
                                          "this pane\n")
    assert not (tmp_path / "template.txt").exists()


def test_reply_in_the_editor_names_the_message_answered_and_reads_it(tmux_server: TmuxServer, tmp_path: Path,
                                                                     panes: tuple[Pane, Pane]) -> None:
    alpha, beta = panes
    proc = tmux_server.tmms("post", "-t", "alpha", "-s", "Question", pane=beta.pane_id, input="ready?\n")
    original = Path(ok(proc).strip())
    delivered = alpha.inbox / original.name
    original.rename(delivered)
    short = original.stem.rsplit("_", 1)[-1]
    run = in_pane(tmux_server, alpha, tmp_path, "reply", short,
                  env={"EDITOR": str(editor(tmp_path, "yes, ready\n")), "VISUAL": ""})
    assert run.code == 0, run.err
    (answer,) = messages(alpha.outbox)
    head, _, body = split_message(answer)
    assert (head["tmms_to"], head["tmms_subject"], body) == ("beta", "Re: Question", "yes, ready\n")
    template = (tmp_path / "template.txt").read_text()
    assert f"# In reply to {short} from beta" in template and "# Subject: Re: Question" in template
    assert messages(alpha.inbox) == [] and (alpha.inbox / "read" / delivered.name).exists()


def test_ask_in_the_editor_posts_what_was_written_then_waits(tmux_server: TmuxServer, tmp_path: Path,
                                                              panes: tuple[Pane, Pane]) -> None:
    alpha, _ = panes
    run = in_pane(tmux_server, alpha, tmp_path, "ask", "-t", "beta", "-s", "Vote", "--timeout", "0.1",
                  env={"EDITOR": str(editor(tmp_path, "yes or no?\n")), "VISUAL": ""})
    assert run.code == 1 and run.err.splitlines()[-1].startswith("tmms: no reply from beta within 0.1s")
    (question,) = messages(alpha.outbox)
    assert split_message(question)[2] == "yes or no?\n"
    assert "# To:      beta" in (tmp_path / "template.txt").read_text()


def test_piped_stdin_never_opens_the_editor(tmux_server: TmuxServer, tmp_path: Path, panes: tuple[Pane, Pane],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    alpha, _ = panes
    monkeypatch.setenv("EDITOR", str(editor(tmp_path, "never\n")))
    for text in ("piped\n", ""):  # an empty piped body is sent as TMMS sends it
        ok(tmux_server.tmms("post", "-t", "beta", pane=alpha.pane_id, input=text))
    assert sorted(split_message(p)[2] for p in messages(alpha.outbox)) == ["", "piped\n"]
    assert not (tmp_path / "template.txt").exists()


def test_the_template_and_what_is_kept() -> None:
    template = editor_template("alpha", ["beta", "gamma"], None)
    assert template.startswith("\n\n" + SCISSORS + "\n")
    assert "# To:      beta, gamma\n" in template and "# Subject: (none)\n" in template
    assert from_editor(template) == ""
    assert from_editor("\n\n  body  \n# kept\n\n" + template) == "  body  \n# kept\n"
    assert from_editor("no template at all") == "no template at all\n"


def test_the_template_shows_what_a_sender_wrote_visibly() -> None:
    template = editor_template("alpha", ["mallory\x1b[8m"], "Re: \u202eevil\nnext",
                               about="In reply to 1a2b3c4d from mallory\x1b[8m")
    assert "\x1b" not in template and "\u202e" not in template
    assert "# To:      mallory^[[8m\n" in template and "# Subject: Re: <U+202E>evil^Jnext\n" in template

"""Agent detection: which names a process answers to, the process tree (a real one, and a /proc
written as files for the parent-map scan and the limits), and the nearest match winning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from conftest import wait_until
from tmms.agents import load_agents
from tmms.detect import MAX_DEPTH, Detected, Process, detect, match, process_tree, read_process, script_of

AGENTS = load_agents({"HOME": "/nonexistent"})


def kind_of(*argv: str, comm: str = "x") -> str | None:
    found = match(Process(7, argv, comm), AGENTS)
    return found.kind if found else None


@pytest.mark.parametrize(("argv", "kind"), [
    (("claude",), "claude"),
    (("/home/me/.local/bin/claude", "--resume"), "claude"),
    (("node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"), "claude"),
    (("npx", "-y", "@anthropic-ai/claude-code@latest"), "claude"),
    (("/usr/bin/node", "/opt/lib/node_modules/@openai/codex/bin/codex.js"), "codex"),
    (("/x/node_modules/@openai/codex/vendor/x86_64-unknown-linux-musl/codex/codex", "--yolo"), "codex"),
    (("node", "--no-warnings", "--max-old-space-size=4096", "/x/@google/gemini-cli/dist/index.js"), "gemini"),
    (("deno", "run", "-A", "npm:@google/gemini-cli"), "gemini"),
    (("bun", "x", "@google/gemini-cli"), "gemini"),
    (("python3.12", "-m", "aider", "--model", "x"), "aider"),
    (("/usr/bin/python3", "/home/me/.local/bin/aider"), "aider"),
    (("python3", "/venv/lib/python3.12/site-packages/aider/main.py"), "aider"),
    (("node", "/usr/lib/node_modules/opencode-ai/bin/opencode"), "opencode"),
    (("/bin/sh", "/tmp/bin/claude"), "claude"),  # a shell script run through its #! line
    (("-bash",), None),
    (("zsh",), None),
    (("python3", "/home/claude/project/serve.py"), None),  # a user called claude is no agent
    (("node", "-e", "require('claude')"), None),
    (("vim", "codex.md"), None),
    (("python3", "-c", "import codex"), None),
])
def test_what_a_process_answers_to(argv: tuple[str, ...], kind: str | None) -> None:
    assert kind_of(*argv) == kind


def test_the_kernel_name_counts_too() -> None:
    # Claude Code's npm build sets its process title; a #! script's kernel name is the script's
    assert kind_of("/usr/bin/python3", comm="claude") == "claude"


def test_what_matched_is_reported() -> None:
    found = match(Process(42, ("node", "/x/@google/gemini-cli/dist/index.js"), "node"), AGENTS)
    assert found == Detected("gemini", 42, "@google/gemini-cli")


def test_script_of() -> None:
    assert script_of(("node", "-r", "ts-node/register", "app.ts")) == "app.ts"
    assert script_of(("node", "--", "-weird.js")) == "-weird.js"
    assert script_of(("python3", "-mhttp.server")) == "http"
    assert script_of(("env", "A=1", "claude")) == "claude"
    assert script_of(("bash", "-c", "claude")) == ""
    assert script_of(("node",)) == ""


# -- /proc written as files --------------------------------------------------------------------------


def fake_proc(root: Path, table: Mapping[int, tuple[int, tuple[str, ...]]], children: bool = False) -> str:
    """A /proc with stat, cmdline and comm for each pid: {pid: (ppid, argv)}; the kernel's children
    lists only with ``children`` (CONFIG_PROC_CHILDREN)."""
    for pid, (ppid, argv) in table.items():
        folder = root / str(pid)
        (folder / "task" / str(pid)).mkdir(parents=True)
        name = os.path.basename(argv[0])[:15]
        (folder / "stat").write_text(f"{pid} ({name} (odd) name) S {ppid} {pid} {pid} 0 -1\n")
        (folder / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in argv))
        (folder / "comm").write_text(name + "\n")
        if children:
            kids = " ".join(str(k) for k, (parent, _) in table.items() if parent == pid)
            (folder / "task" / str(pid) / "children").write_text(kids + " " if kids else "")
    return str(root)


@pytest.mark.parametrize("children", [False, True], ids=["parent-scan", "children-files"])
def test_the_nearest_agent_wins_breadth_first(tmp_path: Path, children: bool) -> None:
    proc = fake_proc(tmp_path, {
        100: (1, ("-bash",)),
        101: (100, ("npx", "-y", "some-tool")),
        102: (100, ("codex",)),  # depth 1
        103: (101, ("claude",)),  # depth 2
        200: (1, ("claude",)),  # not below the pane
    }, children)
    assert list(process_tree(100, proc)) == [100, 101, 102, 103]
    assert detect(100, AGENTS, proc) == Detected("codex", 102, "codex")
    assert detect(101, AGENTS, proc) == Detected("claude", 103, "claude")


def test_no_agent_below_a_plain_shell(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, {100: (1, ("-zsh",)), 101: (100, ("vim", "notes.md")), 102: (101, ("sh",))})
    assert detect(100, AGENTS, proc) is None


def test_the_walk_is_depth_limited_and_survives_a_cycle(tmp_path: Path) -> None:
    chain = {100 + i: (99 + i, ("sh",)) for i in range(MAX_DEPTH + 3)}
    chain[100] = (chain[100][0], ("-bash",))
    chain[100 + MAX_DEPTH + 2] = (99 + MAX_DEPTH + 2, ("claude",))  # too deep
    proc = fake_proc(tmp_path, chain)
    assert len(list(process_tree(100, proc))) == MAX_DEPTH + 1
    assert detect(100, AGENTS, proc) is None
    loop = fake_proc(tmp_path / "loop", {5: (6, ("sh",)), 6: (5, ("sh",))})
    assert list(process_tree(5, loop)) == [5, 6]


def test_a_gone_pane_process_is_no_agent(tmp_path: Path) -> None:
    assert detect(4242, AGENTS, fake_proc(tmp_path, {1: (0, ("init",))})) is None
    assert read_process(4242, str(tmp_path)) is None


# -- real processes --------------------------------------------------------------------------------------


@pytest.fixture
def family() -> Iterator[subprocess.Popen[bytes]]:
    """A python process (its own session) with a ``sleep`` child."""
    code = "import subprocess; subprocess.Popen(['sleep', '60']).wait()"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    yield proc
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def test_a_real_process_tree(family: subprocess.Popen[bytes]) -> None:
    tree = wait_until(lambda: [p for p in process_tree(family.pid) if p != family.pid])
    child = read_process(tree[0])
    assert child is not None and child.argv == ("sleep", "60") and child.comm == "sleep"
    me = read_process(family.pid)
    assert me is not None and me.argv[1] == "-c"
    assert detect(family.pid, AGENTS) is None

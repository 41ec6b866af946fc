"""What ``tmms post`` imports: only its own command module, and never shutil (argparse's width lookup).

The child runs with ``-S`` (no site): a site ``.pth`` file on some machines imports certifi, which
imports shutil before tmms starts, and would hide what tmms itself imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import tmms
from conftest import TmuxServer, messages

SRC = str(Path(tmms.__file__).resolve().parent.parent)

CHILD = """
import json, sys
from tmms.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _modules_after(tmux_server: TmuxServer, pane: str, *argv: str) -> tuple[int, set[str]]:
    env = tmux_server.env(pane)
    env["PYTHONPATH"] = SRC
    proc = subprocess.run([sys.executable, "-S", "-c", CHILD, "-L", tmux_server.socket, *argv],
                          input=b"hello\n", capture_output=True, env=env, timeout=30)
    report = json.loads(proc.stderr.decode().splitlines()[-1])
    return report["code"], set(report["modules"])


def test_post_imports_no_shutil_and_no_other_command_module(tmux_server: TmuxServer) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta")
    code, modules = _modules_after(tmux_server, alpha.pane_id, "post", "-t", "beta", "-s", "Hi")
    assert code == 0
    assert len(messages(alpha.outbox)) + len(messages(beta.inbox)) == 1
    assert {"shutil", "bz2", "lzma", "zlib"}.isdisjoint(modules)
    assert "tmms.cli.mail" in modules
    assert {"tmms.cli.ops", "tmms.cli.panes"}.isdisjoint(modules)


def test_full_help_imports_every_command_module(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane()
    code, modules = _modules_after(tmux_server, pane, "help")
    assert code == 0
    assert {"tmms.cli.mail", "tmms.cli.ops", "tmms.cli.panes"} <= modules
    assert "shutil" not in modules

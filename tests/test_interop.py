"""Interop with TMMS 0.1.1 (npm @szk302/tmms): each server routes the other's posts.

Runs when node and npm are available (the package is installed once into a cache folder) and
skips with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import TmuxServer, messages, wait_until

PACKAGE = "@szk302/tmms@0.1.1"


@pytest.fixture(scope="session")
def reference() -> Path:
    """The reference's CLI, installed with npm into a cache folder shared by the test session."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run TMMS 0.1.1")
    cache = Path(os.environ.get("TMMS_REFERENCE_DIR", Path(tempfile.gettempdir()) / "tmms-reference-0.1.1"))
    binary = cache / "node_modules" / ".bin" / "tmms"
    if not binary.exists():
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(cache),
                               PACKAGE], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not binary.exists():
            pytest.skip(f"npm could not install {PACKAGE}: {proc.stderr.strip()[-200:]}")
    return binary


def _ref_env(server: TmuxServer, pane: str | None = None) -> dict[str, str]:
    if pane:  # TMMS 0.1.1 takes the sender from the focused pane, not from $TMUX_PANE
        server.tmux("select-window", "-t", pane)
        server.tmux("select-pane", "-t", pane)
    socket_path = server.tmux("display-message", "-p", "#{socket_path}").strip()
    pid = server.tmux("display-message", "-p", "#{pid}").strip()
    env = server.env(pane)
    env["TMUX"] = f"{socket_path},{pid},0"
    return env


def test_reference_post_is_routed_by_tmms_server(tmux_server: TmuxServer, reference: Path) -> None:
    alpha = tmux_server.register("alpha")
    beta = tmux_server.register("beta", notify=f"echo ${{{{tmms_from}}}} >> {tmux_server.root / 'notified'}")
    tmux_server.start_server()
    proc = subprocess.run([str(reference), "post", "-t", "beta", "-s", "from node"], input=b"hello from TMMS\n",
                          capture_output=True, env=_ref_env(tmux_server, alpha.pane_id), timeout=60)
    assert proc.returncode == 0, proc.stderr
    delivered = wait_until(lambda: messages(beta.inbox))
    text = delivered[0].read_text()
    assert "hello from TMMS" in text
    assert "tmms_from: alpha" in text
    assert messages(alpha.outbox) == []
    wait_until(lambda: (tmux_server.root / "notified").exists())
    assert (tmux_server.root / "notified").read_text() == "alpha\n"


def _split(server: TmuxServer) -> str:
    """A pane in the first window: TMMS 0.1.1 only scans the panes of the current window."""
    return server.tmux("split-window", "-d", "-t", "main:0", "-P", "-F", "#{pane_id}").strip()


def test_tmms_post_is_routed_by_reference_server(tmux_server: TmuxServer, reference: Path) -> None:
    # TMMS 0.1.1 skips a pane without @tmms_notify_cmd, outbox included: the sender needs one too
    alpha = tmux_server.register("alpha", notify="true", pane_id=_split(tmux_server))
    beta = tmux_server.register("beta", notify="true", pane_id=_split(tmux_server))
    config = tmux_server.config(polling_interval=1)
    log = open(tmux_server.root / "ref-server.log", "wb")
    server = subprocess.Popen([str(reference), "server", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT,
                              env=_ref_env(tmux_server))
    try:
        result = tmux_server.tmms("post", "-t", "beta", "-s", "from python", pane=alpha.pane_id,
                                  input="---\ntags:\n- interop\ncode: 007\n---\nhello from tmms\n")
        assert result.returncode == 0, result.stderr
        delivered = wait_until(lambda: messages(beta.inbox), timeout=20)
        text = delivered[0].read_text()
        assert "hello from tmms" in text
        assert "code: 007" in text
        assert "tmms_subject: from python" in text
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        time.sleep(0.1)


def test_reference_server_reads_the_config_tmms_server_init_writes(tmux_server: TmuxServer, reference: Path) -> None:
    alpha = tmux_server.register("alpha", notify="true", pane_id=_split(tmux_server))
    beta = tmux_server.register("beta", notify="true", pane_id=_split(tmux_server))
    written = tmux_server.tmms("server", "init", "-o", str(tmux_server.root / "shared.yml"))
    assert written.returncode == 0, written.stderr
    config = tmux_server.root / "shared.yml"
    config.write_text(config.read_text().replace("polling_interval: 10", "polling_interval: 1"))
    log = open(tmux_server.root / "ref-server.log", "wb")
    server = subprocess.Popen([str(reference), "server", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT,
                              env=_ref_env(tmux_server))
    try:
        wait_until(lambda: b"TMMS server starting" in (tmux_server.root / "ref-server.log").read_bytes()
                   or server.poll() is not None, timeout=20)
        assert server.poll() is None, (tmux_server.root / "ref-server.log").read_text()
        result = tmux_server.tmms("post", "-t", "beta", pane=alpha.pane_id, input="via a shared config\n")
        assert result.returncode == 0, result.stderr
        wait_until(lambda: messages(beta.inbox), timeout=20)
        dead_dir = tmux_server.root / "home" / ".local" / "share" / "tmms" / "dead_letter"
        assert dead_dir.is_dir(), "TMMS must find the absolute dead_letter_dir the template names"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()

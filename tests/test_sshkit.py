"""The sshd test bed itself (tests/sshkit.py): real logins, each host's own HOME, tmux server and tmms."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from conftest import ok
from polling import wait_until as poll
from sshkit import Host, SshBed, netns_unavailable


def test_ssh_runs_a_command_on_the_host(ssh_bed: SshBed) -> None:
    remote = ssh_bed.host("gpu-box")
    out = subprocess.run(ssh_bed.ssh_argv("gpu-box", "echo ok; echo $HOME; echo $TMUX_TMPDIR"),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["ok", str(remote.home), str(remote.tmux_tmpdir)]
    assert out.stderr == ""


def test_the_remote_login_finds_the_same_tmms(ssh_bed: SshBed) -> None:
    ssh_bed.host("gpu-box")
    laptop = ssh_bed.host("laptop", sshd=False)
    version = ok(laptop.tmms("--version"))
    assert ok(laptop.run(["ssh", "gpu-box", "python -m tmms --version"])) == version
    assert ok(laptop.run(["ssh", "gpu-box", "tmms --version"])) == version
    assert ok(laptop.run(["ssh", "gpu-box", "command -v python"])).strip() == f"{sys.exec_prefix}/bin/python"


def test_each_host_has_its_own_tmux_server(ssh_bed: SshBed) -> None:
    remote = ssh_bed.host("gpu-box")
    laptop = ssh_bed.host("laptop", sshd=False)
    here = laptop.tmux("display-message", "-p", "#{socket_path}").strip()
    there = ok(laptop.run(["ssh", "gpu-box", "tmux display-message -p '#{socket_path}'"])).strip()
    assert there == remote.tmux("display-message", "-p", "#{socket_path}").strip()
    assert here != there
    assert here.startswith(str(laptop.tmux_tmpdir)) and there.startswith(str(remote.tmux_tmpdir))


def test_two_hosts_reach_each_other(ssh_bed: SshBed) -> None:
    first, second = ssh_bed.host("gpu-box"), ssh_bed.host("build")
    assert ok(first.run(["ssh", "build", "echo $HOME"])).strip() == str(second.home)
    assert ok(second.run(["ssh", "gpu-box", "echo $HOME"])).strip() == str(first.home)


def sleeper(laptop: Host) -> subprocess.Popen[bytes]:
    """A long ``ssh gpu-box sleep`` from the laptop, once its remote command runs."""
    proc = subprocess.Popen(["ssh", "gpu-box", "exec sleep 60"], env=laptop.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    remote = laptop.bed.hosts["gpu-box"]
    assert remote.sshd is not None
    poll(lambda: remote.sshd is not None and remote.sshd.commands("sleep 60"), 15)
    return proc


def test_a_killed_session_ends_the_client(ssh_bed: SshBed) -> None:
    remote = ssh_bed.host("gpu-box")
    laptop = ssh_bed.host("laptop", sshd=False)
    client = sleeper(laptop)
    assert remote.sshd is not None
    sessions = remote.sshd.sessions()
    assert len(sessions) == 1, sessions
    os.kill(sessions[0], signal.SIGKILL)
    assert client.wait(timeout=15) != 0


def test_a_restarted_sshd_listens_on_the_same_port(ssh_bed: SshBed) -> None:
    remote = ssh_bed.host("gpu-box")
    laptop = ssh_bed.host("laptop", sshd=False)
    client = sleeper(laptop)
    assert remote.sshd is not None
    remote.sshd.stop(sessions=True)
    assert client.wait(timeout=15) != 0
    assert laptop.run(["ssh", "gpu-box", "true"]).returncode == 255
    remote.sshd.start()
    assert ok(laptop.run(["ssh", "gpu-box", "echo ok"])) == "ok\n"


def test_a_host_in_its_own_namespace_can_be_cut_off(ssh_bed: SshBed) -> None:
    reason = netns_unavailable()
    if reason:
        pytest.skip(f"no network namespaces here: {reason}")
    remote = ssh_bed.host("gpu-box", netns=True)
    laptop = ssh_bed.host("laptop", sshd=False)
    assert ok(laptop.run(["ssh", "gpu-box", "echo $HOME"])).strip() == str(remote.home)
    remote.cut()
    assert laptop.run(["ssh", "-o", "ConnectTimeout=1", "gpu-box", "true"]).returncode == 255
    remote.mend()
    assert ok(laptop.run(["ssh", "gpu-box", "echo ok"])) == "ok\n"

"""Path expansion and the XDG folders tmms uses."""

from __future__ import annotations

import os
from collections.abc import Mapping


def expand(path: str, env: Mapping[str, str] | None = None) -> str:
    """Expand a leading ``~`` and ``$VAR``/``${VAR}`` references, like a shell would."""
    env = os.environ if env is None else env
    if path.startswith("~"):
        home = env.get("HOME") or os.path.expanduser("~")
        head, sep, tail = path.partition("/")
        if head == "~":
            path = home + sep + tail
    return _expand_vars(path, env)


def _expand_vars(path: str, env: Mapping[str, str]) -> str:
    if "$" not in path:
        return path
    out: list[str] = []
    i = 0
    while i < len(path):
        ch = path[i]
        if ch != "$" or i + 1 >= len(path):
            out.append(ch)
            i += 1
            continue
        if path[i + 1] == "{":
            end = path.find("}", i + 2)
            if end < 0:
                out.append(path[i:])
                break
            name = path[i + 2 : end]
            out.append(env.get(name, path[i : end + 1]))
            i = end + 1
            continue
        j = i + 1
        while j < len(path) and (path[j].isalnum() or path[j] == "_"):
            j += 1
        name = path[i + 1 : j]
        out.append(env.get(name, "$" + name) if name else "$")
        i = max(j, i + 1)
    return "".join(out)


def _xdg(env: Mapping[str, str], var: str, fallback: str) -> str:
    value = env.get(var)
    if value and os.path.isabs(value):
        return value
    return os.path.join(env.get("HOME") or os.path.expanduser("~"), fallback)


def data_dir(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_DATA_HOME/tmms`` (default ``~/.local/share/tmms``)."""
    return os.path.join(_xdg(os.environ if env is None else env, "XDG_DATA_HOME", ".local/share"), "tmms")


def state_dir(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_STATE_HOME/tmms`` (default ``~/.local/state/tmms``)."""
    return os.path.join(_xdg(os.environ if env is None else env, "XDG_STATE_HOME", ".local/state"), "tmms")


def runtime_dir() -> str:
    """Where locks live: ``/tmp/tmms-$UID``, whatever the environment says.

    Every way of starting tmms must find the same lock, so no variable ($XDG_RUNTIME_DIR, $TMPDIR)
    may move it; ``lock.check_runtime_dir`` refuses it unless it is ours, private and no symlink.
    """
    return f"/tmp/tmms-{os.getuid()}"

"""``tmms hooks install|uninstall``: the hook entries of an agent CLI's settings file, merged in and taken out.

Pure logic on data and text: where each agent keeps its hooks, the entries tmms adds, how they merge
with what is there (every other key and hook kept, in order), how tmms's own entries are known again
(by their command: a tmms program and the word ``hook``), the file's text with 2-space indent, a
unified diff, and the ``[features] codex_hooks = true`` line Codex needs. Reading and writing the
files is here too (a file is replaced in one rename and keeps its mode); printing is the CLI's.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError, StorageError, UsageError

AGENTS = ("claude", "codex", "gemini")
TIMEOUT_S = 10
"""Each hook's time limit: seconds for Claude Code and Codex, as milliseconds for Gemini CLI."""
MAX_BYTES = 4 << 20
"""A settings file larger than this is refused rather than read."""

EVENTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "claude": (("SessionStart", None), ("UserPromptSubmit", None), ("Stop", None),
               ("Notification", "idle_prompt"), ("Notification", "permission_prompt")),
    "codex": (("SessionStart", None), ("UserPromptSubmit", None), ("Stop", None)),
    "gemini": (("SessionStart", None), ("BeforeAgent", None), ("AfterAgent", None)),
}
"""Per agent, the (event, matcher) of each group tmms adds; None: no matcher (every source of the event)."""


def settings_path(agent: str, env: Mapping[str, str], project: str | None = None) -> str:
    """The settings file of ``agent``: the user's ($CLAUDE_CONFIG_DIR, $CODEX_HOME honoured) or ``project``'s."""
    if agent not in AGENTS:
        raise UsageError(f"unknown agent {agent!r}: choose from {', '.join(AGENTS)}")
    name = "hooks.json" if agent == "codex" else "settings.json"
    if project is not None:
        if not os.path.isdir(project):
            raise UsageError(f"--project {project}: no such folder")
        return os.path.join(os.path.abspath(project), f".{agent}", name)
    override = {"claude": "CLAUDE_CONFIG_DIR", "codex": "CODEX_HOME"}.get(agent, "")
    folder = env.get(override) or os.path.join(_home(env), f".{agent}")
    return os.path.join(folder, name)


def codex_config_path(env: Mapping[str, str]) -> str:
    """Codex's user config, where ``[features] codex_hooks = true`` goes."""
    return os.path.join(env.get("CODEX_HOME") or os.path.join(_home(env), ".codex"), "config.toml")


def _home(env: Mapping[str, str]) -> str:
    home = env.get("HOME")
    if not home:
        raise UsageError("HOME is not set: cannot find the agent's settings")
    return home


def hook_command(executable: str) -> str:
    """The command line a settings file runs: the ``tmms`` script beside ``executable``, else ``executable -m tmms``.

    Absolute, so the hook works when the agent's PATH has no tmms (another venv, a login shell).
    """
    script = os.path.join(os.path.dirname(os.path.abspath(executable)), "tmms")
    if os.path.isfile(script) and os.access(script, os.X_OK):
        return f"{shlex.quote(script)} hook"
    return f"{shlex.quote(os.path.abspath(executable))} -m tmms hook"


def is_ours(command: object) -> bool:
    """Whether a hook command is one tmms writes: ``[PATH/]tmms hook`` or ``[PATH/]python* -m tmms hook``."""
    if not isinstance(command, str):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if len(words) < 2 or words[-1] != "hook":
        return False
    program = os.path.basename(words[0])
    if len(words) == 2:
        return program == "tmms"
    return len(words) == 4 and words[1:3] == ["-m", "tmms"] and program.startswith("python")


def handler(agent: str, command: str) -> dict[str, Any]:
    """One hook handler as ``agent`` takes it."""
    if agent == "gemini":
        return {"name": "tmms", "type": "command", "command": command, "timeout": TIMEOUT_S * 1000}
    return {"type": "command", "command": command, "timeout": TIMEOUT_S}


def groups(agent: str, command: str) -> dict[str, list[dict[str, Any]]]:
    """The groups tmms adds, by event."""
    added: dict[str, list[dict[str, Any]]] = {}
    for event, matcher in EVENTS[agent]:
        group: dict[str, Any] = {"matcher": matcher} if matcher else {}
        group["hooks"] = [handler(agent, command)]
        added.setdefault(event, []).append(group)
    return added


def install(settings: Mapping[str, Any], agent: str, command: str) -> dict[str, Any]:
    """``settings`` with tmms's groups for ``agent`` (a copy); an event whose tmms groups are already right is left."""
    result = _copy(settings)
    result.setdefault("hooks", {})
    hooks = _hooks_of(result)
    assert hooks is not None
    for event, wanted in groups(agent, command).items():
        entries = hooks.setdefault(event, [])
        if not isinstance(entries, list):
            raise ConfigError(f"hooks.{event} is not a list")
        if [g for g in entries if _has_ours(g)] == wanted:
            continue
        entries[:] = _without_ours(entries)
        entries.extend(wanted)
    return result


def uninstall(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` without tmms's hook handlers (a copy); groups, events and ``hooks`` they leave empty go too."""
    result = _copy(settings)
    hooks = _hooks_of(result)
    if hooks is None:
        return result
    for event in list(hooks):
        entries = hooks[event]
        if not isinstance(entries, list) or not any(_has_ours(g) for g in entries):
            continue
        entries[:] = _without_ours(entries)
        if not entries:
            del hooks[event]
    if not hooks:
        del result["hooks"]
    return result


def count_ours(settings: Mapping[str, Any]) -> int:
    """How many tmms hook handlers ``settings`` holds."""
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return 0
    return sum(_is_our_handler(h) for entries in hooks.values() if isinstance(entries, list)
               for g in entries if isinstance(g, dict) and isinstance(g.get("hooks"), list) for h in g["hooks"])


def _copy(settings: Mapping[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(settings))
    return copied


def _hooks_of(settings: dict[str, Any]) -> dict[str, Any] | None:
    """The ``hooks`` object (None when missing); refused when it is something else."""
    if "hooks" not in settings:
        return None
    hooks = settings["hooks"]
    if not isinstance(hooks, dict):
        raise ConfigError("the key 'hooks' is not an object")
    return hooks


def _is_our_handler(handler: object) -> bool:
    return isinstance(handler, dict) and handler.get("type", "command") == "command" and is_ours(handler.get("command"))


def _has_ours(group: object) -> bool:
    return (isinstance(group, dict) and isinstance(group.get("hooks"), list)
            and any(map(_is_our_handler, group["hooks"])))


def _without_ours(entries: list[Any]) -> list[Any]:
    """The groups without tmms's handlers; a group left with no handler goes."""
    kept = []
    for group in entries:
        if not _has_ours(group):
            kept.append(group)
            continue
        rest = [h for h in group["hooks"] if not _is_our_handler(h)]
        if rest:
            kept.append({**group, "hooks": rest})
    return kept


# -- the files ----------------------------------------------------------------------------------------


def read_text(path: str) -> str | None:
    """A settings file's text; None when it does not exist. ConfigError when it cannot be read as UTF-8."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a file", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read it: {exc.strerror or exc}", path) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"larger than {MAX_BYTES} bytes", path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path) from None


def parse_json(text: str | None, path: str) -> dict[str, Any]:
    """The settings object in ``text`` (an empty or missing file: {}); ConfigError when it is not a JSON object."""
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"not valid JSON ({exc}); nothing was changed", path) from None
    if not isinstance(data, dict):
        raise ConfigError("not a JSON object; nothing was changed", path)
    return data


def dump_json(settings: Mapping[str, Any]) -> str:
    """The settings as a file's text: 2-space indent, keys in their order, non-ASCII kept, a final newline."""
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


def unified_diff(path: str, old: str | None, new: str) -> str:
    """A unified diff from ``old`` (None: no file) to ``new``; '' when they are equal."""
    import difflib

    before = [] if old is None else (old if old.endswith("\n") or not old else old + "\n").splitlines(keepends=True)
    lines = difflib.unified_diff(before, new.splitlines(keepends=True),
                                 fromfile="/dev/null" if old is None else path, tofile=path)
    return "".join(lines)


def write_text(path: str, text: str) -> None:
    """Replace the file at ``path`` (through a symlink: the link stays) in one rename, keeping its mode (new: 0600)."""
    from .store import replace_whole

    real = os.path.realpath(path)
    folder = os.path.dirname(real)
    try:
        try:
            mode = os.stat(real).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o600
            os.makedirs(folder, mode=0o700, exist_ok=True)
        replace_whole(real, text.encode("utf-8"), os.path.join(folder, f".{os.path.basename(real)}.tmms-{os.getpid()}"))
        os.chmod(real, mode)
    except OSError as exc:
        raise StorageError.from_os(path, exc) from None


# -- Codex's feature flag -----------------------------------------------------------------------------

_FEATURES = re.compile(r"^\s*\[\s*features\s*\]\s*(#.*)?$")
_TABLE = re.compile(r"^\s*\[")
_FLAG = re.compile(r"^\s*codex_hooks\s*=")
FLAG_LINE = "codex_hooks = true"


def codex_flag(text: str | None, path: str) -> bool:
    """Whether Codex's config ``text`` sets ``[features] codex_hooks = true``; ConfigError when it is not valid TOML."""
    import tomllib

    try:
        data = tomllib.loads(text or "")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", path) from None
    features = data.get("features")
    return isinstance(features, dict) and features.get("codex_hooks") is True


def with_codex_flag(text: str | None, path: str) -> str:
    """``text`` with ``codex_hooks = true`` in its ``[features]`` table (made at the end when missing), the rest kept.

    The result is parsed again: when the edit did not give a valid file with the flag on (a key
    defined in another way), ConfigError, and the file must be edited by hand.
    """
    codex_flag(text, path)  # refuses a file that is not TOML to begin with
    lines = (text or "").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, line in enumerate(lines) if _FEATURES.match(line)), None)
    if start is None:
        lines += (["\n"] if any(line.strip() for line in lines) else []) + ["[features]\n", FLAG_LINE + "\n"]
    else:
        end = next((j for j in range(start + 1, len(lines)) if _TABLE.match(lines[j])), len(lines))
        key = next((j for j in range(start + 1, end) if _FLAG.match(lines[j])), None)
        if key is None:
            lines.insert(start + 1, FLAG_LINE + "\n")
        else:
            lines[key] = FLAG_LINE + "\n"
    edited = "".join(lines)
    try:
        ok = codex_flag(edited, path)
    except ConfigError:
        ok = False
    if not ok:
        raise ConfigError(f"cannot add '{FLAG_LINE}' under [features] by a text edit; add it by hand", path)
    return edited

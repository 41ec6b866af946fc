"""Agent kinds as data: the shipped ``agents.yml``, extended by the user's, validated into ``Agent`` records.

An ``Agent`` says how to find an agent CLI among a pane's processes, read its screen (composer,
placeholder, busy and menu patterns) and type into it (paste mode, submit key, delays, rescue steps).
The shipped file is read once per process; the user's ``$XDG_CONFIG_HOME/tmms/agents.yml`` (default
``~/.config/tmms/agents.yml``) is read again only when it changes. Every problem is one ConfigError
line that names the file, the kind and the key.
"""

from __future__ import annotations

import difflib
import itertools
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from .errors import ConfigError, UsageError


class Agent(NamedTuple):
    """One agent kind: how to find it, read its screen and type into it."""

    kind: str
    processes: tuple[str, ...]
    hooks: bool
    composer: re.Pattern[str] | None
    placeholder: tuple[re.Pattern[str], ...]
    busy: tuple[re.Pattern[str], ...]
    menu: tuple[re.Pattern[str], ...]
    paste: str
    submit: str
    enter_delay: float
    verify: tuple[float, ...]
    rescue: tuple[str, ...]
    escape_cancels: bool
    lines: int


KINDS: tuple[str, ...] = ("claude", "codex", "gemini", "aider", "opencode")
"""The kinds the shipped file defines."""
KEYS: tuple[str, ...] = Agent._fields[1:]
PASTE_MODES = ("bracketed", "literal", "auto")
SUBMIT_KEYS = ("Enter", "C-m", "CR")
RESCUE_KEYS = ("Enter", "C-m", "CR", "C-j", "Escape")
MAX_DELAY = 10.0
MAX_LINES = 200
MAX_ITEMS = 64
MAX_PATTERN = 1000
RESERVED = ("none",)
"""Not a kind: ``register --agent none`` clears the pane's kind."""
DEFAULTS: Mapping[str, Any] = {
    "processes": [], "hooks": False, "placeholder": [], "busy": [], "menu": [], "paste": "auto",
    "submit": "Enter", "enter_delay": 0.3, "verify": [0.3, 1.0], "rescue": [], "escape_cancels": True,
    "lines": 15,
}
"""What a new kind gets for a key it leaves out (``composer`` has no default: a new kind must give it)."""

_KIND_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_PROCESS_NAME = re.compile(r"[^\s\x00/]+|@[^\s\x00/]+/[^\s\x00/]+")
_shipped: tuple[dict[str, dict[str, Any]], dict[str, Agent]] | None = None
_user: tuple[tuple[str, int, int, int, int], dict[str, Agent]] | None = None


def user_file(env: Mapping[str, str]) -> str:
    """``$XDG_CONFIG_HOME/tmms/agents.yml`` (default ``~/.config/tmms/agents.yml``)."""
    base = env.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".config")
    return os.path.join(base, "tmms", "agents.yml")


def load_agents(env: Mapping[str, str]) -> dict[str, Agent]:
    """Every kind: the shipped ones, with the user's file laid over them key by key."""
    global _user
    raw, agents = _shipped_kinds()
    path = user_file(env)
    try:
        st = os.stat(path)
    except OSError:
        return dict(agents)
    key = (path, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    if _user is not None and _user[0] == key:
        return dict(_user[1])
    merged = dict(agents)
    for kind, values in _user_kinds(path).items():
        base = raw.get(kind)
        if base is None and "composer" not in values:
            raise ConfigError(f"{kind}: a new agent kind must give 'composer' (a regex, or null)", path)
        merged[kind] = build(kind, {**(base or DEFAULTS), **values}, path)
    _user = (key, merged)
    return dict(merged)


def agent_of(kind: str, env: Mapping[str, str]) -> Agent:
    """The kind named ``kind``; UsageError naming the known kinds (and the nearest one) when none is."""
    agents = load_agents(env)
    if kind in agents:
        return agents[kind]
    near = difflib.get_close_matches(kind, list(agents), n=1)
    hint = f"did you mean '{near[0]}'? " if near else ""
    raise UsageError(f"unknown agent kind '{kind}'; {hint}known kinds: {', '.join(agents)}")


def shipped_file() -> str:
    """The path of the ``agents.yml`` that ships with tmms."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "agents.yml")


def _shipped_kinds() -> tuple[dict[str, dict[str, Any]], dict[str, Agent]]:
    """The shipped file's raw kinds and their records, read once per process."""
    global _shipped
    if _shipped is None:
        import yaml

        path = shipped_file()
        with open(path, encoding="utf-8") as handle:
            # our own file: libyaml when present (the user's file gets the pure-Python loader)
            data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        raw = _kinds(data, path)
        _shipped = (raw, {kind: build(kind, {**DEFAULTS, **values}, path) for kind, values in raw.items()})
    return _shipped


def _user_kinds(path: str) -> dict[str, dict[str, Any]]:
    """The kinds of the user's file, read as ``config.py`` reads the config: bounded, never a FIFO,
    the pure-Python safe loader (libyaml's overflows the C stack on deep nesting)."""
    from .config import load_yaml, read_config

    return _kinds(load_yaml(read_config(path), path, "agents file"), path)


def _kinds(data: object, path: str) -> dict[str, dict[str, Any]]:
    """The top level: a mapping of kind names to mappings of known keys."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"the agents file must map kind names to settings, not a {type(data).__name__}", path)
    kinds: dict[str, dict[str, Any]] = {}
    for kind, values in data.items():
        if not isinstance(kind, str) or not _KIND_NAME.fullmatch(kind) or kind in RESERVED:
            raise ConfigError(f"{_show(kind)} is not a kind name (a-z, 0-9, '_', '-'; not 'none')", path)
        if not isinstance(values, dict):
            raise ConfigError(f"{kind}: its settings must be a mapping of keys, not {_show(values)}", path)
        for key in values:
            if key not in KEYS:
                near = difflib.get_close_matches(str(key), KEYS, n=1)
                hint = f" (did you mean '{near[0]}'?)" if near else f"; the keys are: {', '.join(KEYS)}"
                raise ConfigError(f"{kind}: unknown key {_show(key)}{hint}", path)
        kinds[kind] = values
    return kinds


def build(kind: str, values: Mapping[str, Any], path: str) -> Agent:
    """Validate one kind's settings (every key given) into an ``Agent``."""
    def where(key: str) -> str:
        return f"{kind}: {key}"

    composer = values["composer"]
    processes = _items(where("processes"), values["processes"], path)
    return Agent(
        kind=kind,
        processes=tuple(_process(where("processes"), p, path) for p in processes),
        hooks=_flag(where("hooks"), values["hooks"], path),
        composer=None if composer is None else _composer(where("composer"), composer, path),
        placeholder=_patterns(where("placeholder"), values["placeholder"], path),
        busy=_patterns(where("busy"), values["busy"], path),
        menu=_patterns(where("menu"), values["menu"], path),
        paste=_choice(where("paste"), values["paste"], PASTE_MODES, path),
        submit=_choice(where("submit"), values["submit"], SUBMIT_KEYS, path),
        enter_delay=_seconds(where("enter_delay"), values["enter_delay"], path),
        verify=_verify(where("verify"), values["verify"], path),
        rescue=_rescue(where("rescue"), values["rescue"], path),
        escape_cancels=_flag(where("escape_cancels"), values["escape_cancels"], path),
        lines=_lines(where("lines"), values["lines"], path),
    )


def _items(where: str, value: object, path: str) -> list[Any]:
    """A list value (one scalar counts as a list of one; null as none)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_ITEMS:
        raise ConfigError(f"{where}: at most {MAX_ITEMS} entries", path)
    return items


def _process(where: str, value: object, path: str) -> str:
    if not isinstance(value, str) or len(value) > 100 or not _PROCESS_NAME.fullmatch(value):
        raise ConfigError(f"{where}: {_show(value)} is not a process or package name", path)
    return value


def _compile(where: str, value: object, path: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value or len(value) > MAX_PATTERN:
        raise ConfigError(f"{where}: {_show(value)} is not a regex (a string of 1 to {MAX_PATTERN} characters)", path)
    try:
        return re.compile(value)
    except re.error as exc:
        raise ConfigError(f"{where}: bad regex {_show(value)}: {exc}", path) from None


def _composer(where: str, value: object, path: str) -> re.Pattern[str]:
    pattern = _compile(where, value, path)
    if "text" not in pattern.groupindex:
        raise ConfigError(f"{where}: the regex needs a group named 'text' (?P<text>...) for what is typed", path)
    return pattern


def _patterns(where: str, value: object, path: str) -> tuple[re.Pattern[str], ...]:
    return tuple(_compile(f"{where}[{i}]", v, path) for i, v in enumerate(_items(where, value, path)))


def _flag(where: str, value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, not {_show(value)}", path)
    return value


def _choice(where: str, value: object, allowed: Sequence[str], path: str) -> str:
    if value not in allowed:
        near = difflib.get_close_matches(str(value), allowed, n=1) if isinstance(value, str) else []
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise ConfigError(f"{where} must be one of {', '.join(allowed)}, not {_show(value)}{hint}", path)
    return str(value)


def _seconds(where: str, value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_DELAY:
        raise ConfigError(f"{where} must be a number of seconds from 0 to {MAX_DELAY:g}, not {_show(value)}", path)
    return float(value)


def _verify(where: str, value: object, path: str) -> tuple[float, ...]:
    times = tuple(_seconds(where, v, path) for v in _items(where, value, path))
    if not times or any(b <= a for a, b in itertools.pairwise(times)):
        raise ConfigError(f"{where} must be one or more times in seconds, rising (such as [0.1, 0.5])", path)
    return times


def _rescue(where: str, value: object, path: str) -> tuple[str, ...]:
    steps = [parse_step(f"{where}[{i}]", v, path) for i, v in enumerate(_items(where, value, path))]
    escapes = [i for i, (name, _) in enumerate(steps) if name == "Escape"]
    if len(escapes) > 1:
        raise ConfigError(f"{where}: at most one Escape (a double Escape opens Claude Code's Rewind menu)", path)
    if escapes and (escapes[0] == 0 or steps[escapes[0] - 1][0] != "confirm"):
        raise ConfigError(f"{where}: Escape only right after a 'confirm S' step (it would cancel a turn "
                          "that started meanwhile)", path)
    return tuple(name if name in RESCUE_KEYS else f"{name} {seconds:g}" for name, seconds in steps)


def parse_step(where: str, step: object, path: str = "") -> tuple[str, float]:
    """One rescue step as (name, seconds): ("wait", S), ("confirm", S), or (a key, 0.0)."""
    if isinstance(step, str):
        words = step.split()
        if len(words) == 1 and words[0] in RESCUE_KEYS:
            return words[0], 0.0
        if len(words) == 2 and words[0] in ("wait", "confirm"):
            try:
                seconds = float(words[1])
            except ValueError:
                seconds = -1.0
            if 0 <= seconds <= MAX_DELAY:
                return words[0], seconds
    raise ConfigError(f"{where}: {_show(step)} is not a step: 'wait S', 'confirm S' (S: 0 to {MAX_DELAY:g} "
                      f"seconds) or one of the keys {', '.join(RESCUE_KEYS)}", path or None)


def _lines(where: str, value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LINES:
        raise ConfigError(f"{where} must be a whole number from 1 to {MAX_LINES}, not {_show(value)}", path)
    return value


def _show(value: object) -> str:
    """A value for an error line: short scalars as written, anything else by its type."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"a {type(value).__name__}"

"""Server config: discovery in TMMS's order, loading, validation and the ``init`` template."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, FileExists, StorageError
from .paths import data_dir, expand

if TYPE_CHECKING:
    from .hosts.settings import Hosts

MAX_BYTES = 1024 * 1024
DISCOVERY = ("~/.tmms.yml", "~/.tmms/config.yml", "~/.config/tmms/config.yml")
DEFAULT_OUTPUT = "~/.config/tmms/config.yml"

TEMPLATE = """\
# tmms server configuration (the keys of TMMS 0.1.1 work unchanged)

# Seconds between full scans of every outbox and inbox. tmms delivers on file events within
# milliseconds; this scan is the safety net for missed events and new panes.
polling_interval: 10

# Messages with an unknown or missing recipient, or that cannot be parsed, go here together
# with a .reason.json file that says why.
dead_letter_dir: {dead_letter_dir}

# Seconds a notify command may run before its whole process group is killed.
notify_timeout: 30

# How many notify commands may run at once.
notify_concurrency: 8

# 0 runs a message's notify command once. A number of seconds repeats it, like TMMS does on
# every polling cycle, for as long as the message stays unread in the inbox.
notify_repeat_interval: 0

# Messages larger than this many bytes go to dead letter (0: no limit).
max_message_bytes: 67108864

# The quiet period: seconds an outbox file written in place (not renamed in whole, as tmms post
# does) must stay unchanged before it is routed, and an unparseable one before it goes to dead
# letter (a writer may still be filling it in).
settle_seconds: 2

# Seconds a message for an unknown recipient waits for a pane with that @tmms_name (one may be
# registered just after the post) before it goes to dead letter.
recipient_grace_seconds: 2
"""


@dataclass(frozen=True)
class Config:
    """The server's settings with TMMS's defaults."""

    polling_interval: float = 60.0
    dead_letter_dir: str = field(default_factory=lambda: default_dead_letter())
    notify_timeout: float = 30.0
    notify_concurrency: int = 8
    notify_repeat_interval: float = 0.0
    max_message_bytes: int = 64 * 1024 * 1024
    settle_seconds: float = 2.0
    source: str | None = None
    warnings: tuple[str, ...] = ()
    recipient_grace_seconds: float = 2.0  # last, so positional construction keeps working
    hosts: Hosts = field(default_factory=lambda: _no_hosts())  # hosts:, accept_from:, host_name:, link_idle_seconds:
    alert_seconds: float = 4.0  # how long tmms alert's message stays up (0: until a key is pressed)


def _no_hosts() -> Hosts:
    from .hosts.settings import Hosts

    return Hosts()


_NUMBERS: dict[str, tuple[type, float, bool]] = {
    # key: (type, minimum, minimum allowed)
    "polling_interval": (float, 0.0, False),
    "notify_timeout": (float, 0.0, False),
    "notify_concurrency": (int, 1, True),
    "notify_repeat_interval": (float, 0.0, True),
    "max_message_bytes": (int, 0, True),
    "settle_seconds": (float, 0.0, True),
    "recipient_grace_seconds": (float, 0.0, True),
    "alert_seconds": (float, 0.0, True),
}


def discover(env: Mapping[str, str] | None = None) -> str | None:
    """The first config file that exists, in TMMS's search order."""
    for candidate in DISCOVERY:
        path = expand(candidate, env)
        if os.path.isfile(path):
            return path
    return None


def load(path: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load ``path`` (or the discovered file); built-in defaults when there is none."""
    env = os.environ if env is None else env
    if path is None:
        path = discover(env)
        if path is None:
            return Config(dead_letter_dir=default_dead_letter(env))
    else:
        path = expand(path, env)
    return parse(read_config(path), path, env)


def read_config(path: str) -> bytes:
    """The bytes of a config file (symlinks followed); never blocks on a FIFO, never reads a device."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError("config file not found", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"cannot read config: it is {_kind(st.st_mode)}, not a file", path)
        if st.st_size > MAX_BYTES:
            raise ConfigError(f"config is larger than {MAX_BYTES // 1024} KiB", path)
        return os.read(fd, MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path) from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    from .store import kind_of

    return kind_of(mode)


def load_yaml(raw: bytes, path: str, what: str = "config") -> object:
    """The data of a user's YAML file (the config, agents.yml); every problem is one ConfigError line.

    The pure-Python loader: deep nesting raises RecursionError where libyaml's overflows the C stack.
    """
    import yaml

    try:
        return yaml.load(raw.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise ConfigError(f"{what} is not UTF-8 text", path) from None
    except yaml.YAMLError as exc:
        raise ConfigError("malformed YAML: " + " ".join(str(exc).split())[:300], path) from None
    except RecursionError:
        raise ConfigError("malformed YAML: nested too deeply", path) from None
    except ValueError as exc:  # such as an integer of more than 4,300 digits
        raise ConfigError(f"malformed YAML: {str(exc)[:200]}", path) from None


def parse(raw: bytes, path: str, env: Mapping[str, str]) -> Config:
    """Validate config text; every problem is a ConfigError naming the key."""
    data = load_yaml(raw, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config must be a mapping of keys, not a {type(data).__name__}", path)
    values: dict[str, Any] = {}
    warnings: list[str] = []
    _hosts_section(data, values, path)
    for key, value in data.items():
        if key == "dead_letter_dir":
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                raise ConfigError("dead_letter_dir must be a path", path)
            values[key] = os.path.abspath(expand(value, env))
        elif key in _NUMBERS:
            values[key] = _number(key, value, path)
        elif key in _HOSTS_KEYS:
            continue
        else:
            warnings.append(_unknown_key(key, path))
    values.setdefault("dead_letter_dir", default_dead_letter(env))
    return Config(**values, source=path, warnings=tuple(warnings))


_HOSTS_KEYS = ("hosts", "accept_from", "host_name", "link_idle_seconds")  # hosts.settings.KEYS, without the import


def _hosts_section(data: dict[Any, Any], values: dict[str, Any], path: str) -> None:
    """The settings for mail across hosts, when the config has any (TMMS 0.1.1 ignores these keys)."""
    if not any(key in data for key in _HOSTS_KEYS):
        return
    from .hosts.settings import parse as parse_hosts

    try:
        values["hosts"] = parse_hosts({key: data[key] for key in _HOSTS_KEYS if key in data})
    except ValueError as exc:
        raise ConfigError(str(exc), path) from None


def known_keys() -> list[str]:
    """Every key a config file may hold."""
    return ["dead_letter_dir", *_NUMBERS, *_HOSTS_KEYS]


def _unknown_key(key: object, path: str) -> str:
    """The warning for a key tmms does not know; a ConfigError when it is a near miss of one it does.

    A key close to a known one is a typo whose value would be silently dropped (the default used
    instead), so the server refuses it; a key far from every known one (another tool's, a later
    TMMS's) is only ignored, as TMMS ignores it.
    """
    import difflib

    near = difflib.get_close_matches(str(key), known_keys(), n=1, cutoff=KEY_TYPO_CUTOFF)
    if near:
        raise ConfigError(f"unknown key {_show(key)}; did you mean '{near[0]}'?", path)
    return f"{path}: unknown key '{key}' ignored"


KEY_TYPO_CUTOFF = 0.8  # difflib ratio: polling_intervall 0.97, max_msg_bytes 0.87; notify_cmd 0.67 (a pane option)


def _number(key: str, value: object, path: str) -> float | int:
    kind, minimum, inclusive = _NUMBERS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key} must be a number, not {_show(value)}", path)
    if kind is int and not float(value).is_integer():
        raise ConfigError(f"{key} must be a whole number, not {value!r}", path)
    ok = value >= minimum if inclusive else value > minimum
    if not ok:
        bound = f">= {minimum}" if inclusive else f"> {minimum}"
        raise ConfigError(f"{key} must be {bound}, not {value!r}", path)
    return int(value) if kind is int else float(value)


def _show(value: object) -> str:
    """A value for an error line: short scalars as written, anything else by its type (an alias
    bomb's repr would never end)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"a {type(value).__name__}"


def default_dead_letter(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_DATA_HOME/tmms/dead_letter`` (``~/.local/share/tmms/dead_letter``), absolute."""
    return os.path.join(data_dir(env), "dead_letter")


def template_text(env: Mapping[str, str] | None = None) -> str:
    """The init template, with the dead-letter folder as an absolute path (TMMS 0.1.1 does not expand ``~``)."""
    return TEMPLATE.replace("{dead_letter_dir}", default_dead_letter(env))


def write_template(output: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Write the default config to ``output``; create parents; refuse to overwrite."""
    from . import store

    path = os.path.abspath(expand(output or DEFAULT_OUTPUT, env))
    try:
        store.ensure_dir(os.path.dirname(path))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, store.FILE_MODE)
        os.fchmod(fd, store.FILE_MODE)
    except FileExistsError:
        raise FileExists(path) from None
    except OSError as exc:
        raise StorageError.from_os(path, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(template_text(env))
    except OSError as exc:
        os.unlink(path)
        raise StorageError.from_os(path, exc) from None
    return path

"""The config's sections for mail across hosts: ``hosts:``, ``accept_from:``, ``host_name:``,
``link_idle_seconds:`` (TMMS 0.1.1 reads only its own keys and ignores these)."""

from __future__ import annotations

from dataclasses import dataclass

from .address import host_problem

KEYS = ("hosts", "accept_from", "host_name", "link_idle_seconds")
IDLE_SECONDS = 300.0
_HOST_KEYS = ("ssh", "ssh_options", "tmux_socket_name", "tmux_socket_path", "command")


@dataclass(frozen=True)
class Host:
    """How to reach one host: the ssh destination, extra ssh options, the remote tmux and tmms."""

    name: str
    ssh: str = ""  # the destination ('' : the name itself)
    ssh_options: tuple[str, ...] = ()
    tmux_socket_name: str = ""
    tmux_socket_path: str = ""
    command: str = ""  # the remote tmms ('' : tmms)

    @property
    def destination(self) -> str:
        """What ssh connects to."""
        return self.ssh or self.name


@dataclass(frozen=True)
class Hosts:
    """Every setting about other hosts (all optional)."""

    host_name: str = ""
    named: tuple[Host, ...] = ()  # the hosts: section (a tuple: a Config stays hashable)
    accept_from: tuple[str, ...] | None = None  # None: any host name a link declares
    link_idle_seconds: float = IDLE_SECONDS

    @property
    def hosts(self) -> dict[str, Host]:
        """The hosts: section by name."""
        return {host.name: host for host in self.named}

    def host(self, name: str) -> Host:
        """The settings of ``name`` (defaults for a host the config does not name)."""
        return next((host for host in self.named if host.name == name), None) or Host(name)

    def accepts(self, name: str) -> bool:
        """Whether a link may deliver as host ``name``."""
        return self.accept_from is None or name in self.accept_from


def parse(data: dict[str, object]) -> Hosts:
    """The hosts settings among a config's keys; ValueError (naming the key) for a bad value."""
    values: dict[str, object] = {}
    if data.get("host_name") is not None:
        values["host_name"] = _name(data["host_name"], "host_name")
    if data.get("link_idle_seconds") is not None:
        idle = data["link_idle_seconds"]
        if isinstance(idle, bool) or not isinstance(idle, (int, float)) or idle <= 0:
            raise ValueError("link_idle_seconds must be a number > 0")
        values["link_idle_seconds"] = float(idle)
    if data.get("accept_from") is not None:
        accept = data["accept_from"]
        if isinstance(accept, str):
            accept = [accept]
        if not isinstance(accept, list):
            raise ValueError("accept_from must be a list of host names")
        values["accept_from"] = tuple(_name(item, "accept_from") for item in accept)
    if data.get("hosts") is not None:
        hosts = data["hosts"]
        if not isinstance(hosts, dict):
            raise ValueError("hosts must be a mapping of host names to settings")
        values["named"] = tuple(_host(_name(name, "hosts"), spec) for name, spec in hosts.items())
    return Hosts(**values)  # type: ignore[arg-type]


def _name(value: object, key: str) -> str:
    if not isinstance(value, str) or host_problem(value):
        problem = host_problem(value) if isinstance(value, str) else f"not a name: {type(value).__name__}"
        raise ValueError(f"{key}: {problem}")
    return value


def _host(name: str, spec: object) -> Host:
    if spec is None:
        return Host(name)
    if not isinstance(spec, dict):
        raise ValueError(f"hosts: {name}: settings must be a mapping ({', '.join(_HOST_KEYS)})")
    unknown = [str(key) for key in spec if key not in _HOST_KEYS]
    if unknown:
        raise ValueError(f"hosts: {name}: unknown key '{unknown[0][:40]}' (known: {', '.join(_HOST_KEYS)})")
    values: dict[str, object] = {}
    for key in ("ssh", "tmux_socket_name", "tmux_socket_path", "command"):
        value = spec.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"hosts: {name}: {key} must be text")
        values[key] = value
    if values.get("ssh") and host_problem(str(values["ssh"])):
        raise ValueError(f"hosts: {name}: ssh: {host_problem(str(values['ssh']))}")
    options = spec.get("ssh_options")
    if options is not None:
        if isinstance(options, str):
            import shlex

            options = shlex.split(options)
        if not isinstance(options, list) or not all(isinstance(item, str) for item in options):
            raise ValueError(f"hosts: {name}: ssh_options must be a list of ssh arguments")
        values["ssh_options"] = tuple(options)
    return Host(name, **values)  # type: ignore[arg-type]

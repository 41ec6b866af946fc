"""Addresses across hosts: ``name@host``, ``@group@host``, ``*@host``; host names and their folders.

A host is an ssh destination as ``ssh`` takes it (``gpu-box``, ``me@gpu-box``, a ``hosts:``
name). The local part ends at the first ``@`` after an optional leading ``@`` (a group), so
``bob@me@gpu-box`` is ``bob`` on ``me@gpu-box``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from typing import NamedTuple

_SAFE_DIR = re.compile(r"[\w.@:+-]{1,100}")
MAX_HOST = 255


class Address(NamedTuple):
    """A remote address: its local part there (``bob``, ``@group``, ``*``) and the host."""

    local: str
    host: str

    def __str__(self) -> str:
        return f"{self.local}@{self.host}"


def split(address: str) -> Address | None:
    """The remote address ``address`` names, or None for a local one (no ``@host``)."""
    start = 1 if address.startswith("@") else 0
    at = address.find("@", start)
    if at <= start or at == len(address) - 1:
        return None
    return Address(address[:at], address[at + 1:])


def host_problem(host: str) -> str:
    """Why ``host`` cannot be an ssh destination ('' when it can): never an option, never odd bytes."""
    if not host:
        return "no host"
    if host.startswith("-"):
        return f"host '{host[:40]}' starts with '-' (ssh would take it for an option)"
    if len(host) > MAX_HOST:
        return f"host name longer than {MAX_HOST} characters"
    if any(c.isspace() or not c.isprintable() or c in "'\"\\`$;|&<>()" for c in host):
        return f"host '{host[:40]}' has a space, quote or control character"
    return ""


def folder_name(host: str) -> str:
    """The folder name of a host's spool: the name itself when it is plain, else a safe form and a digest."""
    if _SAFE_DIR.fullmatch(host) and not host.startswith("."):
        return host
    digest = hashlib.sha1(host.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return re.sub(r"[^\w.@+-]", "-", host)[:60].lstrip(".") + "~" + digest


def qualified(sender: str, host: str) -> str:
    """The sender as the receiving host shows it: ``alice@laptop`` (anything after an ``@`` dropped)."""
    return f"{sender.partition('@')[0] or 'unknown'}@{host}"


def this_host(env: Mapping[str, str] | None = None, configured: str = "") -> str:
    """The name this host gives itself in a hello: ``host_name`` from the config, else $TMMS_HOST,
    else the short host name."""
    env = os.environ if env is None else env
    name = configured or env.get("TMMS_HOST", "") or os.uname().nodename.split(".")[0]
    return name or "localhost"

"""Front matter: split it from the body, load it as data only, and rewrite tmms_ keys by text.

Keys that do not start with ``tmms_`` are never re-serialized: the author's text, order and
comments survive a merge byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import MessageError

SYSTEM_PREFIX = "tmms_"
_OPEN_FENCE = re.compile(r"---[ \t]*\r?\n?")
_ENGINE_FENCE = re.compile(r"---([A-Za-z][\w-]*)[ \t]*\r?$")
_CLOSE_FENCE = re.compile(r"(?:---|\.\.\.)[ \t]*\r?$")
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .\-/@%+,()]*")
_RESERVED_PLAIN = re.compile(
    r"(?i:y|n|yes|no|true|false|on|off|null|~)$"
    r"|[-+]?(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?$"
    r"|[-+]?0[xob][0-9a-fA-F_]+$"
    r"|[-+]?\d[\d_]*(:[0-5]?\d)+(\.\d*)?$"
    r"|\d{4}-\d\d?-\d\d?"
    r"|[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$"
)


@dataclass(frozen=True)
class Document:
    """A message file split into its front matter text (None when absent) and body."""

    front_matter: str | None
    body: str


def split(text: str) -> Document:
    """Split ``text`` at its ``---`` fences; an engine fence such as ``---js`` is refused."""
    if text.startswith("\ufeff"):
        text = text[1:]
    first_end = text.find("\n")
    first = text if first_end < 0 else text[:first_end]
    engine = _ENGINE_FENCE.match(first)
    if engine:
        raise MessageError(
            f"front matter language '{engine.group(1)}' is not supported (only YAML is read, never run)"
        )
    if not _OPEN_FENCE.fullmatch(first + ("\n" if first_end >= 0 else "")):
        return Document(None, text)
    pos = first_end + 1 if first_end >= 0 else len(text)
    start = pos
    while pos < len(text):
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        if _CLOSE_FENCE.match(line):
            body_start = len(text) if end < 0 else end + 1
            return Document(text[start:pos], text[body_start:])
        if end < 0:
            break
        pos = end + 1
    raise MessageError("front matter is not closed (no line '---' after the opening one)")


def load(front_matter: str | None) -> dict[str, Any]:
    """Load front matter as plain data: every scalar stays the string its author wrote."""
    if front_matter is None or not front_matter.strip():
        return {}
    import yaml

    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    try:
        data = yaml.load(front_matter, Loader=loader)
    except yaml.YAMLError as exc:
        raise MessageError(f"malformed YAML front matter: {_one_line(str(exc))}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MessageError(f"front matter is a {type(data).__name__}, not a mapping")
    return data


def without_system_keys(front_matter: str | None) -> str:
    """The front matter text with every top-level ``tmms_*`` entry removed, all else verbatim."""
    return _drop_keys(front_matter, lambda key: key.startswith(SYSTEM_PREFIX))[0]


def replace_key(front_matter: str, key: str, value: str) -> str:
    """Set one top-level key to a string value, in place of its old entry; other text verbatim."""
    text, at = _drop_keys(front_matter, lambda k: k == key)
    lines = text.splitlines(keepends=True)
    lines.insert(len(lines) if at is None else at, f"{key}: {scalar(value)}\n")
    return "".join(lines)


def _drop_keys(front_matter: str | None, doomed: Callable[[str], bool]) -> tuple[str, int | None]:
    """Remove the top-level entries whose key is doomed; return the text and the first cut line."""
    if front_matter is None or not front_matter.strip():
        return "", None
    import yaml

    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    try:
        root = yaml.compose(front_matter, Loader=loader)
    except yaml.YAMLError as exc:
        raise MessageError(f"malformed YAML front matter: {_one_line(str(exc))}") from None
    if root is None:
        return _with_newline(front_matter), None
    if not isinstance(root, yaml.MappingNode):
        raise MessageError("front matter is not a mapping")
    if root.flow_style:
        kept = {k: v for k, v in load(front_matter).items() if not doomed(str(k))}
        return (yaml.safe_dump(kept, sort_keys=False, allow_unicode=True) if kept else ""), None
    drop: set[int] = set()
    first_cut: int | None = None
    for key_node, value_node in root.value:
        if isinstance(key_node, yaml.ScalarNode) and doomed(str(key_node.value)):
            first = key_node.start_mark.line
            last = value_node.end_mark.line
            if value_node.end_mark.column == 0 and last > first:
                last -= 1
            drop.update(range(first, last + 1))
            if first_cut is None:
                first_cut = first - sum(1 for i in drop if i < first)
    lines = front_matter.splitlines(keepends=True)
    text = "".join(line for i, line in enumerate(lines) if i not in drop)
    return _with_newline(text), first_cut


def _with_newline(text: str) -> str:
    return text + "\n" if text and not text.endswith("\n") else text


def scalar(value: str) -> str:
    """Render a string as a YAML scalar that loads back as exactly that string."""
    plain = _PLAIN_SAFE.fullmatch(value) and not _RESERVED_PLAIN.match(value) and value == value.strip()
    if plain and ": " not in value and " #" not in value:
        return value
    import json

    return json.dumps(value, ensure_ascii=False)


def render(system: list[tuple[str, str | list[str]]], user_text: str, body: str) -> str:
    """Join generated ``tmms_*`` entries, the author's other front matter text and the body."""
    head = "".join(f"{key}: {_value(value)}\n" for key, value in system)
    return f"---\n{head}{user_text}---\n{body}"


def _value(value: str | list[str]) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(scalar(item) for item in value) + "]"
    return scalar(value)


def _one_line(text: str) -> str:
    return " ".join(text.split())

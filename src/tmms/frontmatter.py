"""Front matter: split it from the body, load it as data only, and rewrite tmms_ keys by text.

Keys that do not start with ``tmms_`` are never re-serialized: the author's text, order and
comments survive a merge byte for byte.

Front matter may be hostile, so it is bounded before YAML builds anything: at most MAX_CHARS
characters, MAX_DEPTH nested lists or mappings, MAX_NODES values, keys that are strings of at most
MAX_KEY_CHARS, and no aliases (``*name``) where data is loaded. The check streams parser events,
which takes no recursion; whatever it or YAML refuses is a MessageError with a one-line reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from .errors import MessageError

SYSTEM_PREFIX = "tmms_"
MAX_CHARS = 256 * 1024  # characters of front matter
MAX_DEPTH = 32  # lists and mappings nested in each other, the top mapping included
MAX_NODES = 20_000  # keys, values and list items
MAX_KEY_CHARS = 1024
_OPEN_FENCE = re.compile(r"---[ \t]*\r?\n?")
_ENGINE_FENCE = re.compile(r"---([A-Za-z][\w-]*)[ \t]*\r?$")
_CLOSE_FENCE_LINE = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .\-/@%+,()]*")
_RESERVED_PLAIN = re.compile(
    r"(?i:y|n|yes|no|true|false|on|off|null|~)$"
    r"|[-+]?(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?$"
    r"|[-+]?0[xob][0-9a-fA-F_]+$"
    r"|[-+]?\d[\d_]*(:[0-5]?\d)+(\.\d*)?$"
    r"|\d{4}-\d\d?-\d\d?"
    r"|[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$"
)
# What a double-quoted scalar must escape: the quote and backslash, characters YAML does not
# allow raw (C0 and C1 controls, DEL, U+FFFE/U+FFFF), those it reads as line breaks (NEL, LS, PS),
# the BOM, and lone surrogates (which UTF-8 cannot hold; they become U+FFFD).
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]')
_NAMED_ESCAPES = {
    "\x00": "\\0", "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
    "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\", "\x85": "\\N", "\u2028": "\\L",
    "\u2029": "\\P",
}
_KEEP_CHOMPING = re.compile(r"(?:[!&]\S*[ \t]+)*[|>](?:[1-9]?\+|\+[1-9])")  # after tag/anchor


class Document(NamedTuple):
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
    start = first_end + 1 if first_end >= 0 else len(text)
    close = _CLOSE_FENCE_LINE.search(text, start) if start < len(text) else None
    if close is None:
        raise MessageError("front matter is not closed (no line '---' after the opening one)")
    end = text.find("\n", close.end())
    return Document(text[start : close.start()], text[len(text) if end < 0 else end + 1 :])


def load(front_matter: str | None) -> dict[str, Any]:
    """Load front matter as plain data: every scalar stays the string its author wrote.

    Raises MessageError, and nothing else, for front matter that is malformed, not a mapping,
    over the bounds of this module, or that uses an alias.
    """
    if front_matter is None or not front_matter.strip():
        return {}
    _check_size(front_matter)
    simple = load_simple(front_matter)
    if simple is not None:
        if 2 * len(simple) + 1 > MAX_NODES:
            raise MessageError(f"front matter has more than {MAX_NODES} values")
        return simple
    data = _yaml(front_matter, compose=False)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MessageError(f"front matter is a {type(data).__name__}, not a mapping")
    return data


def _check_size(front_matter: str) -> None:
    if len(front_matter) > MAX_CHARS:
        raise MessageError(f"front matter is too long: {len(front_matter)} characters (at most {MAX_CHARS})")


def check_shape(front_matter: str, *, aliases: bool) -> None:
    """Refuse front matter over the bounds, without building it: parser events, counted iteratively.

    Aliases are refused unless ``aliases`` (text edits keep them as text; loading them is refused).
    """
    import yaml

    _check_size(front_matter)
    parser = None
    try:
        parser = getattr(yaml, "CBaseLoader", yaml.BaseLoader)(front_matter)  # Python's checks the text here
        _walk_events(parser, aliases)
    except MessageError:
        raise
    except Exception as exc:  # a parser error on hostile text is a bad message
        raise _bad_yaml(exc) from None
    finally:
        if parser is not None:
            parser.dispose()


def _walk_events(parser: Any, aliases: bool) -> None:
    """Count depth, values and key sizes over the parser's events; raise MessageError past a bound."""
    import yaml

    open_: list[int] = []  # per open collection: -1 for a list, else how many keys and values so far
    anchors: set[str] = set()
    nodes = 0
    while parser.check_event():
        event = parser.get_event()
        if isinstance(event, yaml.CollectionEndEvent):
            open_.pop()
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue
        nodes += 1
        if nodes > MAX_NODES:
            raise MessageError(f"front matter has more than {MAX_NODES} values")
        is_key = bool(open_) and open_[-1] >= 0 and open_[-1] % 2 == 0
        if open_ and open_[-1] >= 0:
            open_[-1] += 1
        if isinstance(event, yaml.AliasEvent):
            _check_alias(event.anchor or "", anchors, aliases)
            continue
        if event.anchor is not None:
            anchors.add(event.anchor)
        if is_key:
            _check_key(event)
        if isinstance(event, yaml.CollectionStartEvent):
            open_.append(-1 if isinstance(event, yaml.SequenceStartEvent) else 0)
            if len(open_) > MAX_DEPTH:
                raise MessageError(f"front matter is nested more than {MAX_DEPTH} levels deep")


def _check_alias(anchor: str, anchors: set[str], allowed: bool) -> None:
    if anchor not in anchors:
        raise MessageError(f"malformed YAML front matter: found undefined alias '{_one_line(anchor)[:64]}'")
    if not allowed:
        raise MessageError("front matter uses a YAML alias (*name); tmms refuses aliases in front matter")


def _check_key(event: Any) -> None:
    import yaml

    if not isinstance(event, yaml.ScalarEvent):
        raise MessageError("front matter has a key that is a list or a mapping; keys must be strings")
    if len(event.value) > MAX_KEY_CHARS:
        raise MessageError(f"front matter has a key of {len(event.value)} characters (at most {MAX_KEY_CHARS})")


def _bad_yaml(exc: BaseException) -> MessageError:
    """The MessageError for an exception YAML raised on front matter."""
    import yaml

    if isinstance(exc, yaml.YAMLError):
        return MessageError(f"malformed YAML front matter: {_one_line(str(exc))[:300]}")
    return MessageError(f"front matter cannot be read as YAML ({type(exc).__name__})")


_SIMPLE_LINE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*): (?:([A-Za-z0-9_][A-Za-z0-9_ .\-/@%+,()]*)|"((?:[^"\\]|\\.)*)")')
_SIMPLE_ESCAPES = {
    "0": "\x00", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", "e": "\x1b",
    " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def load_simple(front_matter: str) -> dict[str, str] | None:
    """The front matter tmms writes, read without YAML: ``key: plain`` or ``key: "quoted"`` lines.

    Anything else (comments, lists, block scalars, odd characters, a repeated key) returns None,
    and the caller loads it with YAML. For what it accepts, the result is what YAML's base loader
    gives (a property test holds the two to it); routing a burst spends most of its time there.
    """
    data: dict[str, str] = {}
    for line in front_matter.split("\n"):
        if not line:
            continue
        match = _SIMPLE_LINE.fullmatch(line)
        if match is None:
            return None
        key, plain, quoted = match.groups()
        if key in data or len(key) > 128:
            return None
        if plain is not None:
            if plain != plain.rstrip() or ": " in plain or " #" in plain:
                return None
            data[key] = plain
        else:
            value = _unquote(quoted)
            if value is None:
                return None
            data[key] = value
    return data or None


def _unquote(body: str) -> str | None:
    """The value of a one-line double-quoted scalar, or None when it is not plainly one."""
    if "\\" not in body:
        return body if body.isprintable() else None
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            if not ch.isprintable():
                return None
            out.append(ch)
            i += 1
            continue
        code = body[i + 1]
        if code in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[code])
            i += 2
        elif code in _HEX_ESCAPES:
            digits = body[i + 2 : i + 2 + _HEX_ESCAPES[code]]
            if len(digits) != _HEX_ESCAPES[code] or not all(c in "0123456789abcdefABCDEF" for c in digits):
                return None
            code_point = int(digits, 16)
            if 0xD800 <= code_point <= 0xDFFF or code_point > 0x10FFFF:
                return None  # YAML's loaders refuse a lone surrogate; no character lies past U+10FFFF
            char = chr(code_point)
            out.append(char)
            i += 2 + len(digits)
        else:
            return None
    return "".join(out)


def without_system_keys(front_matter: str | None) -> str:
    """The front matter text with every top-level ``tmms_*`` entry removed, all else verbatim."""
    return _drop_keys(front_matter, lambda key: key.startswith(SYSTEM_PREFIX))[0]


def replace_key(front_matter: str, key: str, value: str, *, newline: str | None = None) -> str:
    """Set one top-level key to a string value, in place of its old entry; other text verbatim.

    The new line ends with ``newline``, by default the front matter's own line ending.
    """
    eol = newline or line_ending(front_matter)
    text, at = _drop_keys(front_matter, lambda k: k == key)
    lines = text.splitlines(keepends=True)
    lines.insert(len(lines) if at is None else at, f"{key}: {scalar(value)}{eol}")
    return "".join(lines)


def line_ending(text: str, default: str = "\n") -> str:
    """The line ending of the first line of ``text`` (CRLF or LF), or ``default`` if it has none."""
    end = text.find("\n")
    if end < 0:
        return default
    return "\r\n" if end and text[end - 1] == "\r" else "\n"


def _yaml(front_matter: str, *, compose: bool) -> Any:
    """YAML's base loader on bounded front matter: the data, or with ``compose`` the node tree.

    Composing only edits text, so aliases are allowed there (never expanded); loading refuses them.
    """
    import yaml

    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    check_shape(front_matter, aliases=compose)
    try:
        return yaml.compose(front_matter, Loader=loader) if compose else yaml.load(front_matter, Loader=loader)
    except Exception as exc:  # whatever YAML raises on hostile text is a bad message
        raise _bad_yaml(exc) from None


def _drop_keys(front_matter: str | None, doomed: Callable[[str], bool]) -> tuple[str, int | None]:
    """Remove the top-level entries whose key is doomed; return the text and the first cut line."""
    if front_matter is None or not front_matter.strip():
        return "", None
    import yaml

    root = _yaml(front_matter, compose=True)
    if root is None:
        return _with_newline(front_matter), None
    if not isinstance(root, yaml.MappingNode):
        raise MessageError("front matter is not a mapping")
    if root.flow_style:
        kept = {k: v for k, v in load(front_matter).items() if not doomed(str(k))}
        return (yaml.safe_dump(kept, sort_keys=False, allow_unicode=True) if kept else ""), None
    lines = front_matter.splitlines(keepends=True)
    drop: set[int] = set()
    first_cut: int | None = None
    for key_node, value_node in root.value:
        if isinstance(key_node, yaml.ScalarNode) and doomed(str(key_node.value)):
            first = key_node.start_mark.line
            drop.update(range(first, _entry_end(lines, first, value_node) + 1))
            if first_cut is None:
                first_cut = first - sum(1 for i in drop if i < first)
    text = "".join(line for i, line in enumerate(lines) if i not in drop)
    return _with_newline(text, line_ending(front_matter)), first_cut


def _entry_end(lines: list[str], first: int, value: Any) -> int:
    """The last line of the entry whose key starts on line ``first``.

    That is the value's last line, then any comment lines indented deeper than the key (they
    annotate the value). A comment at the key's indentation or less, and blank lines not followed
    by such an indented comment, belong to the author's text that follows.
    """
    last = max(first, _content_end(lines, value))
    indent = _indentation(lines[first])
    for i in range(last + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped:
            continue
        if not stripped.startswith("#") or _indentation(lines[i]) <= indent:
            break
        last = i
    return last


def _content_end(lines: list[str], node: Any) -> int:
    """The last line holding part of a node (an alias gives its anchor's lines)."""
    if isinstance(node.value, list) and not node.flow_style and node.value:  # a block collection
        tail = node.value[-1]
        if isinstance(tail, tuple):  # a block mapping: (key, value)
            return max(_content_end(lines, tail[0]), _content_end(lines, tail[1]))
        return _content_end(lines, tail)
    start, end = node.start_mark, node.end_mark
    last: int = end.line - 1 if end.column == 0 and end.line > start.line else end.line
    if getattr(node, "style", None) in ("|", ">") and not _KEEP_CHOMPING.match(lines[start.line], start.column):
        while last > start.line and not lines[last].strip():  # blank lines after a clipped block scalar
            last -= 1
    return last


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _with_newline(text: str, eol: str = "\n") -> str:
    return text + eol if text and not text.endswith("\n") else text


def scalar(value: str, *, flow: bool = False) -> str:
    """Render a string as a YAML scalar that loads back as exactly that string.

    Simple safe values stay plain; everything else is double-quoted with YAML escapes, keeping
    printable Unicode readable. With ``flow`` the scalar stands inside ``[...]``, where a comma
    would end it. A lone surrogate, which no UTF-8 file can hold, becomes U+FFFD.
    """
    plain = _PLAIN_SAFE.fullmatch(value) and not _RESERVED_PLAIN.match(value) and value == value.strip()
    if plain and ": " not in value and " #" not in value and not (flow and "," in value):
        return value
    return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return f"\\x{code:02X}" if code < 0x100 else f"\\u{code:04X}"


def render(system: list[tuple[str, str | list[str]]], user_text: str, body: str) -> str:
    """Join generated ``tmms_*`` entries, the author's other front matter text and the body."""
    head = "".join(f"{key}: {_value(value)}\n" for key, value in system)
    return f"---\n{head}{user_text}---\n{body}"


def _value(value: str | list[str]) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(scalar(item, flow=True) for item in value) + "]"
    return scalar(value)


def _one_line(text: str) -> str:
    return " ".join(text.split())

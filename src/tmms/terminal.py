"""Text safe for a terminal: nothing a sender wrote reaches a screen as a control sequence.

A subject, a name, a body or a file name can hold escape sequences (ESC, CSI, OSC 52 clipboard
writes, OSC 0/2 titles, DCS), BEL, backspace, a carriage return that overwrites a line, C1
controls (U+0080-U+009F, including the 8-bit CSI U+009B), bidi controls that reorder a line,
invisible format characters (zero-width space, soft hyphen, the whole tag block, which smuggles
invisible text to a model reading the screen) and lone surrogates.
Each such character is shown as visible text instead: C0 controls and DEL in caret notation
(``^[``, ``^G``, ``^M``, ``^?``), every other one as ``<U+202E>``. Zero-width joiner and non-joiner
stay: emoji sequences and several scripts need them, and they move nothing.
"""

from __future__ import annotations

import re

KEPT_FORMAT = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner: text needs them
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_ONE_LINE_RUN = re.compile(r"[^\x20-\x7e]+")
_TEXT_RUN = re.compile(r"[^\t\n\x20-\x7e]+")
_JSON_RUN = re.compile(r"[^\x00-\x7e]+")


def is_unsafe(char: str) -> bool:
    """Whether a terminal may act on this character (a control, format, bidi or separator character)."""
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return True
    if code < 0xA0 or char.isprintable() or char in KEPT_FORMAT:
        return False
    if 0xE0000 <= code <= 0xE007F:  # the tag block, assigned or not: invisible text for whoever reads it
        return True
    import unicodedata

    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def shown(char: str) -> str:
    """The visible form of one character: ``^[`` for ESC, ``^?`` for DEL, ``<U+202E>`` for the rest."""
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


def _escape_run(run: str) -> str:
    if run.isprintable():
        return run
    return "".join(shown(char) if is_unsafe(char) else char for char in run)


def visible(text: str) -> str:
    """One line for a terminal: every unsafe character, newline and tab included, shown visibly."""
    if text.isascii() and text.isprintable():
        return text
    return _ONE_LINE_RUN.sub(lambda m: _escape_run(m.group()), text)


def visible_text(text: str) -> str:
    """Several lines for a terminal: as ``visible``, but newlines, tabs and CR LF line ends are kept.

    A carriage return that is not followed by a newline would overwrite the line; it is shown as ``^M``.
    """
    return _TEXT_RUN.sub(_text_run, text)


def _text_run(match: re.Match[str]) -> str:
    run = match.group()
    end = match.end()
    if run.endswith("\r") and end < len(match.string) and match.string[end] == "\n":
        return _escape_run(run[:-1]) + "\r"
    return _escape_run(run)


def json_visible(text: str) -> str:
    r"""JSON text with every unsafe character as a ``\uXXXX`` escape: the same values, nothing raw.

    ``json.dumps(..., ensure_ascii=False)`` escapes U+0000-U+001F but leaves DEL, C1 and bidi
    controls raw. Outside strings JSON text is ASCII, so every such character is inside a string.
    """
    return _JSON_RUN.sub(_json_run, text)


def _json_run(match: re.Match[str]) -> str:
    run = match.group()
    if run.isprintable():
        return run
    return "".join(_json_escape(char) if is_unsafe(char) else char for char in run)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

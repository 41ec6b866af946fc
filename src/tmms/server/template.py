"""Notify templates: ``${{var}}`` becomes a quoted reference to an environment variable.

The value itself never enters the command text, so nothing a sender writes (``$(...)``,
backticks, quotes, ``;``) is ever parsed by the shell. The reference is quoted to suit where it
stands: bare, inside double quotes, inside single quotes or inside ``$'...'``. To know where it
stands, the template is read as the shell would: quotes, ``$(...)`` (with ``case`` patterns,
whose ``)`` does not end it), backticks, ``$((...))`` and ``#`` comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_VAR = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_WORD_END = frozenset(" \t\n;&|()<>")
_COMMAND_PREFIXES = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# What opens a new context, longest first: M $((...)), C $(...), A $'...', B `...`, S '...', D "..."
_OPENERS = (("$((", "M"), ("$(", "C"), ("$'", "A"), ("`", "B"), ("'", "S"), ('"', "D"))
VARIABLES = ("filepath", "tmms_id", "tmms_from", "tmms_to", "tmms_subject", "tmms_thread_id")


def env_name(variable: str) -> str:
    """The environment variable that carries ``${{variable}}``: ``tmms_from`` → ``TMMS_FROM``."""
    stem = variable[5:] if variable.startswith("tmms_") else variable
    return "TMMS_" + re.sub(r"[^A-Za-z0-9_]", "_", stem).upper()


def expand(template: str) -> str:
    """Rewrite every ``${{var}}`` as a shell-safe reference to its environment variable."""
    return _Scanner(template).run()


@dataclass
class _Frame:
    """One quoting context of the shell text being read, and what it needs to know to end."""

    context: str  # N unquoted, D "...", S '...', A $'...', B `...`, M $((...))
    substitution: bool = False  # opened by $( : its own ')' at depth 0 ends it
    depth: int = 0  # '(' opened inside this frame and not yet closed
    word: str = ""  # the unquoted word being read, raw
    plain: bool = True  # that word has no quoted, escaped or substituted part (so may be a keyword)
    command_start: bool = True  # the next word is in command position
    cases: list[str] = field(default_factory=list)  # open case commands: subject, in, pattern, body


class _Scanner:
    """A small reader of shell syntax: enough to know the quoting context of each ``${{var}}``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.out: list[str] = []
        self.stack = [_Frame("N")]

    def run(self) -> str:
        """The template with every ``${{var}}`` replaced by the reference its context needs."""
        while self.pos < len(self.text):
            frame = self.stack[-1]
            match = _VAR.match(self.text, self.pos)
            if match:
                self.out.append(_reference(frame.context, env_name(match.group(1))))
                self.pos = match.end()
                frame.word += match.group()
                frame.plain = False
            elif frame.context in "NB":
                self._unquoted(frame)
            elif frame.context == "M":
                self._arithmetic(frame)
            else:
                self._quoted(frame)
        return "".join(self.out)

    def _take(self, count: int) -> str:
        chunk = self.text[self.pos : self.pos + count]
        self.out.append(chunk)
        self.pos += len(chunk)
        return chunk

    def _open(self, allowed: str) -> str:
        """Enter the quote or substitution starting here if ``allowed`` lists its kind; return its opener."""
        for opener, kind in _OPENERS:
            if kind in allowed and self.text.startswith(opener, self.pos):
                self.stack.append(_Frame("N", substitution=True) if kind == "C" else _Frame(kind))
                return self._take(len(opener))
        return ""

    def _unquoted(self, frame: _Frame) -> None:
        """One step in unquoted text or backquotes: words, operators, quotes, comments."""
        char = self.text[self.pos]
        if char == "`" and frame.context == "B":
            self._take(1)
            self.stack.pop()
            return
        opened = self._open("MCABSD")
        if opened or char == "\\":
            frame.word += opened or self._take(2)
            frame.plain = False
        elif char == "#" and not frame.word:
            self._comment(frame)
        elif char in _WORD_END:
            self._end_word(frame)
            self._operator(frame, char)
        else:
            frame.word += self._take(1)

    def _comment(self, frame: _Frame) -> None:
        """Copy a comment: to the end of the line, or of the backquoted text it stands in."""
        end = len(self.text)
        for stop in "\n`" if frame.context == "B" else "\n":
            found = self.text.find(stop, self.pos)
            end = min(end, found) if found >= 0 else end
        self._take(end - self.pos)

    def _end_word(self, frame: _Frame) -> None:
        """Finish the word being read: follow case ... in ... esac, and whether a command starts."""
        word, keyword = frame.word, frame.word if frame.plain else ""
        frame.word, frame.plain = "", True
        if not word:
            return
        cases = frame.cases
        state = cases[-1] if cases else ""
        if state == "subject":
            cases[-1] = "in"
        elif state == "in":
            cases[-1] = "pattern"
        elif state == "pattern" and keyword == "esac":
            cases.pop()
        elif frame.command_start and keyword == "case":
            cases.append("subject")
        elif frame.command_start and keyword == "esac" and state == "body":
            cases.pop()
        frame.command_start = keyword in _COMMAND_PREFIXES or bool(keyword and _ASSIGNMENT.match(keyword))

    def _operator(self, frame: _Frame, char: str) -> None:
        """Copy a blank or an operator character; parentheses end a case pattern or a substitution."""
        in_pattern = bool(frame.cases) and frame.cases[-1] == "pattern"
        if char == ";" and self.text[self.pos + 1 : self.pos + 2] in (";", "&", "|"):
            self._take(3 if self.text.startswith(";;&", self.pos) else 2)
            if frame.cases and frame.cases[-1] == "body":
                frame.cases[-1] = "pattern"
        else:
            self._take(1)
        if char in ";&|\n(":
            frame.command_start = True
        if char == "(" and not in_pattern:  # in a pattern, '(' is the optional opening one
            frame.depth += 1
        elif char == ")" and in_pattern:
            frame.cases[-1] = "body"
            frame.command_start = True
        elif char == ")" and frame.depth:
            frame.depth -= 1
        elif char == ")" and frame.substitution:
            self.stack.pop()

    def _arithmetic(self, frame: _Frame) -> None:
        """One step in ``$((...))``: only parentheses and substitutions matter."""
        char = self.text[self.pos]
        if self._open("MCB"):
            return
        if char == "\\":
            self._take(2)
        elif char == "(":
            self._take(1)
            frame.depth += 1
        elif char == ")" and frame.depth:
            self._take(1)
            frame.depth -= 1
        elif char == ")":
            self._take(2 if self.text.startswith("))", self.pos) else 1)
            self.stack.pop()
        else:
            self._take(1)

    def _quoted(self, frame: _Frame) -> None:
        """One step inside single, double or ``$'...'`` quotes."""
        char = self.text[self.pos]
        if char == "\\" and frame.context != "S":
            self._take(2)
        elif frame.context == "D" and self._open("MCB"):
            return
        elif char == ("'" if frame.context in "SA" else '"'):
            self._take(1)
            self.stack.pop()
        else:
            self._take(1)


def _reference(context: str, name: str) -> str:
    if context == "D":
        return "${" + name + "}"
    if context == "S":
        return "'\"${" + name + "}\"'"
    if context == "A":
        return "'\"${" + name + "}\"$'"
    if context == "M":
        # Arithmetic evaluates a value as an expression (bash runs a[$(cmd)] in it), so no
        # reference there can be safe. The quotes make the shell refuse the expression instead.
        return "'${" + name + "}'"
    return '"${' + name + '}"'


def variables_in(template: str) -> list[str]:
    """The ``${{var}}`` names a template uses, in order."""
    return [m.group(1) for m in _VAR.finditer(template)]


def environment(template: str, values: Mapping[str, str]) -> dict[str, str]:
    """The environment entries a template needs: known values, '' for the rest."""
    env = {env_name(v): values.get(v, "") for v in VARIABLES}
    for var in variables_in(template):
        env[env_name(var)] = values.get(var, "")
    return {k: v.replace("\x00", "") for k, v in env.items()}

"""Notify templates: ``${{var}}`` becomes a quoted reference to an environment variable.

The value itself never enters the command text, so nothing a sender writes (``$(...)``,
backticks, quotes, ``;``) is ever parsed by the shell. The reference is quoted to suit where it
stands: bare, inside double quotes, inside single quotes or inside ``$'...'``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_VAR = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
VARIABLES = ("filepath", "tmms_id", "tmms_from", "tmms_to", "tmms_subject", "tmms_thread_id")


def env_name(variable: str) -> str:
    """The environment variable that carries ``${{variable}}``: ``tmms_from`` → ``TMMS_FROM``."""
    stem = variable[5:] if variable.startswith("tmms_") else variable
    return "TMMS_" + re.sub(r"[^A-Za-z0-9_]", "_", stem).upper()


def expand(template: str) -> str:
    """Rewrite every ``${{var}}`` as a shell-safe reference to its environment variable."""
    out: list[str] = []
    stack: list[list[object]] = [["N", 0]]  # context, paren depth
    i = 0
    n = len(template)
    while i < n:
        match = _VAR.match(template, i)
        ctx = str(stack[-1][0])
        if match:
            out.append(_reference(ctx, env_name(match.group(1))))
            i = match.end()
            continue
        ch = template[i]
        two = template[i : i + 2]
        out.append(ch)
        i += 1
        if ctx in ("S",):
            if ch == "'":
                stack.pop()
        elif ctx == "A":
            if ch == "\\" and i < n:
                out.append(template[i])
                i += 1
            elif ch == "'":
                stack.pop()
        elif ch == "\\" and i < n:
            out.append(template[i])
            i += 1
        elif ctx == "D":
            if ch == '"':
                stack.pop()
            elif two == "$(":
                out.append("(")
                i += 1
                stack.append(["N", 1])
            elif ch == "`":
                stack.append(["B", 0])
        else:  # N or B: unquoted
            if ch == "'":
                stack.append(["S", 0])
            elif ch == '"':
                stack.append(["D", 0])
            elif two == "$'":
                out.append("'")
                i += 1
                stack.append(["A", 0])
            elif two == "$(":
                out.append("(")
                i += 1
                stack.append(["N", 1])
            elif ch == "`" and ctx == "B":
                stack.pop()
            elif ch == "`":
                stack.append(["B", 0])
            elif ch == "(" and len(stack) > 1 and ctx == "N":
                stack[-1][1] = int(str(stack[-1][1])) + 1
            elif ch == ")" and len(stack) > 1 and ctx == "N":
                depth = int(str(stack[-1][1])) - 1
                stack[-1][1] = depth
                if depth <= 0:
                    stack.pop()
    return "".join(out)


def _reference(context: str, name: str) -> str:
    if context == "D":
        return "${" + name + "}"
    if context == "S":
        return "'\"${" + name + "}\"'"
    if context == "A":
        return "'\"${" + name + "}\"$'"
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

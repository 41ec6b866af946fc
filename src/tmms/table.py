"""Lists for a terminal: column headers, one line per row, fitted to a width (cut, never wrapped), colour.

Cells are text that is already safe for a terminal (tmms.terminal.visible); widths are counted in
terminal cells (a wide CJK character or emoji takes two, a combining mark none). Only the CLI
prints what these functions return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

GAP = "  "
ELLIPSIS = "…"
MIN_FLEX = 8
"""The fewest cells the shrinking column (a subject) keeps before the line itself is cut."""
MAX_CELL = 400
"""The widest a column grows on its own (a longer cell is cut)."""
RESET = "\x1b[0m"
HEADER_STYLE = "1"  # bold
STYLES = {"id": "33", "name": "36", "dim": "2", "mark": "1;32", "warn": "31"}
"""SGR codes by role: ids yellow (as git shows hashes), names cyan, ages dim, unread marks bold green."""


class Column(NamedTuple):
    """A column: its header, alignment (``<`` or ``>``), the most cells it takes, whether it shrinks first."""

    title: str
    align: str = "<"
    most: int = 0
    """0: as wide as its widest cell."""
    flex: bool = False
    style: str = ""
    """A key of STYLES, or ''."""


def cell_width(char: str) -> int:
    """The terminal cells one character takes: 0, 1 or 2."""
    if " " <= char < "\x7f":
        return 1
    import unicodedata

    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """The terminal cells a line of text takes."""
    if text.isascii():
        return len(text)
    return sum(cell_width(char) for char in text)


def cut(text: str, width: int) -> str:
    """The text in at most ``width`` cells: cut, with ``…`` as its last cell when anything was dropped."""
    if text_width(text) <= width:
        return text
    if width <= 0:
        return ""
    kept: list[str] = []
    used = 0
    for char in text:
        size = cell_width(char)
        if used + size > width - 1:
            break
        kept.append(char)
        used += size
    return "".join(kept) + ELLIPSIS


def pad(text: str, width: int, align: str = "<") -> str:
    """The text cut or padded with spaces to exactly ``width`` cells."""
    size = text_width(text)
    if size > width:
        text = cut(text, width)
        size = text_width(text)
    space = " " * (width - size)
    return space + text if align == ">" else text + space


def widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], total: int | None) -> list[int]:
    """Each column's width: its widest cell (capped by ``most``), then the flexible one shrunk to fit ``total``."""
    sizes = [max([text_width(c.title)] + [text_width(row[i]) for row in rows]) for i, c in enumerate(columns)]
    sizes = [min(size, c.most or MAX_CELL) for size, c in zip(sizes, columns, strict=True)]
    if total is None:
        return sizes
    over = sum(sizes) + len(GAP) * (len(sizes) - 1) - total
    while over > 0:  # the widest flexible column gives a cell at a time, down to MIN_FLEX (or its title)
        room = [(sizes[i], i) for i, c in enumerate(columns) if c.flex and sizes[i] > max(MIN_FLEX, len(c.title))]
        if not room:
            break
        sizes[max(room)[1]] -= 1
        over -= 1
    return sizes


def render(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None = None,
           color: bool = False, styles: Sequence[Sequence[str]] | None = None) -> list[str]:
    """The header line and one line per row, each at most ``width`` cells (None: no limit).

    ``styles`` gives a row's cells a role of STYLES other than their column's (such as ``mark``).
    """
    sizes = widths(columns, rows, width)
    if width is not None and sum(sizes) + len(GAP) * (len(sizes) - 1) <= width:
        width = None  # every padded line fits: nothing to cut
    lines = [_line([pad(c.title, s, c.align) for c, s in zip(columns, sizes, strict=True)], width,
                   [HEADER_STYLE] * len(columns) if color else None)]
    for index, row in enumerate(rows):
        cells = [pad(cell, s, c.align) for cell, c, s in zip(row, columns, sizes, strict=True)]
        roles = styles[index] if styles else [c.style for c in columns]
        codes = [STYLES.get(role, "") for role in roles] if color else None
        lines.append(_line(cells, width, codes))
    return lines


def _line(cells: list[str], width: int | None, codes: list[str] | None) -> str:
    """Cells joined by the gap, cut to ``width`` (trailing spaces dropped), each coloured by its SGR code."""
    if width is None and codes is None:
        return GAP.join(cells).rstrip()
    kept: list[str] = []
    used = 0
    for cell in cells:
        if width is not None:
            room = width - used - (len(GAP) if kept else 0)
            if room <= 0:
                break
            cell = cut(cell, room)
        used += text_width(cell) + (len(GAP) if kept else 0)
        kept.append(cell)
    if codes is None:
        return GAP.join(kept).rstrip()
    painted = [f"\x1b[{code}m{cell}{RESET}" if code and cell.strip() else cell
               for cell, code in zip(kept, codes, strict=False)]
    return GAP.join(painted).rstrip()

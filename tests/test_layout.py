"""The layout: the import rule holds (import-linter) and DEVELOPERS.md's layout table names every module."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SRC = REPO / "src" / "tmms"


def lint_imports() -> list[str]:
    """The argv of ``lint-imports`` from the environment that runs the tests."""
    beside = Path(sys.executable).parent / "lint-imports"
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    assert found, "lint-imports is missing: pip install -e '.[test]'"
    return [found, "--no-cache"]


def test_the_import_contracts_are_kept() -> None:
    proc = subprocess.run([*lint_imports(), "--config", str(REPO / "pyproject.toml")], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout, proc.stdout


def modules_in_tree() -> set[str]:
    """Every module as a path below ``src/tmms`` (``cli/mail.py``, ``cli/__init__.py``), but the top package's own."""
    paths = {str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if "__pycache__" not in path.parts}
    return paths - {"__init__.py", "__main__.py"}


def modules_in_table() -> set[str]:
    """The modules DEVELOPERS.md's layout table names: every `` `path.py` `` in a row's first cell."""
    text = (REPO / "DEVELOPERS.md").read_text()
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`([^`]+\.py)`", cell)}


def test_the_layout_table_names_every_module_and_only_those() -> None:
    tree, table = modules_in_tree(), modules_in_table()
    assert sorted(tree - table) == [], "modules missing from DEVELOPERS.md's layout table"
    assert sorted(table - tree) == [], "DEVELOPERS.md's layout table names modules that do not exist"

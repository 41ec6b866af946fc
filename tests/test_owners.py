"""One owner per constant (the suffixes, the short id, the letter order) and the typed Letter.folder."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from conftest import REPO
from tmms import deadletter, mailbox, message, names, store
from tmms.mailbox import Folder
from tmms.server import setaside

SRC = REPO / "src" / "tmms"


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _string_constants(path: Path) -> list[str]:
    return [node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_the_suffixes_have_one_owner() -> None:
    assert store.SUFFIX is names.SUFFIX == ".md"
    assert deadletter.REASON_SUFFIX is names.REASON_SUFFIX == ".reason.json"
    assert vars(setaside)["REASON_SUFFIX"] is names.REASON_SUFFIX  # the writer uses the same one
    writers = [p.relative_to(SRC).as_posix() for p in _modules()
               if {".md", ".reason.json"} & set(_string_constants(p))]
    assert writers == ["names.py"]


def _short_id_slices(path: Path) -> int:
    """``x.replace("-", "")[:8]`` written out by hand."""
    count = 0
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "replace"
                and [ast.literal_eval(a) for a in node.value.args if isinstance(a, ast.Constant)] == ["-", ""]):
            count += 1
    return count


def test_the_short_id_has_one_owner() -> None:
    places = {p.relative_to(SRC).as_posix(): n for p in _modules() if (n := _short_id_slices(p))}
    assert places == {"message.py": 1}
    uid = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    assert message.short_id(uid) == "1a2b3c4d"
    assert message.file_name("20261122-143005", "a", "b", uid) == "20261122-143005_a_to_b_1a2b3c4d.md"


def test_the_letter_order_has_one_owner() -> None:
    written = sum(p.read_text(encoding="utf-8").count('created_at or "~"') for p in _modules())
    assert written == 1


def test_a_folder_is_the_string_it_was() -> None:
    assert list(Folder) == ["inbox", "read", "outbox", "sent", "dead", "archive"]  # archive: issue #11
    assert f"{Folder.SENT:<6}|" == "sent  |"
    assert str(Folder.DEAD) == "dead"
    assert json.dumps({"folder": Folder.OUTBOX}) == '{"folder": "outbox"}'
    assert {"inbox": 1}[Folder.INBOX] == 1
    assert [str(f) for f in Folder] == ["inbox", "read", "outbox", "sent", "dead", "archive"]


def test_scan_gives_typed_folders(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_text("---\ntmms_id: 1a2b3c4d-0000-4000-8000-000000000000\n---\nhi\n")
    letters = mailbox.scan(str(tmp_path), Folder.DEAD)
    assert [type(x.folder) for x in letters] == [Folder]
    assert [x.letter.folder for x in deadletter.listing(str(tmp_path))] == ["dead"]

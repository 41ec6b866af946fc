"""The error tree: every error carries a documented exit code, and no RuntimeError is raised on purpose."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import tmms
from conftest import REPO
from tmms import errors
from tmms.cli import ExitCode, exit_code_for, main
from tmms.errors import TmmsError

SRC = REPO / "src" / "tmms"

# The exit code of every error class before the classes carried their own (cli._ERROR_CODES at 388e45f):
# the families must not change one of them.
CODES_BEFORE = {
    "ConfigError": 3, "TmuxNotFound": 4, "TmuxServerNotRunning": 4, "TmuxCommandError": 4, "NotInsideTmux": 4,
    "PaneNotFound": 4, "PaneNotRegistered": 5, "NoRecipient": 2, "BadName": 2, "InputError": 6, "MessageError": 6,
    "StorageError": 7, "AlreadyRunning": 8, "FileExists": 9, "NameTaken": 10, "MessageNotFound": 11,
    "AmbiguousMessage": 11, "ServerStartFailed": 12, "UsageError": 2,
    "FolderClash": 2, "UnsafeRuntimeDir": 7,  # subclasses of UsageError and StorageError, outside errors.py
    "DemoFailed": 1,  # a RuntimeError before: a traceback, and Python's exit status 1
    "NudgeRefused": 15, "NudgeQueued": 13, "NudgeTimedOut": 14,  # issue #9: tmms nudge
    "ServerNotRunning": 1, "ServerDidNotStop": 12,  # issue #11: tmms server stop, logs
}


def _import_everything() -> None:
    """Import every module of tmms (but ``python -m tmms``, which runs the CLI), so every error class exists."""
    for info in pkgutil.walk_packages(tmms.__path__, "tmms."):
        if info.name != "tmms.__main__":
            importlib.import_module(info.name)


def _all_errors() -> list[type[TmmsError]]:
    _import_everything()
    found: list[type[TmmsError]] = []
    todo = list(TmmsError.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: c.__name__)


def _documented_codes() -> set[int]:
    """The codes README.md's "Exit codes" table lists."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)}


def test_the_readme_table_is_found() -> None:
    assert _documented_codes() == {int(code) for code in ExitCode}


@pytest.mark.parametrize("cls", [c for c in _all_errors() if c.__module__.startswith("tmms")],
                         ids=lambda c: c.__name__)
def test_every_error_class_carries_a_documented_exit_code(cls: type[TmmsError]) -> None:
    assert isinstance(cls.exit_code, ExitCode)
    assert int(cls.exit_code) in _documented_codes()
    assert cls.exit_code not in (ExitCode.OK, ExitCode.INTERRUPTED)


def test_no_error_changed_its_exit_code() -> None:
    classes = {c.__name__: c for c in _all_errors() if c.__module__.startswith("tmms")}
    for name, code in CODES_BEFORE.items():
        assert int(classes[name].exit_code) == code, name


def test_every_concrete_error_was_mapped_before_or_is_named_here() -> None:
    """A new error class gets its line in CODES_BEFORE, where its code is a decision someone made."""
    concrete = {c.__name__ for c in _all_errors() if c.__module__.startswith("tmms")}
    families = {"TmuxError", "BadInput", "MailboxError", "ServerError", "NudgeError"}
    assert concrete - families == set(CODES_BEFORE)


def test_exit_code_for_is_the_class_code() -> None:
    assert exit_code_for(errors.TmuxCommandError(["show-options", "-p"], "boom\n")) == ExitCode.TMUX
    assert exit_code_for(errors.MessageNotFound("ab", "inbox")) == ExitCode.NO_SUCH_MESSAGE
    assert exit_code_for(errors.NameTaken("a", "%1", "s:0.0")) == ExitCode.NAME_TAKEN
    assert exit_code_for(errors.DemoFailed("the demo agents did not register in time")) == ExitCode.NOTHING


def test_a_class_without_an_exit_code_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match="must carry an exit_code"):
        class Unplanned(TmmsError):
            """An error nobody gave a code."""


def test_a_subclass_inherits_its_family_code() -> None:
    class Borrowed(errors.TmuxError):
        """A tmux error nobody gave a code."""

    assert Borrowed.exit_code == ExitCode.TMUX


def test_families_group_the_tmux_usage_input_mailbox_and_server_errors() -> None:
    tmux_errors = (errors.TmuxNotFound, errors.TmuxServerNotRunning, errors.TmuxCommandError,
                   errors.NotInsideTmux, errors.PaneNotFound)
    assert all(issubclass(c, errors.TmuxError) for c in tmux_errors)
    assert all(issubclass(c, errors.UsageError) for c in (errors.NoRecipient, errors.BadName))
    assert all(issubclass(c, errors.BadInput) for c in (errors.InputError, errors.MessageError))
    assert all(issubclass(c, errors.MailboxError) for c in (errors.MessageNotFound, errors.AmbiguousMessage,
                                                            errors.PaneNotRegistered, errors.NameTaken))
    assert all(issubclass(c, errors.ServerError) for c in (errors.AlreadyRunning, errors.ServerStartFailed))


def test_families_do_not_catch_more_than_before() -> None:
    """``except InputError`` must not start catching MessageError (and so on): siblings stay siblings."""
    assert not issubclass(errors.MessageError, errors.InputError)
    assert not issubclass(errors.InputError, errors.MessageError)
    assert not issubclass(errors.FileExists, errors.StorageError)
    assert not issubclass(errors.AlreadyRunning, errors.StorageError)


def test_tmux_command_error_keeps_its_command() -> None:
    exc = errors.TmuxCommandError(["show-options", "-p"], "first\nlast line\n")
    assert exc.command == ["show-options", "-p"]
    assert str(exc) == "tmux show-options: last line"


def test_from_os_gives_the_reason_in_words(tmp_path: Path) -> None:
    try:
        (tmp_path / "missing").read_bytes()
    except OSError as exc:
        storage = errors.StorageError.from_os("/x", exc)
        unreadable = errors.InputError.from_os("/x", exc)
    assert storage.reason == unreadable.reason == "No such file or directory"
    assert str(storage) == "cannot write /x: No such file or directory"
    assert errors.os_reason(OSError("plain text")) == "plain text"


def _raised_names(path: Path) -> list[tuple[int, str]]:
    """The built-in exceptions a module raises by name (``raise RuntimeError(...)``), with line numbers."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id in ("RuntimeError", "Exception"):
                found.append((node.lineno, target.id))
    return found


def test_no_module_raises_a_runtime_error() -> None:
    """What escapes ``main`` is a TmmsError (one line and its code), never a RuntimeError's traceback."""
    offenders = {str(p.relative_to(SRC)): names for p in sorted(SRC.rglob("*.py")) if (names := _raised_names(p))}
    assert offenders == {}


def test_main_turns_an_error_into_one_line_and_its_code(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["whoami"]) == ExitCode.TMUX
    err = capsys.readouterr().err
    assert err.startswith("tmms: error: ") and err.count("\n") == 1

"""Server config: discovery order, defaults, validation with the key named, and ``init``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import pytest

from tmms import config
from tmms.errors import ConfigError, FileExists

DISCOVERY_FILES = [".tmms.yml", ".tmms/config.yml", ".config/tmms/config.yml"]


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), **extra}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _parse(text: str, home: Path, **extra: str) -> config.Config:
    return config.parse(text.encode(), "/cfg/config.yml", _env(home, **extra))


# --- discovery and defaults --------------------------------------------------------------------


def test_discovery_takes_the_first_file_in_tmms_order(tmp_path: Path) -> None:
    for i, relative in enumerate(DISCOVERY_FILES):
        _write(tmp_path / relative, f"polling_interval: {i + 1}\n")
    for i, relative in enumerate(DISCOVERY_FILES):
        assert config.discover(_env(tmp_path)) == str(tmp_path / relative)
        loaded = config.load(env=_env(tmp_path))
        assert (loaded.polling_interval, loaded.source) == (i + 1, str(tmp_path / relative))
        (tmp_path / relative).unlink()
    assert config.discover(_env(tmp_path)) is None


def test_discovery_skips_a_directory_with_a_config_name(tmp_path: Path) -> None:
    (tmp_path / ".tmms.yml").mkdir()
    _write(tmp_path / ".config/tmms/config.yml", "polling_interval: 7\n")
    assert config.load(env=_env(tmp_path)).polling_interval == 7


def test_defaults_when_there_is_no_file(tmp_path: Path) -> None:
    loaded = config.load(env=_env(tmp_path))
    assert loaded == config.Config(
        polling_interval=60.0,
        dead_letter_dir=f"{tmp_path}/.local/share/tmms/dead_letter",
        notify_timeout=30.0,
        notify_concurrency=8,
        notify_repeat_interval=0.0,
        max_message_bytes=64 * 1024 * 1024,
        settle_seconds=2.0,
        source=None,
        warnings=(),
    )


def test_explicit_path_skips_discovery_and_expands_tilde(tmp_path: Path) -> None:
    _write(tmp_path / ".tmms.yml", "polling_interval: 1\n")
    _write(tmp_path / "elsewhere.yml", "polling_interval: 2\n")
    loaded = config.load("~/elsewhere.yml", env=_env(tmp_path))
    assert (loaded.polling_interval, loaded.source) == (2.0, str(tmp_path / "elsewhere.yml"))


def test_explicit_path_that_is_missing_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found") as info:
        config.load(str(tmp_path / "nope.yml"), env=_env(tmp_path))
    assert info.value.path == str(tmp_path / "nope.yml")


@pytest.mark.parametrize("text", ["", "# only comments\n", "dead_letter_dir:\n"], ids=["empty", "comments", "null"])
def test_dead_letter_dir_is_optional(text: str, tmp_path: Path) -> None:
    loaded = _parse(text, tmp_path)
    assert loaded.dead_letter_dir == f"{tmp_path}/.local/share/tmms/dead_letter"
    assert loaded.warnings == ()


class PathCase(NamedTuple):
    test_id: str
    value: str
    expected: str


PATH_CASES = [
    PathCase("tilde", "~/dl", "{home}/dl"),
    PathCase("dollar_var", "$DATA/dl", "/srv/data/dl"),
    PathCase("braced_var", "${DATA}/x/../dl", "/srv/data/dl"),
    PathCase("tilde_and_var", "~/$NAME", "{home}/box"),
    PathCase("absolute", "/var/tmms", "/var/tmms"),
    PathCase("unknown_var_kept", "/a/$NOPE", "/a/$NOPE"),
]


@pytest.mark.parametrize("case", PATH_CASES, ids=[c.test_id for c in PATH_CASES])
def test_dead_letter_dir_expands_tilde_and_variables(case: PathCase, tmp_path: Path) -> None:
    loaded = _parse(f"dead_letter_dir: {case.value}\n", tmp_path, DATA="/srv/data", NAME="box")
    assert loaded.dead_letter_dir == case.expected.format(home=tmp_path)


def test_all_keys_are_read(tmp_path: Path) -> None:
    text = (
        "polling_interval: 0.5\ndead_letter_dir: /dl\nnotify_timeout: 3\nnotify_concurrency: 2\n"
        "notify_repeat_interval: 15\nmax_message_bytes: 0\nsettle_seconds: 0\n"
    )
    loaded = _parse(text, tmp_path)
    assert loaded == config.Config(0.5, "/dl", 3.0, 2, 15.0, 0, 0.0, "/cfg/config.yml", ())
    assert isinstance(loaded.notify_concurrency, int) and isinstance(loaded.notify_timeout, float)


# --- errors and warnings -----------------------------------------------------------------------


class BadCase(NamedTuple):
    test_id: str
    text: str
    message: str


BAD_CASES = [
    BadCase("negative_interval", "polling_interval: -1\n", "polling_interval must be > 0.0, not -1"),
    BadCase("zero_interval", "polling_interval: 0\n", "polling_interval must be > 0.0, not 0"),
    BadCase("nan_interval", "polling_interval: .nan\n", "polling_interval must be > 0.0"),
    BadCase("zero_timeout", "notify_timeout: 0\n", "notify_timeout must be > 0.0"),
    BadCase("zero_concurrency", "notify_concurrency: 0\n", "notify_concurrency must be >= 1, not 0"),
    BadCase("fractional_concurrency", "notify_concurrency: 1.5\n", "notify_concurrency must be a whole number"),
    BadCase("negative_bytes", "max_message_bytes: -5\n", "max_message_bytes must be >= 0, not -5"),
    BadCase("negative_repeat", "notify_repeat_interval: -0.5\n", "notify_repeat_interval must be >= 0.0"),
    BadCase("negative_settle", "settle_seconds: -1\n", "settle_seconds must be >= 0.0"),
    BadCase("string_number", "notify_timeout: abc\n", "notify_timeout must be a number, not 'abc'"),
    BadCase("quoted_number", "polling_interval: '10'\n", "polling_interval must be a number, not '10'"),
    BadCase("bool_number", "settle_seconds: true\n", "settle_seconds must be a number, not True"),
    BadCase("list_number", "max_message_bytes: [1]\n", "max_message_bytes must be a number"),
    BadCase("null_number", "notify_timeout:\n", "notify_timeout must be a number, not None"),
    BadCase("dead_letter_number", "dead_letter_dir: 5\n", "dead_letter_dir must be a path"),
    BadCase("dead_letter_blank", "dead_letter_dir: '  '\n", "dead_letter_dir must be a path"),
    BadCase("dead_letter_list", "dead_letter_dir: [a]\n", "dead_letter_dir must be a path"),
    BadCase("malformed", "polling_interval: [\n", "malformed YAML"),
    BadCase("tab_indent", "a:\n\tb: 1\n", "malformed YAML"),
    BadCase("list", "- polling_interval\n", "config must be a mapping of keys, not a list"),
    BadCase("scalar", "just words\n", "config must be a mapping of keys, not a str"),
]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.test_id for c in BAD_CASES])
def test_invalid_config_is_a_config_error_naming_the_key(case: BadCase, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _parse(case.text, tmp_path)
    assert case.message in str(info.value)
    assert str(info.value).startswith("/cfg/config.yml: ")
    assert info.value.path == "/cfg/config.yml"


def test_python_tags_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "X"
    with pytest.raises(ConfigError, match="malformed YAML"):
        _parse(f"polling_interval: !!python/object/apply:os.system ['touch {marker}']\n", tmp_path)
    assert not marker.exists()


def test_config_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not UTF-8"):
        config.parse(b"polling_interval: \xff\n", "/cfg/config.yml", _env(tmp_path))


def test_errors_from_load_name_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / ".tmms.yml", "notify_concurrency: -3\n")
    with pytest.raises(ConfigError, match="notify_concurrency must be >= 1") as info:
        config.load(env=_env(tmp_path))
    assert info.value.path == str(path)


def test_unknown_key_gives_a_warning(tmp_path: Path) -> None:
    """A key far from every known one is ignored with a warning (a near miss is an error: test_guidance.py)."""
    loaded = _parse("colour: blue\nnotify_cmd: x\npolling_interval: 3\n", tmp_path)
    assert loaded.polling_interval == 3.0
    assert loaded.warnings == (
        "/cfg/config.yml: unknown key 'colour' ignored",
        "/cfg/config.yml: unknown key 'notify_cmd' ignored",
    )


def test_known_keys_give_no_warning(tmp_path: Path) -> None:
    assert _parse("polling_interval: 3\ndead_letter_dir: /x\n", tmp_path).warnings == ()


# --- init template -----------------------------------------------------------------------------


def test_write_template_goes_to_the_default_path(tmp_path: Path) -> None:
    path = config.write_template(env=_env(tmp_path))
    assert path == str(tmp_path / ".config/tmms/config.yml")
    assert Path(path).read_text() == config.template_text(_env(tmp_path))
    assert f"dead_letter_dir: {tmp_path}/.local/share/tmms/dead_letter\n" in Path(path).read_text()


def test_write_template_creates_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c" / "tmms.yml"
    assert config.write_template(str(target), env=_env(tmp_path)) == str(target)
    assert target.read_text() == config.template_text(_env(tmp_path))
    assert target.stat().st_mode & 0o777 == 0o600  # issue 7 item 13: private whatever the umask


def test_write_template_expands_tilde(tmp_path: Path) -> None:
    assert config.write_template("~/x/tmms.yml", env=_env(tmp_path)) == str(tmp_path / "x/tmms.yml")


def test_write_template_refuses_to_overwrite(tmp_path: Path) -> None:
    target = _write(tmp_path / "config.yml", "polling_interval: 99\n")
    with pytest.raises(FileExists) as info:
        config.write_template(str(target), env=_env(tmp_path))
    assert info.value.path == str(target)
    assert target.read_text() == "polling_interval: 99\n"


def test_template_loads_back_without_warnings(tmp_path: Path) -> None:
    path = config.write_template(env=_env(tmp_path))
    loaded = config.load(env=_env(tmp_path))
    assert loaded == config.Config(
        polling_interval=10.0,
        dead_letter_dir=f"{tmp_path}/.local/share/tmms/dead_letter",
        notify_timeout=30.0,
        notify_concurrency=8,
        notify_repeat_interval=0.0,
        max_message_bytes=67108864,
        settle_seconds=2.0,
        source=path,
        warnings=(),
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

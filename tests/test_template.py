"""Notify templates: ``${{var}}`` reaches the shell only as a quoted environment reference."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

from tmms.server import template

HOSTILE = [
    "$(touch X)",
    "`touch X`",
    '"; touch X; "',
    "' ; touch X '",
    "a b  c",
    "*",
    "line1\nline2",
    "\nleading newline",
    "trailing newline\n",
    "$HOME ${IFS} $'x'",
    "\\ \\\\ \\n",
    "-n",
    "'",
    '"',
    ")",
    "}",
    "",
    "'\"$(touch X)\"'",
    "$'\\x27'; touch X",
]


def _run(command: str, values: dict[str, str], cwd: Path, shell: str = "/bin/sh",
         extra_env: dict[str, str] | None = None) -> str:
    """Run an expanded template as notify does: the values only in the environment."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(extra_env or {})}
    env.update(template.environment(command, values))
    result = subprocess.run(
        [shell, "-c", template.expand(command)], env=env, cwd=cwd, capture_output=True, text=True, timeout=10,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working folder with a file in it, so an unquoted ``*`` would visibly glob."""
    (tmp_path / "decoy.txt").write_text("")
    return tmp_path


# --- expand: the text it produces --------------------------------------------------------------


class ExpandCase(NamedTuple):
    test_id: str
    template: str
    expected: str


EXPAND_CASES = [
    ExpandCase("bare", "echo ${{tmms_from}}", 'echo "${TMMS_FROM}"'),
    ExpandCase("double", 'echo "${{tmms_from}}"', 'echo "${TMMS_FROM}"'),
    ExpandCase("double_with_text", 'echo "from: ${{tmms_from}}!"', 'echo "from: ${TMMS_FROM}!"'),
    ExpandCase("single", "echo '${{tmms_from}}'", "echo ''\"${TMMS_FROM}\"''"),
    ExpandCase("ansi_c", "echo $'<${{tmms_from}}>'", "echo $'<'\"${TMMS_FROM}\"$'>'"),
    ExpandCase("command_substitution", "echo $(echo ${{tmms_from}})", 'echo $(echo "${TMMS_FROM}")'),
    ExpandCase("backticks", "echo `echo ${{tmms_from}}`", 'echo `echo "${TMMS_FROM}"`'),
    ExpandCase("substitution_in_double", 'echo "$(echo ${{tmms_from}})"', 'echo "$(echo "${TMMS_FROM}")"'),
    ExpandCase("after_substitution", "echo $(echo a) ${{tmms_from}}", 'echo $(echo a) "${TMMS_FROM}"'),
    ExpandCase("escaped_quote", 'echo \\"${{tmms_from}}', 'echo \\""${TMMS_FROM}"'),
    ExpandCase("spaces_inside_braces", "echo ${{ tmms_from }}", 'echo "${TMMS_FROM}"'),
    ExpandCase("filepath", "ls ${{filepath}}", 'ls "${TMMS_FILEPATH}"'),
    ExpandCase("several", "x ${{tmms_id}} ${{tmms_to}}", 'x "${TMMS_ID}" "${TMMS_TO}"'),
    ExpandCase("no_variables", "echo 'hi' \"$HOME\"", "echo 'hi' \"$HOME\""),
    ExpandCase("single_braces_untouched", "echo ${tmms_from}", "echo ${tmms_from}"),
    ExpandCase("case_pattern_in_substitution", 'echo "$(case a in a) echo ${{tmms_from}};; esac)"',
               'echo "$(case a in a) echo "${TMMS_FROM}";; esac)"'),
    ExpandCase("comment_with_a_quote", "echo a # it's\necho ${{tmms_from}}", "echo a # it's\necho \"${TMMS_FROM}\""),
    ExpandCase("arithmetic_is_refused_by_the_shell", "echo $(( ${{tmms_id}} + 1 ))", "echo $(( '${TMMS_ID}' + 1 ))"),
]


@pytest.mark.parametrize("case", EXPAND_CASES, ids=[c.test_id for c in EXPAND_CASES])
def test_expand_writes_a_quoted_environment_reference(case: ExpandCase) -> None:
    assert template.expand(case.template) == case.expected


@pytest.mark.parametrize(
    ("variable", "name"),
    [("filepath", "TMMS_FILEPATH"), ("tmms_from", "TMMS_FROM"), ("tmms_thread_id", "TMMS_THREAD_ID"),
     ("custom", "TMMS_CUSTOM")],
)
def test_env_name(variable: str, name: str) -> None:
    assert template.env_name(variable) == name


def test_environment_has_every_known_variable_and_the_used_ones() -> None:
    env = template.environment("echo ${{filepath}} ${{extra}}", {"filepath": "/p", "tmms_from": "a\x00b"})
    assert env == {
        "TMMS_FILEPATH": "/p", "TMMS_ID": "", "TMMS_FROM": "ab", "TMMS_TO": "", "TMMS_SUBJECT": "",
        "TMMS_THREAD_ID": "", "TMMS_EXTRA": "",
    }


def test_variables_in_lists_names_in_order() -> None:
    assert template.variables_in("${{b}} x ${{ a }} ${{b}}") == ["b", "a", "b"]


# --- running the expanded command: the value arrives intact, and never as code ----------------


class ShellCase(NamedTuple):
    test_id: str
    template: str
    strips_trailing_newlines: bool  # command substitution drops them, whatever the value is


SHELL_CASES = [
    ShellCase("bare", "printf %s ${{tmms_subject}}", False),
    ShellCase("double", 'printf %s "${{tmms_subject}}"', False),
    ShellCase("single", "printf %s '${{tmms_subject}}'", False),
    ShellCase("glued_to_quotes", "printf %s '<'${{tmms_subject}}\">\" | tail -c +2 | head -c -1", False),
    ShellCase("command_substitution", 'v=$(printf %s ${{tmms_subject}}); printf %s "$v"', True),
    ShellCase("command_substitution_in_double", 'printf %s "$(printf %s ${{tmms_subject}})"', True),
    ShellCase("single_in_substitution", "printf %s \"$(printf %s '${{tmms_subject}}')\"", True),
    ShellCase("nested_substitution", 'printf %s "$(printf %s "$(printf %s ${{tmms_subject}})")"', True),
    ShellCase("subshell_in_substitution", 'printf %s "$( (printf %s ${{tmms_subject}}) )"', True),
    ShellCase("backticks", 'v=`printf %s ${{tmms_subject}}`; printf %s "$v"', True),
    ShellCase("backticks_in_double", 'printf %s "`printf %s ${{tmms_subject}}`"', True),
    ShellCase("single_in_backticks", "printf %s \"`printf %s '${{tmms_subject}}'`\"", True),
    ShellCase("parameter_default", "printf %s ${UNSET_VAR:-${{tmms_subject}}}", False),
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("case", SHELL_CASES, ids=[c.test_id for c in SHELL_CASES])
def test_shell_prints_exactly_the_hostile_value(case: ShellCase, value: str, workdir: Path) -> None:
    expected = value.rstrip("\n") if case.strips_trailing_newlines else value
    assert _run(case.template, {"tmms_subject": value}, workdir) == expected
    assert not (workdir / "X").exists()


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize(
    "command",
    ["printf %s `printf %s ${{tmms_subject}}`", "printf %s $(printf %s ${{tmms_subject}})",
     "for w in $(printf %s ${{tmms_subject}}); do printf %s \"$w\"; done"],
    ids=["unquoted_backticks", "unquoted_substitution", "for_loop_over_words"],
)
def test_value_never_runs_even_where_the_author_forgot_quotes(command: str, value: str, workdir: Path) -> None:
    """The outer substitution is unquoted by the author, so words split; still nothing runs."""
    _run(command, {"tmms_subject": value}, workdir)
    assert not (workdir / "X").exists()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_ansi_c_quotes_print_exactly_the_hostile_value_in_bash(value: str, workdir: Path) -> None:
    out = _run("printf %s $'<${{tmms_subject}}>\\t'", {"tmms_subject": value}, workdir, shell="bash")
    assert out == f"<{value}>\t"
    assert not (workdir / "X").exists()


def test_case_pattern_inside_substitution_keeps_the_value_quoted(workdir: Path) -> None:
    command = 'printf %s "$(case x in x) printf %s ${{tmms_subject}};; esac)"'
    assert _run(command, {"tmms_subject": "a b  *"}, workdir) == "a b  *"


SYNTAX_CASES = [
    ShellCase("case_pattern", 'printf %s "$(case x in x) printf %s ${{tmms_subject}};; esac)"', True),
    ShellCase("case_open_paren_pattern", 'printf %s "$(case x in (x) printf %s ${{tmms_subject}};; esac)"', True),
    ShellCase("case_alternatives_and_clauses",
              'printf %s "$(case x in a|b) echo no;; y|x) printf %s ${{tmms_subject}};; *) echo no;; esac)"', True),
    ShellCase("case_last_clause_without_semicolons",
              'printf %s "$(case x in x) printf %s ${{tmms_subject}}\nesac)"', True),
    ShellCase("case_on_lines", 'printf %s "$(\ncase x\nin\nx)\nprintf %s ${{tmms_subject}}\n;;\nesac\n)"', True),
    ShellCase("nested_case",
              'printf %s "$(case x in x) case y in y) printf %s ${{tmms_subject}};; esac;; esac)"', True),
    ShellCase("case_after_then",
              'printf %s "$(if true; then case x in x) printf %s ${{tmms_subject}};; esac; fi)"', True),
    ShellCase("after_a_case", 'printf %s "$(case x in x) :;; esac; printf %s ${{tmms_subject}})"', True),
    ShellCase("after_a_substitution_with_a_case",
              'v=$(case x in x) echo a;; esac); printf %s ${{tmms_subject}}', False),
    ShellCase("case_in_backticks", 'printf %s "`case x in x) printf %s ${{tmms_subject}};; esac`"', True),
    ShellCase("case_as_an_argument", 'printf %s "$(: case x in x; printf %s ${{tmms_subject}})"', True),
    ShellCase("quoted_case_is_no_keyword", 'printf %s "$(\"case\" 2>/dev/null; printf %s ${{tmms_subject}})"', True),
    ShellCase("arithmetic_before",
              'printf %s "$(( (1 + 2) * 3 ))$(printf %s ${{tmms_subject}})" | tail -c +2', True),
    ShellCase("arithmetic_in_substitution",
              'printf %s "$(: $(( (1) + 2 )); printf %s ${{tmms_subject}})"', True),
    ShellCase("comment_in_substitution", "printf %s \"$(# it's ) a comment\nprintf %s ${{tmms_subject}})\"", True),
    ShellCase("comment_at_top_level", "# it's \"a\" comment\nprintf %s ${{tmms_subject}} # it's", False),
    ShellCase("hash_inside_a_word", "printf %s a#${{tmms_subject}} | tail -c +3", False),
    ShellCase("parameter_length", 'x=ab; printf %s "${#x}" ${{tmms_subject}} | tail -c +2', False),
]
SHELLS = ["/bin/sh", *(["bash"] if shutil.which("bash") else [])]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("case", SYNTAX_CASES, ids=[c.test_id for c in SYNTAX_CASES])
def test_shell_syntax_around_the_reference_keeps_the_value_exact(
    case: ShellCase, value: str, shell: str, workdir: Path
) -> None:
    expected = value.rstrip("\n") if case.strips_trailing_newlines else value
    assert _run(case.template, {"tmms_subject": value}, workdir, shell=shell) == expected
    assert not (workdir / "X").exists()


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("value", ["a[$(touch X)]", "x[`touch X`]", "1", "$(touch X)"])
@pytest.mark.parametrize(
    "command", ["echo $(( ${{tmms_subject}} ))", 'echo "$(( 1 + ${{tmms_subject}} ))"',
                'echo $(( "${{tmms_subject}}" ))', "echo $(( '${{tmms_subject}}' ))"],
    ids=["bare", "in_double_quotes", "double_quoted", "single_quoted"],
)
def test_value_in_arithmetic_is_refused_never_evaluated(command: str, value: str, shell: str, workdir: Path) -> None:
    """Arithmetic evaluates a value as code (bash: a[$(cmd)]), so the shell must refuse it."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **template.environment(command, {"tmms_subject": value})}
    result = subprocess.run([shell, "-c", template.expand(command)], env=env, cwd=workdir, capture_output=True,
                            text=True, timeout=10)
    assert result.returncode != 0
    assert not (workdir / "X").exists()


# --- the templates from the TMMS README --------------------------------------------------------


def test_readme_new_mail_template(workdir: Path) -> None:
    values = {"tmms_from": "$(touch X)", "tmms_subject": '"; touch X; " `touch X` a  b'}
    out = _run('echo "New mail from ${{tmms_from}}: ${{tmms_subject}}"', values, workdir)
    assert out == 'New mail from $(touch X): "; touch X; " `touch X` a  b\n'
    assert not (workdir / "X").exists()


def test_readme_session_template_keeps_the_shell_variable(workdir: Path) -> None:
    values = {"tmms_from": "' ; touch X '", "filepath": str(workdir / "in box" / "a  b.md")}
    out = _run('echo "[$TERM_SESSION_ID] New mail: ${{tmms_from}} -> ${{filepath}}"', values, workdir,
               extra_env={"TERM_SESSION_ID": "sess-1"})
    assert out == f"[sess-1] New mail: ' ; touch X ' -> {workdir}/in box/a  b.md\n"
    assert not (workdir / "X").exists()


def test_readme_ls_template_with_spaces_in_the_path(workdir: Path) -> None:
    message = workdir / "my inbox" / "20240101-000000_a  b_to_c_12345678.md"
    message.parent.mkdir()
    message.write_text("x")
    assert _run("ls ${{filepath}}", {"filepath": str(message)}, workdir) == f"{message}\n"


def test_readme_unread_count_template_with_spaces_in_the_path(workdir: Path) -> None:
    message = workdir / "my inbox" / "a b.md"
    message.parent.mkdir()
    message.write_text("x")
    out = _run('echo "$(ls ${{filepath}} | wc -l) unread"', {"filepath": str(message)}, workdir)
    assert out.split() == ["1", "unread"]

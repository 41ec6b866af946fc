"""``tmms completion bash|zsh|fish``: shell completion; and the hidden ``tmms __complete`` it calls.

The scripts are thin: they hand the words typed so far to ``tmms __complete CWORD WORD...`` and offer
what it prints, one candidate a line (``:files`` alone: complete file names). The commands, options
and choices come from the parsers themselves; names, groups and message ids from this tmux server.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence

from ..errors import TmmsError
from .common import ExitCode, Spec, arg, say

FILES = ":files"
WITH_VALUE = {"-L", "-S", "--socket-name", "--socket-path"}
_NAME_METAVARS = {"NAME", "RECIPIENT"}
_FILE_METAVARS = {"PATH", "DIR", "FILE"}

PARSERS: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("completion", "cmd_completion", "print a shell completion script (bash, zsh, fish)",
         "Print a script that completes tmms's commands, options, registered names, groups and message "
         "ids. Load it from your shell's start-up file, as the examples show.",
         """\
  source <(tmms completion bash)                        # in ~/.bashrc
  source <(tmms completion zsh)                         # in ~/.zshrc (after compinit)
  tmms completion fish > ~/.config/fish/completions/tmms.fish
""",
         (arg("shell", choices=("bash", "zsh", "fish"), help="the shell"),)),
)}
"""The parser of ``tmms completion``, declared."""

BASH = r"""# tmms completion for bash: source <(tmms completion bash)
_tmms_complete() {
    local IFS=$'\n' cur="${COMP_WORDS[COMP_CWORD]}" found
    found=$(tmms __complete "$COMP_CWORD" "${COMP_WORDS[@]:1}" 2>/dev/null) || return 0
    if [[ $found == ":files" ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$found" -- "$cur"))
    fi
}
complete -o default -o bashdefault -F _tmms_complete tmms
"""

ZSH = r"""#compdef tmms
# tmms completion for zsh: source <(tmms completion zsh)  (after compinit)
_tmms() {
    local -a found
    found=("${(@f)$(tmms __complete $((CURRENT - 1)) "${(@)words[2,-1]}" 2>/dev/null)}")
    if [[ ${found[1]} == ":files" ]]; then
        _files
    else
        compadd -- ${found:#}
    fi
}
compdef _tmms tmms
"""

FISH = r"""# tmms completion for fish: tmms completion fish > ~/.config/fish/completions/tmms.fish
function __tmms_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l found (tmms __complete (math (count $words) - 1) $words[2..-1] 2>/dev/null)
    if test "$found[1]" = ":files"
        __fish_complete_path (commandline -ct)
    else
        printf '%s\n' $found
    end
end
complete -c tmms -f -a '(__tmms_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def cmd_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(SCRIPTS[args.shell])
    return ExitCode.OK


def complete(argv: Sequence[str], commands: Mapping[str, str] | None = None,
             build: Callable[[str | None], argparse.ArgumentParser] | None = None) -> int:
    """``tmms [globals] __complete CWORD WORD...``: print the candidates for word CWORD (1 = the command)."""
    globals_, rest = _split_globals(list(argv))
    try:
        cword = int(rest[1]) if len(rest) > 1 else 1
    except ValueError:
        return ExitCode.USAGE
    words = rest[2:]
    namespace = argparse.Namespace(**{"socket_name": None, "socket_path": None, **globals_})
    try:
        for candidate in candidates(words, cword, namespace, commands or {}, build):
            if candidate.isprintable() and not any(c.isspace() for c in candidate):
                say(candidate)  # a name or id that others wrote never brings a control character or space
    except (TmmsError, OSError):
        return ExitCode.NOTHING  # no tmux server, no pane: nothing to offer, and never a traceback
    return ExitCode.OK


def _split_globals(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """The -L/-S given before ``__complete`` (the script passes none; a wrapper may) and the rest."""
    found: dict[str, str] = {}
    while argv and argv[0] in WITH_VALUE and len(argv) > 1:
        key = "socket_name" if argv[0] in ("-L", "--socket-name") else "socket_path"
        found[key] = argv[1]
        argv = argv[2:]
    return found, argv


def candidates(words: Sequence[str], cword: int, namespace: argparse.Namespace, commands: Mapping[str, str],
               build: Callable[[str | None], argparse.ArgumentParser] | None) -> list[str]:
    """What may stand at ``words[cword - 1]`` (``words`` start after ``tmms``)."""
    before = list(words[: max(0, cword - 1)])
    current = words[cword - 1] if 0 < cword <= len(words) else ""
    for index, word in enumerate(before):  # the command line's own -L/-S choose the tmux server
        if word in WITH_VALUE and index + 1 < len(before):
            setattr(namespace, "socket_name" if word in ("-L", "--socket-name") else "socket_path", before[index + 1])
    command, after = _command(before)
    if command is None:
        if before and before[-1] in WITH_VALUE:
            return [FILES] if before[-1] in ("-S", "--socket-path") else []
        if current.startswith("-"):
            return ["-L", "-S", "-V", "-h", "--help", "--socket-name", "--socket-path", "--version"]
        return [*commands, "help"]
    if command == "help" or build is None:
        return [*commands] if command == "help" and len(after) == 0 else []
    parser = _subparser(build(command if command in commands else None), command)
    if parser is None:
        return []
    namespace.command = command
    return _for_parser(parser, after, current, namespace)


def _command(words: list[str]) -> tuple[str | None, list[str]]:
    """The command word among ``words`` (after the global options) and the words after it."""
    skip = False
    for index, word in enumerate(words):
        if skip:
            skip = False
        elif word in WITH_VALUE:
            skip = True
        elif not word.startswith("-"):
            return word, words[index + 1:]
    return None, []


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found = action.choices.get(name)
            return found if isinstance(found, argparse.ArgumentParser) else None
    return None


def _for_parser(parser: argparse.ArgumentParser, after: list[str], current: str,
                namespace: argparse.Namespace) -> list[str]:
    """Candidates within one command: an option's value, an option, or the next positional."""
    by_flag = {flag: action for action in parser._actions for flag in action.option_strings}
    if len(after) > 1 and after[-1] == "=":  # bash splits '--to=al' into '--to', '=', 'al'
        after = after[:-1]
    if after and after[-1] in by_flag and by_flag[after[-1]].nargs != 0:
        return _values(by_flag[after[-1]], namespace)
    positionals = [a for a in parser._actions if not a.option_strings]
    given = _positionals(after, by_flag)
    nested = next((a for a in positionals if isinstance(a, argparse._SubParsersAction)), None)
    if nested is not None and given:
        sub = nested.choices.get(given[0])
        return _for_parser(sub, after[after.index(given[0]) + 1:], current, namespace) if sub else []
    if current.startswith("-"):
        return sorted(flag for flag, action in by_flag.items() if action.help != argparse.SUPPRESS)
    for action in positionals:
        if isinstance(action, argparse._SubParsersAction):
            return sorted(action.choices)
        if action.nargs in ("*", "+"):
            return _values(action, namespace)
        if given:
            given = given[1:]
            continue
        return _values(action, namespace)
    return []


def _positionals(after: list[str], by_flag: Mapping[str, argparse.Action]) -> list[str]:
    """The positional words among ``after`` (an option's value is not one)."""
    found, skip = [], False
    for word in after:
        if skip:
            skip = False
        elif word.startswith("-"):
            action = by_flag.get(word.split("=", 1)[0])
            skip = action is not None and action.nargs != 0 and "=" not in word
        else:
            found.append(word)
    return found


def _values(action: argparse.Action, namespace: argparse.Namespace) -> list[str]:
    """The values an option or positional may take: its choices, names, groups, ids, or files."""
    if action.choices:
        return [str(c) for c in action.choices]
    metavar = str(action.metavar or action.dest).upper()
    if metavar in _FILE_METAVARS or action.dest in ("file", "file_opt"):
        return [FILES]
    if metavar in _NAME_METAVARS:
        names, groups = _names(namespace)
        return [*names, *(f"@{g}" for g in groups)]
    if metavar == "GROUP":
        return _names(namespace)[1]
    if metavar == "ID":
        return _dead_ids(namespace) if getattr(namespace, "command", None) == "dead" else _ids(namespace)
    return _other(metavar, namespace)


def _other(metavar: str, namespace: argparse.Namespace) -> list[str]:
    """Panes (their ids), agent kinds, journal events."""
    import os

    from .common import tmux_of

    if metavar == "PANE":
        return [pane.pane_id for pane in tmux_of(namespace).list_panes()]
    if metavar == "KIND":
        from ..agents import load_agents

        return [*load_agents(os.environ), "none"]
    if metavar == "EV":
        from .log import EVENTS

        return list(EVENTS)
    return []


def _names(namespace: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The registered names and the groups of this tmux server."""
    from ..registry import Registry
    from .common import tmux_of

    tmux = tmux_of(namespace)
    registry = Registry.from_panes(tmux.list_panes(), tmux.env)
    names = sorted({box.name for box in registry.mailboxes})
    groups = sorted({g for box in registry.mailboxes for g in box.groups})
    return names, groups


def _ids(namespace: argparse.Namespace) -> list[str]:
    """The short ids of this pane's mail (unread first, then read, queued and sent)."""
    from ..mailbox import everything
    from ..registry import here
    from .common import tmux_of

    letters = sorted(everything(here(tmux_of(namespace)).me), key=lambda x: -x.mtime)  # the newest first
    return list(dict.fromkeys(x.short_id for x in letters if x.short_id))


def _dead_ids(namespace: argparse.Namespace) -> list[str]:
    """The short ids of the dead letters (the running server's folder, else the config's), newest first."""
    from ..api import dead_letters, dead_list
    from .common import tmux_of

    letters = reversed(dead_list(dead_letters(tmux_of(namespace))))
    return list(dict.fromkeys(d.letter.short_id for d in letters if d.letter.short_id))

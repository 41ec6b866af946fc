"""A double of an agent CLI (Claude Code, Codex, Gemini CLI) for a tmux pane: its screen, its keys, a JSON log.

Run ``python tests/doubles/agent_double.py --kind claude|codex|gemini --log PATH [options]``. Standard library
only, so it starts fast under ``python -I -S``. Every change redraws the whole visible screen; no alternate screen.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import select
import signal
import sys
import termios
import time
import tty
from typing import Any, TextIO

PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
DIM, RESET = "\x1b[2m", "\x1b[0m"
ESCAPE_WAIT = 0.05  # a lone ESC: nothing follows within this
BURST_GAP, BURST_CHARS, BURST_WINDOW = 0.02, 3, 0.15  # Codex's paste-burst heuristic
REWIND_GAP = 1.0  # a second lone Escape within this opens Claude's Rewind menu
PICKS = {"@": "  @ src/  README.md  (Enter to select · Esc to cancel)",
         "/": "  /help  /clear  /compact  (Enter to select · Esc to cancel)"}
REWIND = "Rewind to…  Enter to select · Esc to cancel"
QUEUED = "  press up to edit queued messages"  # Claude's footer when a prompt came during a turn

KINDS: dict[str, dict[str, Any]] = {
    "claude": {
        "banner": ["✻ Welcome to Claude Code!", ""], "echo": "> ", "answer": "● ok: ",
        "marker": "❯\u00a0", "indent": "  ", "placeholder": 'Try "refactor the parser"',
        "busy": "{spin} Whirlpooling… (esc to interrupt · {secs}s)", "spinner": "✻✶✳✢✽",
        "finished": "✻ Cooked for {secs}s", "pasted": "[Pasted text #{n} +{lines} lines]", "border": True,
        "footer": "  ? for shortcuts",
        "stopped": "  ⎿  Interrupted · What should Claude do instead?", "escape": "interrupted",
        "menu": ["Bash command", "  rm -rf build", "Do you want to proceed?", "{0} 1. Yes",
                 "{1} 2. No, and tell Claude what to do differently (esc)"], "menu_mark": "❯",
    },
    "codex": {
        "banner": [">_ OpenAI Codex (double)", ""], "echo": "› ", "answer": "• ok: ",
        "marker": "› ", "indent": "  ", "placeholder": "Ask Codex to do anything",
        "busy": "{spin} Working ({secs}s • esc to interrupt)", "spinner": "•",
        "finished": "─ Worked for {secs}s ──────────", "pasted": "[Pasted Content {chars} chars]", "border": False,
        "footer": "  ? for shortcuts                47% context left",
        "stopped": "■ Conversation interrupted - tell the model what to do differently", "escape": "interrupted",
        "menu": ["Would you like to run the following command?", "  $ rm -rf build", "{0} 1. Yes, proceed (y)",
                 "{1} 2. No, and tell Codex what to do differently (esc)",
                 "Press enter to confirm or esc to cancel"], "menu_mark": "›",
    },
    "gemini": {
        "banner": ["GEMINI (double)", ""], "echo": "> ", "answer": "✦ ok: ",
        "marker": "> ", "indent": "  ", "placeholder": "Type your message or @path/to/file",
        "busy": "{spin} Thinking... (esc to cancel, {secs}s)", "spinner": "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏",
        "finished": "", "border": False, "pasted": "[Pasted Text: {lines} lines]",
        "footer": "~/project   no sandbox (see /docs)   gemini-2.5-pro (100% context left)",
        "stopped": "ℹ Request cancelled.", "escape": "cancelled",
        "menu": ["Allow execution of: 'rm'?", "  rm -rf build", "{0} 1. Allow once",
                 "{1} 2. No, suggest changes (esc)"], "menu_mark": "●",
    },
}


def wrap(line: str, cols: int) -> list[str]:
    """``line`` cut into pieces of at most ``cols`` characters (an empty line stays one line)."""
    return [line[i:i + cols] for i in range(0, len(line), cols)] or [""]


class Agent:
    """The agent's state, what it draws, and what it does with each key."""

    def __init__(self, opts: argparse.Namespace, log: TextIO) -> None:
        self.opts, self.look, self.logf = opts, KINDS[opts.kind], log
        self.composer: str = opts.draft
        self.history: list[str] = list(self.look["banner"])
        self.status = ""  # the finished line of the last turn
        self.turn: list[str] = []  # the prompts of the running turn
        self.queued = False  # a prompt came while busy (Claude shows that it is queued)
        self.starting, self.startup_until = True, time.monotonic() + opts.startup
        self.ready = False
        self.busy_since = self.busy_until = 0.0  # busy while busy_until is set
        self.menu, self.menu_choice = bool(opts.menu), 0
        self.picker, self.picker_at = "", 0
        self.rewind, self.last_escape = False, -10.0
        self.burst, self.last_typed = 0, -10.0
        self.pending, self.pending_since = "", 0.0  # an escape sequence not complete yet
        self.pasting, self.paste_buf = False, ""
        self.pasted: dict[str, str] = {}  # paste labels in the composer, and the pastes they stand for
        self.dropped: dict[str, str] = {}  # keys a menu swallowed during one read, by event
        self.size = (80, 24)

    def log(self, event: str, **fields: Any) -> None:
        """One JSON line in the log, flushed."""
        self.logf.write(json.dumps({"at": time.time(), "event": event, **fields}, ensure_ascii=False) + "\n")
        self.logf.flush()

    def state(self) -> str:
        """startup, menu, rewind, picker, busy or idle."""
        if self.starting:
            return "startup"
        for name in ("menu", "rewind", "picker"):
            if getattr(self, name):
                return name
        return "busy" if self.busy_until else "idle"

    # ---- input

    def feed(self, text: str, now: float) -> None:
        """A chunk read from the terminal: log it, then act on each key in it."""
        self.log("input", data=text, composer_before=self.composer, state=self.state())
        if self.starting:
            return
        buf, self.pending = self.pending + text, ""
        while buf:
            buf = self.paste_more(buf) if self.pasting else self.one_key(buf, now)
        for event, keys in self.dropped.items():
            self.log(event, data=keys)
        self.dropped = {}

    def one_key(self, buf: str, now: float) -> str:
        """Act on the key at the start of ``buf``; return the rest (an unfinished sequence waits in ``pending``)."""
        if buf[0] != "\x1b":
            self.key(buf[0], now)
            return buf[1:]
        finished = len(buf) > 1 and (buf[1] not in "[O" or (buf[1] == "O" and len(buf) > 2)
                                     or any("@" <= c <= "~" for c in buf[2:]))
        if not finished:
            self.pending, self.pending_since = buf, now
            return ""
        if buf[1] == "\x1b":
            self.escape(now)
            return buf[1:]
        if buf[1] == "[":
            end = next(i for i in range(2, len(buf)) if "@" <= buf[i] <= "~")
            self.csi(buf[:end + 1])
            return buf[end + 1:]
        if buf[1] == "O":
            self.log("ss3", seq=buf[:3])
            return buf[3:]
        self.log("meta", key=buf[1])  # ESC + key: Meta-key; Meta-Enter inserts a newline
        if buf[1] == "\r":
            self.key("\n", now)
        return buf[2:]

    def paste_more(self, buf: str) -> str:
        """Collect a bracketed paste; at its end put it in the composer and return what follows it."""
        self.paste_buf += buf
        end = self.paste_buf.find(PASTE_END)
        if end < 0:
            return ""
        text, rest = self.paste_buf[:end], self.paste_buf[end + len(PASTE_END):]
        self.pasting, self.paste_buf, self.burst = False, "", 0
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.log("paste", text=text)
        if self.menu or self.rewind:
            self.drop(text)
        else:
            self.edit(self.composer + self.stand_in(text))
        return rest

    def stand_in(self, text: str) -> str:
        """What the composer shows for a paste: the text, or past ``--collapse-paste`` characters a label."""
        if not 0 < self.opts.collapse_paste < len(text):
            return text
        label: str = self.look["pasted"].format(n=len(self.pasted) + 1, lines=text.count("\n") + 1, chars=len(text))
        self.pasted[label] = text
        return label

    def csi(self, seq: str) -> None:
        """A CSI sequence: the start of a paste, the menu's arrows; others are logged and ignored."""
        if seq == PASTE_START:
            self.pasting = True
        elif self.menu and seq in ("\x1b[A", "\x1b[B"):
            self.menu_choice = 0 if seq == "\x1b[A" else 1
        else:
            self.log("csi", seq=seq)

    def key(self, c: str, now: float) -> None:
        """One key that is not an escape sequence."""
        if self.menu and c in "12\r":
            self.answer_menu({"1": 0, "2": 1}.get(c, self.menu_choice), c)
        elif self.menu or self.rewind:
            self.drop(c)
        elif c == "\r":
            self.enter(now)
        elif c == "\n":
            self.edit(self.composer + "\n")
        elif c in "\x7f\x08":
            self.edit(self.composer[:-1])
        elif c == "\x15":
            self.edit("")
        elif c == "\x03" and self.busy_until:
            self.stop_turn()
        elif c == "\x03":
            self.edit("")
        elif c >= " ":
            self.typed(c, now)

    def drop(self, keys: str) -> None:
        """Keys that the menu or the Rewind menu swallows (logged once per read)."""
        event = "menu-keys" if self.menu else "rewind-keys"
        self.dropped[event] = self.dropped.get(event, "") + keys

    def typed(self, c: str, now: float) -> None:
        """A printable typed character: count the burst, open the picker, add it to the composer."""
        self.burst = self.burst + 1 if now - self.last_typed < BURST_GAP else 1
        self.last_typed = now
        if self.opts.picker and not self.picker and (c == "@" or (c == "/" and not self.composer)):
            self.picker, self.picker_at = c, len(self.composer)
            self.log("picker", trigger=c)
        self.edit(self.composer + c)

    def edit(self, text: str) -> None:
        """The composer now holds ``text``; a picker whose trigger was deleted closes."""
        self.composer = text
        if self.picker and len(text) <= self.picker_at:
            self.picker = ""

    def enter(self, now: float) -> None:
        """Enter: the picker or a paste burst may swallow it; otherwise non-blank text is submitted."""
        if self.picker:
            self.picker = ""
            self.log("picker-enter", composer=self.composer)
        elif self.opts.paste_burst and self.burst >= BURST_CHARS and now - self.last_typed < BURST_WINDOW:
            self.log("swallowed-enter", composer=self.composer)
        elif self.composer.strip():
            self.submit(now)

    def escape(self, now: float) -> None:
        """A lone Escape: closes a menu or picker, interrupts a turn, or (Claude, twice) opens Rewind."""
        self.log("escape", state=self.state())
        if self.menu:
            self.answer_menu(1, "Escape")
        elif self.rewind:
            self.rewind = False
            self.log("rewind-closed")
        elif self.picker:
            self.picker = ""
            self.log("picker-closed")
        elif self.busy_until:
            self.stop_turn()
        elif self.opts.kind == "claude" and now - self.last_escape < REWIND_GAP:
            self.rewind = True
            self.log("rewind")
        self.last_escape = -10.0 if self.rewind else now

    def answer_menu(self, choice: int, key: str) -> None:
        """The permission menu is answered: 0 is yes, 1 is no."""
        self.menu, self.menu_choice = False, 0
        self.log("menu-answer", choice="yes" if choice == 0 else "no", key=key)

    # ---- turns

    def submit(self, now: float) -> None:
        """The composer's text becomes a prompt: logged, echoed into the history, and a turn starts."""
        text, self.composer = self.composer, ""
        self.log("prompt", text=self.expanded(text), state=self.state())
        self.queued = bool(self.busy_until)
        first, *more = text.split("\n")
        self.history += [self.look["echo"] + first, *(self.look["indent"] + line for line in more)]
        self.turn.append(first)
        self.start_busy(now, self.opts.busy, "prompt")

    def expanded(self, text: str) -> str:
        """``text`` with each paste label replaced by the paste it stands for."""
        for label, pasted in self.pasted.items():
            text = text.replace(label, pasted)
        return text

    def start_busy(self, now: float, secs: float, reason: str) -> None:
        """Busy for ``secs`` more seconds (a turn that is running is extended); 0 finishes at once."""
        if not self.busy_until:
            self.busy_since, self.status = now, ""
            if secs <= 0:
                self.finish(now)
                return
            self.log("busy", reason=reason, secs=secs)
        self.busy_until = max(self.busy_until, now + secs)

    def finish(self, now: float) -> None:
        """The turn ends: its answers go into the history and the finished line shows."""
        if self.busy_until:
            self.log("idle")
        self.history += [line for prompt in self.turn for line in (self.look["answer"] + prompt, "")]
        self.turn, self.busy_until, self.queued = [], 0.0, False
        self.status = self.look["finished"].format(secs=round(now - self.busy_since))

    def stop_turn(self) -> None:
        """Escape or Ctrl-C while busy: the turn stops (Claude, Codex: interrupted; Gemini: cancelled)."""
        self.log(self.look["escape"])
        self.history += [self.look["stopped"], ""]
        self.turn, self.busy_until, self.status, self.queued = [], 0.0, "", False
        self.log("idle")

    def tick(self, now: float) -> None:
        """Time passed: a lone Escape, the end of start-up, the end of a turn."""
        if self.pending and now - self.pending_since >= ESCAPE_WAIT:
            pending, self.pending = self.pending, ""
            if pending == "\x1b":
                self.escape(now)
            else:
                self.log("csi", seq=pending)
        if self.starting and now >= self.startup_until:
            self.starting = False
            if self.opts.busy_at_start > 0:
                self.start_busy(now, self.opts.busy_at_start, "start")
        if self.busy_until and now >= self.busy_until:
            self.finish(now)

    def timeout(self, now: float) -> float | None:
        """How long the loop may wait for input before something is due."""
        due = [self.pending_since + ESCAPE_WAIT if self.pending else 0.0,
               self.startup_until if self.starting else 0.0,
               self.busy_until, now + 0.25 if self.busy_until else 0.0]  # the spinner turns
        return max(0.0, min(d for d in due if d) - now) if any(due) else None

    def signal(self, sig: int, now: float) -> None:
        """SIGUSR1: busy as if a person submitted; SIGUSR2: the permission menu on or off; SIGWINCH: resize."""
        if sig == signal.SIGUSR1:
            self.start_busy(now, self.opts.busy, "signal")
        elif sig == signal.SIGUSR2:
            self.menu, self.menu_choice = not self.menu, 0
            self.log("menu", on=self.menu)
        elif sig == signal.SIGWINCH:
            self.resize()
            self.log("resize", size=list(self.size))

    # ---- screen

    def resize(self) -> None:
        """Take the terminal's size."""
        try:
            self.size = os.get_terminal_size(1)
        except OSError:
            self.size = os.terminal_size((80, 24))

    def lines(self, now: float, cols: int, rows: int) -> tuple[list[str], tuple[int, int] | None]:
        """The screen's lines from the top, and the composer's cursor (line, column) when it shows."""
        if self.starting:
            return ["Starting…"], None
        look = self.look
        top = self.history[-rows:]
        if self.busy_until:
            spin = look["spinner"][int(now * 4) % len(look["spinner"])]
            top += [look["busy"].format(spin=spin, secs=int(now - self.busy_since)), ""]
        elif self.status:
            top += [self.status, ""]
        if self.menu:
            marks = [look["menu_mark"] if i == self.menu_choice else " " for i in (0, 1)]
            top += [line.format(*marks) for line in look["menu"]]
        elif self.rewind:
            top += [REWIND, "", "  " + (self.turn[-1] if self.turn else "(current)")]
        out = [piece for line in top for piece in wrap(line, cols)]
        if self.menu or self.rewind:
            return out, None
        border = ["─" * cols] if look["border"] else []
        box, (row, col) = self.composer_lines(cols)
        cursor = (len(out) + len(border) + row, col)
        queued = self.queued and self.opts.kind == "claude"
        footer = wrap(PICKS[self.picker] if self.picker else QUEUED if queued else look["footer"], cols)
        return [*out, *border, *box, *border, *footer], cursor

    def composer_lines(self, cols: int) -> tuple[list[str], tuple[int, int]]:
        """The composer: marker and text (later lines indented), or the dim placeholder; and the cursor in it."""
        marker, indent = self.look["marker"], self.look["indent"]
        if not self.composer:
            return [marker + DIM + self.look["placeholder"][:max(cols - len(marker), 0)] + RESET], (0, len(marker))
        out: list[str] = []
        for n, text in enumerate(self.composer.split("\n")):
            pieces = wrap(text, max(cols - len(marker), 1))
            out += [(marker if n == 0 and k == 0 else indent) + piece for k, piece in enumerate(pieces)]
        return out, (len(out) - 1, len(out[-1]))

    def draw(self, now: float) -> None:
        """Redraw every row of the visible screen; the cursor goes to the end of the composer's text."""
        cols, rows = self.size
        lines, cursor = self.lines(now, cols, rows)
        skip = max(0, len(lines) - rows)
        frame = ["\x1b[?25l"] + [f"\x1b[{r + 1};1H\x1b[2K" + (lines[skip + r] if skip + r < len(lines) else "")
                                 for r in range(rows)]
        if cursor and cursor[0] >= skip:
            frame.append(f"\x1b[{cursor[0] - skip + 1};{min(cursor[1], cols - 1) + 1}H\x1b[?25h")
        write("".join(frame))


def write(text: str) -> None:
    """All of ``text`` to the terminal."""
    data = text.encode()
    while data:
        data = data[os.write(1, data):]


def loop(agent: Agent, fd: int, wake: int) -> None:
    """Draw, wait for keys, signals or a deadline, act; until stdin closes or a terminating signal."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    agent.resize()
    while True:
        now = time.monotonic()
        agent.tick(now)
        agent.draw(now)
        if not agent.ready and not agent.starting:
            agent.ready = True
            agent.log("ready", state=agent.state(), size=list(agent.size))
        readable, _, _ = select.select([fd, wake], [], [], agent.timeout(now))
        if wake in readable:
            for sig in os.read(wake, 64):
                if sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                    return
                agent.signal(sig, time.monotonic())
        if fd in readable:
            data = os.read(fd, 4096)
            if not data:
                return
            agent.feed(decoder.decode(data), time.monotonic())


def run(agent: Agent, opts: argparse.Namespace) -> None:
    """Raw mode, bracketed paste, signals through a wake-up pipe; the terminal is restored at the end."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    wake, wake_w = os.pipe()
    for end in (wake, wake_w):
        os.set_blocking(end, False)
    signal.set_wakeup_fd(wake_w)
    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        if saved:
            tty.setraw(fd)
        if not opts.no_bracketed_paste:
            write("\x1b[?2004h")
        loop(agent, fd, wake)
    finally:
        agent.log("exit")
        try:  # the pane may be gone already
            write("\x1b[?2004l\x1b[?25h")
            if saved:
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        except (OSError, termios.error):
            pass


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description="A double of an agent CLI for tmux tests.")
    parser.add_argument("--kind", choices=sorted(KINDS), required=True)
    parser.add_argument("--log", required=True, help="JSON lines of what happened")
    parser.add_argument("--busy", type=float, default=1.0, help="seconds a turn takes (0: never busy)")
    parser.add_argument("--busy-at-start", type=float, default=0.0, help="start busy for S seconds")
    parser.add_argument("--startup", type=float, default=0.0, help="draw only 'Starting…' for S seconds")
    parser.add_argument("--draft", default="", help="text the composer starts with")
    parser.add_argument("--paste-burst", action="store_true", help="Enter right after typed bursts is swallowed")
    parser.add_argument("--picker", action="store_true", help="typed @ or a leading / open a picker")
    parser.add_argument("--menu", action="store_true", help="a permission menu shows at start")
    parser.add_argument("--collapse-paste", type=int, default=0, metavar="N",
                        help="a bracketed paste longer than N characters shows as a label ([Pasted text #1 +3 lines])")
    parser.add_argument("--no-bracketed-paste", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the double until its pane closes."""
    opts = parse(argv)
    with open(opts.log, "a", encoding="utf-8") as log:
        agent = Agent(opts, log)
        agent.log("start", pid=os.getpid(), kind=opts.kind, argv=sys.argv[1:])
        run(agent, opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())

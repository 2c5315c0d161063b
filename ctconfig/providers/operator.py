"""The person at the terminal, behind a small interface: show lines, ask for one line (maybe hidden).

The dashboard provider talks to an `Operator`; `TerminalOperator` is the real
one, and tests drive it through a pseudo-terminal. It reads a line without
blocking the event loop (so the journal keeps flushing while the operator
works in the dashboard) and with the terminal's own echo and signals turned
off for that line: hidden input is never echoed, and Ctrl-C arrives as a key
(`OperatorInterrupt`), so the session can stop cleanly wherever it is.
Between prompts the terminal is left exactly as it was.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Protocol, TextIO

MAX_LINE = 1024
"""Characters kept of one answer; a CleverTap key is 12 or 32. The rest is dropped (and then refused)."""

_ENTER = ("\r", "\n")
_ERASE = ("\x7f", "\x08")
_INTERRUPT = "\x03"
_END = "\x04"
_KILL_LINE = "\x15"
_ESCAPE = "\x1b"


class OperatorInterrupt(Exception):
    """The operator pressed Ctrl-C, or the terminal closed: stop, without knowing what was done."""


class Operator(Protocol):
    """Someone who performs dashboard steps and answers questions."""

    def show(self, text: str) -> None:
        """Show lines to the operator (no secret is ever passed here)."""
        ...

    async def ask(self, prompt: str, *, hidden: bool = False) -> str:
        """One line from the operator, without its line ending; `hidden` is not echoed.

        Raises `OperatorInterrupt` on Ctrl-C or when the input ends.
        """
        ...


class LineEditor:
    """Turns keys into one line: Enter ends it, Backspace and Ctrl-U edit it, Ctrl-C interrupts.

    Escape sequences (arrow keys) are dropped. Keys typed after Enter are kept for the next line.
    """

    def __init__(self) -> None:
        self.line: list[str] = []
        self.ahead = ""
        self._in_escape = False

    def feed(self, text: str) -> tuple[bool, str]:
        """Take typed text; returns (line finished, what to echo if the line is shown)."""
        echo: list[str] = []
        for index, char in enumerate(text):
            if self._escape(char):
                continue
            if char in _ENTER:
                self.ahead = text[index + 1 :].lstrip("\n")
                return True, "".join(echo)
            if char == _INTERRUPT or (char == _END and not self.line):
                raise OperatorInterrupt("Ctrl-C" if char == _INTERRUPT else "end of input")
            echo.append(self._edit(char))
        return False, "".join(echo)

    def _escape(self, char: str) -> bool:
        """True while inside an escape sequence (ESC, `[`, parameters, a final letter)."""
        if char == _ESCAPE:
            self._in_escape = True
            return True
        if self._in_escape:
            self._in_escape = char == "[" or not ("@" <= char <= "~")
            return True
        return False

    def _edit(self, char: str) -> str:
        if char in _ERASE:
            if not self.line:
                return ""
            self.line.pop()
            return "\b \b"
        if char == _KILL_LINE:
            erased, self.line = len(self.line), []
            return "\b \b" * erased
        if char < " " or len(self.line) >= MAX_LINE:
            return ""
        self.line.append(char)
        return char


class TerminalOperator:
    """The operator at this process's terminal (stdin must be a TTY: the CLI checks)."""

    def __init__(self, fd: int | None = None, out: TextIO | None = None) -> None:
        self._fd = sys.stdin.fileno() if fd is None else fd
        self._out = out or sys.stdout
        self._ahead = ""

    def show(self, text: str) -> None:
        self._out.write(text if text.endswith("\n") else text + "\n")
        self._out.flush()

    async def ask(self, prompt: str, *, hidden: bool = False) -> str:
        editor = LineEditor()
        try:
            with _raw_line_mode(self._fd):  # before the prompt: a key pasted at once is never echoed
                self._out.write(prompt)
                self._out.flush()
                ahead, self._ahead = self._ahead, ""
                done, echo = editor.feed(ahead)
                self._write_echo(echo, hidden)
                if not done:
                    await self._read_until_enter(editor, hidden)
        finally:
            self._out.write("\n")
            self._out.flush()
        self._ahead = editor.ahead
        return "".join(editor.line)

    async def _read_until_enter(self, editor: LineEditor, hidden: bool) -> None:
        loop = asyncio.get_running_loop()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            chunk = await _readable(loop, self._fd)
            if not chunk:
                raise OperatorInterrupt("end of input")
            done, echo = editor.feed(decoder.decode(chunk))
            self._write_echo(echo, hidden)
            if done:
                return

    def _write_echo(self, echo: str, hidden: bool) -> None:
        if echo and not hidden:
            self._out.write(echo)
            self._out.flush()


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> bytes:
    """The next bytes from `fd`, awaited without blocking the loop."""
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
    try:
        return os.read(fd, 4096)
    except OSError:  # the terminal went away
        return b""


@contextlib.contextmanager
def _raw_line_mode(fd: int) -> Iterator[None]:
    """No canonical editing, echo or signal keys for one answer; the terminal restored after."""
    import termios

    try:
        saved = termios.tcgetattr(fd)
    except termios.error:  # not a terminal (a test feeding a pipe): read it as it comes
        yield
        return
    raw = list(saved)
    raw[3] = raw[3] & ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
    control = list(saved[6])
    control[termios.VMIN] = 1
    control[termios.VTIME] = 0
    raw[6] = control
    termios.tcsetattr(fd, termios.TCSANOW, raw)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)

"""The terminal operator: one line at a time from a real pseudo-terminal, hidden input never echoed,
Ctrl-C a key that stops the session, the terminal left as it was found."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import termios
from collections.abc import Iterator

import pytest

from ctconfig.providers.operator import MAX_LINE, LineEditor, OperatorInterrupt, TerminalOperator


def test_the_line_editor_handles_enter_backspace_kill_and_escape_sequences() -> None:
    editor = LineEditor()
    assert editor.feed("abx\x7fc") == (False, "abx\b \bc")
    assert editor.feed("\x1b[D\x1b[1;5Cd\x15") == (False, "d" + "\b \b" * 4)
    assert editor.feed("KEY\rnext") == (True, "KEY")
    assert "".join(editor.line) == "KEY" and editor.ahead == "next"


def test_the_line_editor_bounds_an_answer_and_stops_on_ctrl_c_or_end_of_input() -> None:
    editor = LineEditor()
    editor.feed("x" * (MAX_LINE + 500))
    assert len(editor.line) == MAX_LINE
    with pytest.raises(OperatorInterrupt, match="Ctrl-C"):
        LineEditor().feed("half\x03")
    with pytest.raises(OperatorInterrupt, match="end of input"):
        LineEditor().feed("\x04")
    assert LineEditor().feed("a\x04b\n") == (True, "ab")  # Ctrl-D inside a line is ignored


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """A real pseudo-terminal: (the operator's end, the keyboard's end)."""
    keyboard, tty = os.openpty()
    try:
        yield tty, keyboard
    finally:
        os.close(keyboard)
        os.close(tty)


def _ask(tty: int, keyboard: int, typed: bytes, hidden: bool) -> tuple[str, str, bytes]:
    out = io.StringIO()
    operator = TerminalOperator(fd=tty, out=out)

    async def session() -> str:
        asking = asyncio.ensure_future(operator.ask("Key: ", hidden=hidden))
        await asyncio.sleep(0)  # one turn: the prompt is up and echo off (ask runs to its first wait)
        os.write(keyboard, typed)
        return await asking

    answer = asyncio.run(session())
    echoed = b""
    os.set_blocking(keyboard, False)
    with contextlib.suppress(BlockingIOError):  # nothing there: nothing was echoed
        echoed = os.read(keyboard, 4096)
    return answer, out.getvalue(), echoed


def test_hidden_input_is_read_without_any_echo_and_the_terminal_is_restored(
    terminal: tuple[int, int],
) -> None:
    tty, keyboard = terminal
    before = termios.tcgetattr(tty)
    answer, shown, echoed = _ask(tty, keyboard, b"ABC-DEF-GHIJ\r", hidden=True)
    assert answer == "ABC-DEF-GHIJ"
    assert "ABC" not in shown and b"ABC" not in echoed  # neither ctconfig nor the terminal echoed it
    assert shown == "Key: \n"
    assert termios.tcgetattr(tty) == before


def test_visible_input_is_echoed_by_ctconfig_and_ctrl_c_is_a_key(terminal: tuple[int, int]) -> None:
    tty, keyboard = terminal
    answer, shown, _ = _ask(tty, keyboard, b"yes\x7fs\r", hidden=False)
    assert answer == "yes" and shown == "Key: yes\b \bs\n"
    before = termios.tcgetattr(tty)
    with pytest.raises(OperatorInterrupt):
        _ask(tty, keyboard, b"half\x03", hidden=True)
    assert termios.tcgetattr(tty) == before

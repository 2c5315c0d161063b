"""Apply's progress lines: gathered while the event loop runs and written together, none lost."""

from __future__ import annotations

import asyncio
import io

import pytest

from ctconfig.cli.apply_view import TerminalUi


class CountingStream(io.StringIO):
    """A stdout that counts its writes (unbuffered, as with PYTHONUNBUFFERED)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def counting_stdout(monkeypatch: pytest.MonkeyPatch) -> CountingStream:
    """sys.stdout replaced for the test's body (pytest's capture sets its own for each phase)."""
    stream = CountingStream()
    monkeypatch.setattr("sys.stdout", stream)
    return stream


def test_lines_reported_together_are_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    out = counting_stdout(monkeypatch)
    ui = TerminalUi(str, every=1e-6)
    lines = [f"a{n}/account_passcode/p{n:03d}: created" for n in range(500)]

    async def scenario() -> None:
        for line in lines:
            ui.progress(line)
        assert out.writes == 0  # gathered, not written line by line
        await asyncio.sleep(0.001)  # past the timer's moment: its turn of the loop

    asyncio.run(scenario())
    assert out.writes == 1
    assert out.getvalue() == "\n".join(lines) + "\n"


def test_lines_gathered_when_the_loop_ends_are_written_by_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    out = counting_stdout(monkeypatch)
    ui = TerminalUi(str, every=3600.0)

    async def scenario() -> None:
        ui.progress("a0/account_passcode/p000: created")

    asyncio.run(scenario())
    assert out.getvalue() == ""
    ui.flush()
    assert out.getvalue() == "a0/account_passcode/p000: created\n"


def test_a_note_comes_after_the_progress_before_it(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = CountingStream()
    monkeypatch.setattr("sys.stdout", shared)
    monkeypatch.setattr("sys.stderr", shared)
    ui = TerminalUi(str, every=3600.0)

    async def scenario() -> None:
        ui.progress("first: created")
        ui.note("Stopping: letting operations in flight finish")

    asyncio.run(scenario())
    assert shared.getvalue() == "first: created\nStopping: letting operations in flight finish\n"


def test_progress_outside_an_event_loop_is_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    out = counting_stdout(monkeypatch)
    ui = TerminalUi(str)
    ui.progress("a0/user_passcode/x@example.com: granted")
    assert out.getvalue() == "a0/user_passcode/x@example.com: granted\n"


def test_with_every_0_each_line_is_written_at_once_even_in_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    out = counting_stdout(monkeypatch)
    ui = TerminalUi(str, every=0.0)  # a guided session: the next question blocks the loop

    async def scenario() -> None:
        ui.progress("demo/account_passcode/b: skipped by the operator; left for the next plan")
        assert out.getvalue() == "demo/account_passcode/b: skipped by the operator; left for the next plan\n"

    asyncio.run(scenario())

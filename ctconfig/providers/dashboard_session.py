"""The guided session's conversations with the operator: show an action, take a key, confirm a step.

Every answer is one line. `s` skips the action (left for the next plan), `q`
stops the session, Ctrl-C stops it too; each becomes a `NotPerformedError`
the applier understands. A pasted API Key is registered with the redactor at
once, never echoed or quoted, checked for shape, and only accepted once the
caller's `prove` has nothing against it. Conversations are serialised: one
question on the terminal at a time, whoever asks.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ctconfig.domain import passcode_shape_problem
from ctconfig.errors import ProviderError
from ctconfig.providers.dashboard_steps import DashboardSteps, plain
from ctconfig.providers.guided import NotPerformedError
from ctconfig.providers.operator import Operator, OperatorInterrupt
from ctconfig.redaction import remember_secret
from ctconfig.secrets import Secret

Prove = Callable[[Secret], Awaitable[str | None]]
"""Why a key cannot be accepted (wrong account, mistyped, another passcode's), or None."""
Check = Callable[[], Awaitable[str | None]]
"""Why a confirmed step does not look done yet, or None when it does (or cannot be checked)."""

MIN_REMEMBERED = 8
"""Shorter answers are not registered as secrets: redacting `s` or `yes` everywhere would garble output."""
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SKIPPED = "skipped by the operator; left for the next plan"
STOPPED = "the operator stopped the session; left for the next apply"


def safe(text: str) -> str:
    """Text for the terminal: control characters shown, never interpreted."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


@dataclass
class Progress:
    """What the operator has done so far of the current action, for an honest skip message."""

    done: list[str] = field(default_factory=list)

    def not_performed(self, *, stop: bool = False, maybe_made: bool = False) -> NotPerformedError:
        """The error that leaves the rest of this action for later."""
        words = STOPPED if stop else SKIPPED
        if self.done:
            words = f"{words} (already done: {'; '.join(self.done)})"
        return NotPerformedError(words, stop=stop, maybe_made=maybe_made)


class GuidedSession:
    """The operator, asked one question at a time."""

    def __init__(self, operator: Operator) -> None:
        self.operator = operator
        self.progress = Progress()
        self._turn = asyncio.Lock()

    def say(self, text: str) -> None:
        """One or more lines to the operator."""
        self.operator.show(safe(text) if "\n" not in text else "\n".join(map(safe, text.split("\n"))))

    def announce(self, heading: str, steps: DashboardSteps) -> None:
        """Show an action: its heading, numbered dashboard steps, what to expect, what ctconfig checks."""
        self.progress = Progress()
        lines = ["", heading, plain(steps.title)]
        lines += [f"  {n}. {plain(step)}" for n, step in enumerate(steps.steps, start=1)]
        if steps.caution is not None:
            lines.append(f"  Caution: {plain(steps.caution)}")
        lines += [f"  Expected: {plain(line)}" for line in steps.expected]
        lines.append(f"  ctconfig checks: {plain(steps.checked)}")
        self.say("\n".join(lines))

    async def ask(self, prompt: str, *, hidden: bool = False) -> str:
        """One answer; Ctrl-C or the end of input stops the session (outcome unknown)."""
        async with self._turn:
            try:
                return await self.operator.ask(safe(prompt), hidden=hidden)
            except OperatorInterrupt:
                raise self.progress.not_performed(stop=True, maybe_made=True) from None

    async def confirm(self, what: str, check: Check | None) -> None:
        """Wait until the operator says `what` is done and `check` agrees; `s`/`q` leave it undone."""
        prompt = f"{what} - Enter when done, s = skip, q = stop: "
        while True:
            answer = (await self.ask(prompt)).strip().lower()
            if answer in ("s", "q"):
                raise self.progress.not_performed(stop=answer == "q")
            if answer not in ("", "y", "yes", "done"):
                self.say("Press Enter once it is done in the dashboard, or type s or q.")
                continue
            problem = await _checked(check)
            if problem is None:
                self.progress.done.append(what[:1].lower() + what[1:])
                return
            self.say(f"Not confirmed: {problem}.")
            prompt = "Fix it in the dashboard - Enter to check again, s = skip, q = stop: "

    async def take_key(self, name: str, prove: Prove, *, twice: bool = False) -> Secret:
        """The API Key of a passcode the operator just created, proven before it is accepted.

        `s` and `q` ask whether the passcode was made: a skipped one that was made cannot
        be left behind silently (`KeyLost`); a stop leaves the intent open when it may
        have been (the next apply asks for the key).
        """
        prompt = f"Paste the API Key of {name} (hidden; s = skip, q = stop): "
        while True:
            text = (await self.ask(prompt, hidden=True)).strip()
            if text.lower() in ("s", "q"):
                await self._leave_without_key(name, stop=text.lower() == "q")
            secret = await self._accepted(text, prove, twice)
            if secret is not None:
                return secret
            prompt = f"Paste the API Key of {name} again (hidden; s = skip, q = stop): "

    async def take_lost_key(self, name: str, prove: Prove, *, twice: bool = False) -> Secret | None:
        """An interrupted create: its key, None if it was never made; `l` says it is lost."""
        prompt = (
            f"If you created {name}, paste its API Key (hidden); n = it was not created, "
            "l = created but its key is lost, q = stop: "
        )
        while True:
            text = (await self.ask(prompt, hidden=True)).strip()
            choice = text.lower()
            if choice == "n":
                return None
            if choice == "l":
                raise KeyLost(f"{name} was created but its API Key is lost")
            if choice == "q":
                raise self.progress.not_performed(stop=True, maybe_made=True)
            secret = await self._accepted(text, prove, twice)
            if secret is not None:
                return secret

    async def _leave_without_key(self, name: str, *, stop: bool) -> None:
        made = await self._yes(f"Did you already create {name} in the dashboard? (y/N): ")
        if made and not stop:
            raise KeyLost(f"{name} was created but the operator did not paste its API Key")
        raise self.progress.not_performed(stop=stop, maybe_made=made)

    async def _yes(self, prompt: str) -> bool:
        return (await self.ask(prompt)).strip().lower() in ("y", "yes")

    async def _accepted(self, text: str, prove: Prove, twice: bool) -> Secret | None:
        """The key, if it has the right shape, passes `prove` (and matches a second paste)."""
        if len(text) >= MIN_REMEMBERED:
            remember_secret(text)
        problem = passcode_shape_problem(text)
        if problem is None:
            problem = await prove(Secret(text))
        if problem is None and twice:
            again = (await self.ask("Paste it once more to confirm (hidden): ", hidden=True)).strip()
            problem = None if again == text else "the two pastes differ"
        if problem is not None:
            self.say(f"Refused: {problem}.")
            return None
        return Secret(text)


class KeyLost(ProviderError):
    """The operator made the passcode but cannot give its key: it must be recorded tainted."""


async def _checked(check: Check | None) -> str | None:
    if check is None:
        return None
    try:
        return await check()
    except ProviderError as exc:
        return f"the credential check could not be made ({exc})"

"""How plan and apply run: an event loop that never formats the 10,000-resource result it
returns, planning with the cycle collector paused (and what it made frozen), and an apply whose
collector leaves alone what existed before it (back to normal afterwards)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from ctconfig.domain import AccountSnapshot, AccountTarget
from ctconfig.plan import Plan
from ctconfig.providers.base import IssuedPasscode
from ctconfig.providers.sandbox import SandboxProvider
from ctconfig.service.applying import ApplyRequest, apply
from ctconfig.service.planning import PlanRequest, prepare, run_async
from ctconfig.service.workspace import Workspace

ACCOUNT_ID = "TEST-R78-ZZK-955Z"


class Result:
    """A result that counts how often it is formatted."""

    formatted = 0

    def __repr__(self) -> str:
        Result.formatted += 1
        return "Result()"


def test_the_result_comes_back_and_is_never_formatted() -> None:
    # Python 3.11's asyncio.run formats its main task, result included, when it restores SIGINT.
    result = Result()

    async def main() -> Result:
        return result

    assert run_async(main()) is result
    assert Result.formatted == 0


def test_an_error_comes_back_as_it_was_raised() -> None:
    async def main() -> None:
        raise LookupError("nothing here")

    with pytest.raises(LookupError, match="nothing here"):
        run_async(main())


class WatchingProvider(SandboxProvider):
    """The sandbox, noting whether the cycle collector ran while accounts were being read."""

    collector_on_while_reading: list[bool] = []

    async def read_account(self, target: AccountTarget) -> AccountSnapshot:
        self.collector_on_while_reading.append(gc.isenabled())
        return await super().read_account(target)


def test_planning_pauses_the_cycle_collector_and_turns_it_back_on_with_what_exists_frozen(
    tmp_path: Path,
) -> None:
    (tmp_path / "ctconfig.yaml").write_text(
        "version: 1\n"
        f"state: {{backend: local, path: '{tmp_path / 'state.json'}'}}\n"
        f"accounts:\n  demo:\n    id: {ACCOUNT_ID}\n    account_passcodes:\n      seg: {{expires_in: 90d}}\n"
    )
    ws = Workspace.open(str(tmp_path / "ctconfig.yaml"))
    provider = WatchingProvider(tmp_path / "sandbox.db")
    assert gc.isenabled()

    async def main() -> int:
        try:
            prepared = await prepare(ws, provider, ws.sink(), PlanRequest(), may_write=False)
        finally:
            await provider.aclose()
        return len(prepared.plan.actions)

    gc.unfreeze()
    try:
        assert run_async(main()) == 1
        assert provider.collector_on_while_reading == [False]
        assert gc.isenabled()
        assert gc.get_freeze_count() > 1000  # the config, state and plan: not walked again
    finally:
        gc.unfreeze()


class FreezeWatchingProvider(SandboxProvider):
    """The sandbox, noting how many objects the cycle collector was told to leave alone."""

    frozen_while_creating: list[int] = []

    async def create_passcode(
        self,
        target: AccountTarget,
        name: str,
        expires_in_days: int | None,
        *,
        idempotency_key: str | None = None,
    ) -> IssuedPasscode:
        self.frozen_while_creating.append(gc.get_freeze_count())
        return await super().create_passcode(target, name, expires_in_days, idempotency_key=idempotency_key)


class QuietUi:
    def show_plan(self, plan: Plan) -> None:
        pass

    def confirm(self, plan: Plan) -> bool:
        return True

    def progress(self, line: str) -> None:
        pass

    def note(self, line: str) -> None:
        pass


def test_apply_keeps_the_collector_off_what_existed_before_it_and_lets_go_afterwards(tmp_path: Path) -> None:
    (tmp_path / "ctconfig.yaml").write_text(
        "version: 1\n"
        f"state: {{backend: local, path: '{tmp_path / 'state.json'}'}}\n"
        f"secrets: {{sink: file, path: '{tmp_path / 'secrets'}'}}\n"
        f"accounts:\n  demo:\n    id: {ACCOUNT_ID}\n    account_passcodes:\n      seg: {{expires_in: 90d}}\n"
    )
    loaded = Workspace.open(str(tmp_path / "ctconfig.yaml"))

    class Watched(Workspace):
        def provider(self, operator: object = None, *, read_only: bool = False) -> FreezeWatchingProvider:
            return FreezeWatchingProvider(tmp_path / "sandbox.db")

    ws = Watched(loaded.loaded, loaded.backend)
    gc.unfreeze()  # what an earlier plan in this process left frozen
    report = apply(ws, ApplyRequest(PlanRequest(), auto_approve=True), QuietUi())
    assert report.result is not None and report.result.ok
    [frozen] = FreezeWatchingProvider.frozen_while_creating
    assert frozen > 1000  # the config, state and plan, among everything loaded before
    assert gc.get_freeze_count() == 0

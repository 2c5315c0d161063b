"""An interrupted apply's journal is finished by the next run: every open intent ends with the
secret in the sink (replayed with the same idempotency key) or the passcode tainted, never lost.

The run "killed" here is re-enacted exactly: its journal entries are written and its request
is sent to the real sandbox with the intent's key, and then nothing more happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ctconfig.actions import ActionKind, PasscodeAction, PasscodeSettings
from ctconfig.applier import Applier, Status
from ctconfig.domain import Address
from ctconfig.errors import UnavailableError
from ctconfig.plan import Plan, PlanError, PlanScope
from ctconfig.providers.base import IssuedPasscode
from ctconfig.providers.sandbox import SandboxProvider
from ctconfig.sandbox.store import SandboxStore
from ctconfig.secrets import Secret
from ctconfig.service.applying import ApplyRequest, apply
from ctconfig.service.planning import PlanRequest, make_plan
from ctconfig.service.recovery import recover
from ctconfig.service.workspace import Workspace
from ctconfig.sinks import SecretRef
from ctconfig.sinks.file import FileSink
from ctconfig.state.document import AccountPasscodeRecord, Origin, State
from ctconfig.state.journal import Intent

ACCOUNT_ID = "TEST-R78-ZZK-955Z"
SEG = Address.account_passcode("demo", "seg")


@dataclass
class Setup:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "sandbox.db"

    @property
    def sink(self) -> FileSink:
        return FileSink(self.root / "secrets")

    def workspace(self) -> Workspace:
        return Workspace.open(str(self.root / "ctconfig.yaml"))

    def interrupted_create(self, *, create: bool, key: str | None = None) -> Intent:
        """Re-enact a run killed after its intent was durable (and, if `create`, after the request)."""
        ws = self.workspace()
        state, _ = ws.read_state()
        journal = ws.journal()
        journal.begin(state.lineage, state.serial)
        intent = Intent.new(SEG, ACCOUNT_ID, "seg", 90)
        journal.append([intent])
        if create:
            with SandboxStore(self.db) as store:
                store.ensure_account(ACCOUNT_ID, [])
                store.create_passcode(ACCOUNT_ID, "seg", 90, idempotency_key=key or intent.idempotency_key)
        return intent

    def live(self, secret: str) -> bool:
        with SandboxStore(self.db) as store:
            credential = store.authenticate(ACCOUNT_ID, secret)
        return credential is not None and credential.name == "seg"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    (tmp_path / "ctconfig.yaml").write_text(
        "version: 1\n"
        f"state: {{backend: local, path: '{tmp_path / 'ctconfig.state.json'}'}}\n"
        f"provider: {{kind: sandbox, path: '{tmp_path / 'sandbox.db'}'}}\n"
        f"secrets: {{sink: file, path: '{tmp_path / 'secrets'}'}}\n"
        f"accounts:\n  demo:\n    id: {ACCOUNT_ID}\n    account_passcodes:\n      seg: {{expires_in: 90d}}\n"
    )
    yield Setup(tmp_path)


class QuietUi:
    """An ApplyUi that approves and shows nothing."""

    def show_plan(self, plan: Plan) -> None: ...

    def confirm(self, plan: Plan) -> bool:
        return True

    def progress(self, line: str) -> None: ...

    def note(self, line: str) -> None: ...


def settle(ws: Workspace, *, refresh: bool = True) -> tuple[State, list[str], int]:
    provider = ws.provider() if refresh else None

    async def run() -> tuple[State, list[str], int]:
        try:
            recovered = await recover(ws, provider, ws.sink(), may_write=True)
            return recovered.state, recovered.notes, len(recovered.pending)
        finally:
            if provider is not None:
                await provider.aclose()

    return asyncio.run(run())


def test_a_create_the_killed_run_made_is_replayed_and_its_secret_delivered(setup: Setup) -> None:
    setup.interrupted_create(create=True)
    ws = setup.workspace()
    state, notes, pending = settle(ws)
    record = state.resources[SEG]
    assert isinstance(record, AccountPasscodeRecord) and record.origin is Origin.CREATED
    secret = setup.sink.read(SecretRef(SEG, ACCOUNT_ID))
    assert secret is not None and record.secret_fingerprint == secret.fingerprint() and not record.tainted
    assert setup.live(secret.reveal())
    assert pending == 0 and any("its secret was recovered" in n for n in notes)
    # Written as one audited version, and the journal is gone.
    written, _ = ws.read_state()
    assert written.resources[SEG] == record and written.serial == 1
    assert ws.journal().read().empty
    [entry] = ws.backend.history()
    assert entry.audit is not None and entry.audit.operation == "recover"
    assert not make_plan(ws, PlanRequest()).plan.has_changes


def test_an_intent_whose_request_never_arrived_is_closed_and_the_plan_creates_it(setup: Setup) -> None:
    setup.interrupted_create(create=False)
    ws = setup.workspace()
    state, notes, pending = settle(ws)
    assert SEG not in state.resources and pending == 0
    assert any("did not" in n for n in notes)
    plan = make_plan(ws, PlanRequest()).plan
    assert [(str(a.address), a.kind) for a in plan.actions] == [(str(SEG), ActionKind.CREATE)]


def test_a_made_passcode_whose_answer_cannot_be_replayed_is_tainted_and_replaced(setup: Setup) -> None:
    setup.interrupted_create(create=True, key="another-key-the-server-kept")
    ws = setup.workspace()
    state, notes, _ = settle(ws)
    record = state.resources[SEG]
    assert isinstance(record, AccountPasscodeRecord) and record.tainted and record.secret_fingerprint is None
    assert any("tainted" in n for n in notes)
    plan = make_plan(ws, PlanRequest()).plan
    [action] = plan.actions
    assert isinstance(action, PasscodeAction) and action.kind is ActionKind.REPLACE
    assert action.reason.startswith("tainted: secret lost")
    assert action.rotation is None  # its secret reached nobody: replaced delete-first


def test_intents_that_cannot_be_checked_keep_the_journal_and_stop_apply(setup: Setup) -> None:
    setup.interrupted_create(create=True)
    ws = setup.workspace()
    state, _, pending = settle(ws, refresh=False)
    assert pending == 1 and SEG not in state.resources
    assert [i.name for i in ws.journal().read().open_intents()] == ["seg"]  # kept for a run that can check
    plan = make_plan(ws, PlanRequest(scope=PlanScope(), refresh=False)).plan
    assert any("settled only by `ctconfig apply`" in n.message for n in plan.errors)  # a plan settles none

    class Ui:
        def show_plan(self, plan: Plan) -> None: ...
        def confirm(self, plan: Plan) -> bool:
            return True

        def progress(self, line: str) -> None: ...
        def note(self, line: str) -> None: ...

    request = ApplyRequest(plan=PlanRequest(refresh=False), auto_approve=True)
    with pytest.raises(PlanError, match="interrupted apply left passcodes"):
        apply(ws, request, Ui())
    assert ws.journal().read().open_intents()  # still there
    settle(ws)  # a run that can reach the account settles it
    assert ws.journal().read().empty


class LosesTheAnswer(SandboxProvider):
    """The real sandbox, whose first answer to each create is lost on the way back."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.lost: set[str] = set()

    async def create_passcode(
        self, target: object, name: str, expires_in_days: int | None, *, idempotency_key: str | None = None
    ) -> IssuedPasscode:
        issued = await super().create_passcode(target, name, expires_in_days, idempotency_key=idempotency_key)  # type: ignore[arg-type]
        if name not in self.lost:
            self.lost.add(name)
            raise UnavailableError("cannot reach the sandbox: Server disconnected without sending a response")
        return issued


def test_a_create_that_gives_up_after_reaching_the_server_is_settled_at_once(setup: Setup) -> None:
    ws = setup.workspace()
    provider = LosesTheAnswer(setup.db)
    provider.store.ensure_account(ACCOUNT_ID, [])
    action = PasscodeAction(SEG, ActionKind.CREATE, None, PasscodeSettings("seg", 90), "declared")
    journal = ws.journal()
    state = State.new()
    journal.begin(state.lineage, 0)
    applier = Applier(provider, setup.sink, ws.targets(), journal=journal)
    result = asyncio.run(applier.apply(Plan(actions=(action,)), state))
    [outcome] = result.outcomes
    assert outcome.status is Status.DONE, outcome.message
    secret = setup.sink.read(SecretRef(SEG, ACCOUNT_ID))
    record = result.resources[SEG]
    assert secret is not None and isinstance(record, AccountPasscodeRecord)
    assert record.secret_fingerprint == secret.fingerprint() and setup.live(secret.reveal())
    assert not journal.read().open_intents()


def test_an_adopted_passcode_whose_secret_the_sink_holds_gets_its_fingerprint_back(setup: Setup) -> None:
    """No journal (state lost, or written by 0.1): adopted by name, then the sink's secret is proven."""
    with SandboxStore(setup.db) as store:
        store.ensure_account(ACCOUNT_ID, [])
        _, secret = store.create_passcode(ACCOUNT_ID, "seg", 90)
    setup.sink.store(SecretRef(SEG, ACCOUNT_ID), Secret(secret))
    plan = make_plan(setup.workspace(), PlanRequest()).plan
    assert plan.unknown_secrets == () and not plan.has_changes
    apply(setup.workspace(), ApplyRequest(plan=PlanRequest(), auto_approve=True), QuietUi())
    state, _ = setup.workspace().read_state()
    record = state.resources[SEG]
    assert isinstance(record, AccountPasscodeRecord) and record.origin is Origin.ADOPTED
    assert record.secret_fingerprint == Secret(secret).fingerprint()


def test_a_stale_secret_in_the_sink_is_not_taken_for_the_adopted_passcode(setup: Setup) -> None:
    with SandboxStore(setup.db) as store:
        store.ensure_account(ACCOUNT_ID, [])
        old = store.create_passcode(ACCOUNT_ID, "seg", 90)
        store.delete_passcode(ACCOUNT_ID, old[0].id)  # its secret stays in the sink, dead
        store.create_passcode(ACCOUNT_ID, "seg", 90)  # made by hand; its secret never reached the sink
    setup.sink.store(SecretRef(SEG, ACCOUNT_ID), Secret(old[1]))
    plan = make_plan(setup.workspace(), PlanRequest()).plan
    assert plan.unknown_secrets == (SEG,)
    apply(setup.workspace(), ApplyRequest(plan=PlanRequest(), auto_approve=True), QuietUi())
    state, _ = setup.workspace().read_state()
    record = state.resources[SEG]
    assert isinstance(record, AccountPasscodeRecord) and record.secret_fingerprint is None

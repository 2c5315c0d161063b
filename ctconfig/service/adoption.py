"""Import and export: adopt what already exists into state, and describe accounts as config."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path

from ctconfig.config.schema import schema_text
from ctconfig.domain import AccountSnapshot, Address, ResourceKind
from ctconfig.errors import CtconfigError
from ctconfig.planner import refresh_state
from ctconfig.service.audit import audit_record
from ctconfig.service.export_yaml import export_config
from ctconfig.service.planning import observe, reclaim_secrets
from ctconfig.service.recovery import recover
from ctconfig.service.workspace import Workspace
from ctconfig.state.document import AccountPasscodeRecord, Origin, RecordType, UserPasscodeRecord


@dataclass(frozen=True)
class ImportReport:
    """What was adopted (by address) and the state serial that records it (None: nothing to do)."""

    imported: dict[Address, RecordType]
    serial: int | None


def declared_address(ws: Workspace, text: str) -> Address:
    """Parse an address that the config declares; a clear error otherwise."""
    try:
        address = Address.parse(text)
    except ValueError as exc:
        raise CtconfigError(str(exc)) from None
    account = ws.config.accounts.get(address.account)
    if account is None:
        raise CtconfigError(f"{text}: account '{address.account}' is not in the config")
    declared = (
        address.kind is ResourceKind.ACCOUNT_PASSCODE and address.name in account.account_passcodes
    ) or (address.kind is ResourceKind.USER_PASSCODE and address.name.lower() in account.user_passcodes)
    if not declared:
        raise CtconfigError(f"{text} is not declared in the config; add it there first, then import it")
    return address


def import_resources(
    ws: Workspace, wanted: list[Address], *, every: bool, lock_timeout: float
) -> ImportReport:
    """Adopt declared passcodes and grants that exist in the accounts (all of them with `every`)."""
    provider, sink = ws.provider(), ws.sink()

    async def run() -> ImportReport:
        try:
            recovered = await recover(ws, provider, sink, may_write=True)
            for address in wanted:
                if address in recovered.state.resources:
                    raise CtconfigError(
                        f"{address} is already managed; `ctconfig state show {address}` shows it"
                    )
            observed = await observe(provider, ws.targets(), sorted(ws.config.accounts))
            refresh = await reclaim_secrets(
                refresh_state(ws.config, recovered.state, observed), provider, sink, ws.targets()
            )
        finally:
            await provider.aclose()
        adoptable = {
            a: _imported(r)
            for a, r in refresh.state.resources.items()
            if a not in recovered.state.resources and a.kind is not ResourceKind.SETTINGS
        }
        chosen = dict(adoptable) if every else {}
        for address in wanted:
            if address not in adoptable:
                raise CtconfigError(f"{address}: nothing to import: {_missing_words(ws, address)}")
            chosen[address] = adoptable[address]
        if not chosen:
            return ImportReport({}, None)
        summary = f"import: {len(chosen)} resource(s) adopted"
        actions = [{"address": str(a), "action": "import", "outcome": "done"} for a in sorted(chosen)]
        written, _ = ws.save_state(
            recovered.state.with_resources({**recovered.state.resources, **chosen}),
            recovered.token,
            audit_record("import", summary, actions=actions),
        )
        return ImportReport(dict(sorted(chosen.items())), written.serial)

    with ws.locked("import", lock_timeout):
        return asyncio.run(run())


def _imported(record: RecordType) -> RecordType:
    if isinstance(record, AccountPasscodeRecord | UserPasscodeRecord):
        return replace(record, origin=Origin.IMPORTED)
    return record


def _missing_words(ws: Workspace, address: Address) -> str:
    account_id = ws.config.accounts[address.account].id
    what = (
        "no passcode named"
        if address.kind is ResourceKind.ACCOUNT_PASSCODE
        else "no user passcode granted to"
    )
    return f"{what} '{address.name}' in account {address.account} ({account_id})"


@dataclass(frozen=True)
class ExportReport:
    """The exported config text, and the file it was written to (None: the caller prints it)."""

    text: str
    accounts: int
    written: Path | None = None


def export_accounts(ws: Workspace, aliases: list[str], out: Path | None) -> ExportReport:
    """Read the accounts and describe them as a valid config; write it (and its schema) into `out`."""
    unknown = sorted(set(aliases) - set(ws.config.accounts))
    if unknown:
        raise CtconfigError(
            f"not in the config: {', '.join(unknown)}; known accounts: "
            + ", ".join(sorted(ws.config.accounts))
        )
    provider = ws.provider(read_only=True)

    async def read() -> dict[str, AccountSnapshot | None]:
        try:
            return await observe(provider, ws.targets(), sorted(aliases or ws.config.accounts))
        finally:
            await provider.aclose()

    snapshots = {alias: snap for alias, snap in asyncio.run(read()).items() if snap is not None}
    text = export_config(ws.config, snapshots)
    if out is None:
        return ExportReport(text, len(snapshots))
    target = out / "ctconfig.yaml"
    if target.exists():
        raise CtconfigError(f"{target} exists; choose an empty directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        (out / "ctconfig.schema.json").write_text(schema_text(), encoding="utf-8")
    except OSError as exc:
        raise CtconfigError(f"cannot write {target}: {exc.strerror or exc}") from None
    return ExportReport(text, len(snapshots), target)

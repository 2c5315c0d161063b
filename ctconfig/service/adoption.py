"""Import and export: what already exists for the next apply to adopt, and accounts described as config."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from ctconfig.config.schema import schema_text
from ctconfig.domain import AccountSnapshot, Address, ResourceKind
from ctconfig.errors import CtconfigError
from ctconfig.planner import refresh_state
from ctconfig.service.export_yaml import export_config
from ctconfig.service.planning import observe, reclaim_secrets
from ctconfig.service.recovery import recover
from ctconfig.service.workspace import Workspace
from ctconfig.state.document import RecordType


@dataclass(frozen=True)
class ImportReport:
    """What the next apply adopts, by address, as the account has it now. Nothing is written."""

    adoptable: dict[Address, RecordType]


def declared_address(ws: Workspace, text: str) -> Address:
    """Parse an address that the config declares; a clear error otherwise (declare first)."""
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
        raise CtconfigError(
            f"{text} is not declared in the config; declare it there first: the apply of that config "
            "adopts it (import writes no state)"
        )
    if address.kind is ResourceKind.USER_PASSCODE:
        address = Address.user_passcode(address.account, address.name)
    return address


def import_resources(ws: Workspace, wanted: list[Address], *, every: bool) -> ImportReport:
    """Which declared passcodes and grants exist in the accounts and are not managed yet (all of
    them with `every`): the next apply adopts them. Writes no state.

    Import used to write shared state at once, so importing from a branch whose config was not
    merged left main's next plan deleting what was imported. Adoption now belongs to the apply of
    the config that declares it; this command checks that there is something to adopt.
    """
    provider, sink = ws.provider(), ws.sink()

    async def run() -> ImportReport:
        try:
            recovered = await recover(ws, provider, sink, may_write=False)
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
            a: r
            for a, r in refresh.state.resources.items()
            if a not in recovered.state.resources and a.kind is not ResourceKind.SETTINGS
        }
        chosen = dict(adoptable) if every else {}
        for address in wanted:
            if address not in adoptable:
                raise CtconfigError(f"{address}: nothing to import: {_missing_words(ws, address)}")
            chosen[address] = adoptable[address]
        return ImportReport(dict(sorted(chosen.items())))

    return asyncio.run(run())


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
    """Read the accounts and write them as a valid config to the file `out` (its schema beside it)."""
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
    if out.is_dir():
        raise CtconfigError(
            f"-o {out} is a directory; -o names the file to write, as for `plan -o`: "
            f"-o {out / 'ctconfig.yaml'}"
        )
    if out.exists():
        raise CtconfigError(f"{out} exists; choose a new file")
    schema = out.parent / "ctconfig.schema.json"  # the file's first line names it
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        if not schema.exists() or schema.read_text(encoding="utf-8") != schema_text():
            schema.write_text(schema_text(), encoding="utf-8")
    except OSError as exc:
        raise CtconfigError(f"cannot write {out}: {exc.strerror or exc}") from None
    return ExportReport(text, len(snapshots), out)

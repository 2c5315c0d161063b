"""`import` and `export`: adopt what already exists, and describe accounts as config."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from ctconfig.cli.base import Context, cli, lock_timeout_option, pass_context
from ctconfig.config.schema import config_json_schema
from ctconfig.domain import Address, ResourceKind
from ctconfig.errors import CtconfigError
from ctconfig.export import export_config
from ctconfig.planner import PlanOptions
from ctconfig.workspace import Workspace, audit_record, observe, open_provider, plan_now, utcnow


@cli.command("import")
@click.argument("addresses", nargs=-1, metavar="[ADDR]...")
@click.option("--all", "import_all", is_flag=True, help="Adopt every declared resource that already exists.")
@lock_timeout_option
@pass_context
def import_command(ctx: Context, addresses: tuple[str, ...], import_all: bool, lock_timeout: float) -> None:
    """Adopt existing passcodes or grants (matched by name or email) into state.

    ADDR is a declared address such as prod/account_passcode/segment-export or
    prod/user_passcode/alice@example.com. Nothing in the account changes.
    """
    if not addresses and not import_all:
        raise click.UsageError("name at least one ADDR, or pass --all")
    ws = Workspace.open(ctx.config_path)
    wanted = [_declared(ws, text) for text in addresses]
    with ws.locked("import", lock_timeout):
        state, token = ws.load_state()
        for address in wanted:
            if address in state.resources:
                raise CtconfigError(f"{address} is already managed; `ctconfig state show {address}` shows it")
        result = plan_now(
            ws,
            open_provider(ws.config),
            state,
            PlanOptions(now=utcnow(), refresh_only=True),
            state_exists=token is not None,
        )
        adoptable = {
            a: r
            for a, r in result.refreshed.resources.items()
            if a not in state.resources and not a.endswith("/settings")
        }
        chosen = adoptable if import_all else {}
        for address in wanted:
            if address not in adoptable:
                raise CtconfigError(f"{address}: nothing to import: {_missing_words(ws, address)}")
            chosen[address] = adoptable[address]
        if not chosen:
            click.echo("Nothing to import: every declared resource that exists is already managed.")
            return
        written = ws.save_state(
            state.with_resources({**state.resources, **chosen}),
            token,
            audit_record(
                "import",
                None,
                [{"address": a, "action": "import", "outcome": "done"} for a in chosen],
                f"import: {len(chosen)} resource(s) adopted",
            ),
        )
    for address, record in sorted(chosen.items()):
        click.echo(f"Imported {address} (id {record.remote_id}).")
        if record.kind == ResourceKind.ACCOUNT_PASSCODE:
            click.echo(
                "  Its secret is unknown to ctconfig: rotate it with "
                f"`ctconfig apply --replace {address}` to get one into your sink."
            )
    click.echo(f"State saved (serial {written.serial}). Run `ctconfig plan` to see any real differences.")


def _declared(ws: Workspace, text: str) -> str:
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
    return str(address)


def _missing_words(ws: Workspace, address: str) -> str:
    parsed = Address.parse(address)
    account_id = ws.config.accounts[parsed.account].id
    what = (
        "no passcode named" if parsed.kind is ResourceKind.ACCOUNT_PASSCODE else "no user passcode granted to"
    )
    return f"{what} '{parsed.name}' in account {parsed.account} ({account_id})"


@cli.command("export")
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write DIR/ctconfig.yaml and DIR/ctconfig.schema.json (default: print the config).",
)
@click.option(
    "--account", "accounts", multiple=True, metavar="ALIAS", help="Only these accounts (repeatable)."
)
@pass_context
def export_command(ctx: Context, out: str | None, accounts: tuple[str, ...]) -> None:
    """Write the accounts as they are into a valid config (credentials as env var placeholders)."""
    ws = Workspace.open(ctx.config_path)
    unknown = sorted(set(accounts) - set(ws.config.accounts))
    if unknown:
        raise CtconfigError(
            f"not in the config: {', '.join(unknown)}; known accounts: "
            + ", ".join(sorted(ws.config.accounts))
        )
    aliases = sorted(accounts or ws.config.accounts)

    async def read() -> dict[str, object]:
        provider = open_provider(ws.config)
        try:
            return dict(await observe(provider, ws.targets(), aliases))
        finally:
            await provider.aclose()

    snapshots = {alias: snap for alias, snap in asyncio.run(read()).items() if snap is not None}
    text = export_config(ws.config, snapshots)  # type: ignore[arg-type]
    if out is None:
        click.echo(text, nl=False)
        return
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "ctconfig.yaml"
    if target.exists():
        raise CtconfigError(f"{target} exists; choose an empty directory")
    target.write_text(text, encoding="utf-8")
    (directory / "ctconfig.schema.json").write_text(json.dumps(config_json_schema(), indent=2) + "\n")
    click.echo(f"Exported {len(snapshots)} account(s) to {target}.")

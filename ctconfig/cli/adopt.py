"""`import` and `export`: what exists for the next apply to adopt, and accounts described as config."""

from __future__ import annotations

from pathlib import Path

import click

from ctconfig.cli.base import Context, pass_context
from ctconfig.render.escape import terminal_safe


@click.command("import")
@click.argument("addresses", nargs=-1, metavar="[ADDR]...")
@click.option("--all", "import_all", is_flag=True, help="Every declared resource that already exists.")
@pass_context
def import_command(ctx: Context, addresses: tuple[str, ...], import_all: bool) -> None:
    """Check that declared passcodes or grants exist, for the next apply to adopt (writes no state).

    ADDR is a declared address such as prod/account_passcode/segment-export or
    prod/user_passcode/alice@example.com; an address the config does not declare is
    refused: declare it first. The apply of that config adopts it (matched by name or
    email); nothing in the account changes.
    """
    from ctconfig.domain import ResourceKind
    from ctconfig.service.adoption import declared_address, import_resources
    from ctconfig.service.workspace import Workspace

    if not addresses and not import_all:
        raise click.UsageError("name at least one ADDR, or pass --all")
    ws = Workspace.open(ctx.config_path)
    wanted = [declared_address(ws, text) for text in addresses]
    report = import_resources(ws, wanted, every=import_all)
    if not report.adoptable:
        click.echo("Nothing to import: every declared resource that exists is already managed.")
        return
    for address, record in report.adoptable.items():
        identity = str(getattr(record, "id", None) or getattr(record, "email", ""))
        shown = f"{terminal_safe(str(address))} ({terminal_safe(identity)})"
        click.echo(f"Found {shown}: the next apply adopts it.")
        if (
            address.kind is ResourceKind.ACCOUNT_PASSCODE
            and getattr(record, "secret_fingerprint", None) is None
        ):
            click.echo(
                "  ctconfig did not create it, so its secret is unknown to ctconfig and not in your sink: "
                f"rotate it with `rotate: TOKEN` in the config (or `ctconfig apply --replace {address}`)."
            )
    click.echo(
        "No state written: the apply of the config that declares these adopts them "
        "(merge it first; `ctconfig plan` lists each under 'Changed outside ctconfig')."
    )


@click.command("export")
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(),  # an existing directory is refused by the service, saying what to give instead
    metavar="FILE",
    help="Write the config to FILE (and ctconfig.schema.json beside it); default: print it. "
    "-o is a file for every command, as for `plan -o`.",
)
@click.option(
    "--account", "accounts", multiple=True, metavar="ALIAS", help="Only these accounts (repeatable)."
)
@pass_context
def export_command(ctx: Context, out: str | None, accounts: tuple[str, ...]) -> None:
    """Write the accounts as they are into a valid config (credentials as env var placeholders)."""
    from ctconfig.service.adoption import export_accounts
    from ctconfig.service.workspace import Workspace

    report = export_accounts(Workspace.open(ctx.config_path), list(accounts), Path(out) if out else None)
    if report.written is None:
        click.echo(report.text, nl=False)
    else:
        click.echo(f"Exported {report.accounts} account(s) to {report.written}.")

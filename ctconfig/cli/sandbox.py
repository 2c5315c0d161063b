"""`ctconfig sandbox ...`: inspect and poke the embedded sandbox like a dashboard.

The database is `--db PATH`, else the config's `provider.path` when the config
uses the sandbox provider, else `.ctconfig/sandbox.db`. ACCOUNT is a config
alias or a raw account id. Changes made here are dashboard simulations (for
drift tests): they are not counted as API mutations, and no secret is printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ctconfig.cli.base import Context, pass_context
from ctconfig.cli.lazy import LazyCommand, LazyGroup
from ctconfig.cli.params import Days, Seconds
from ctconfig.domain import ObservedPasscode, format_days, isoformat
from ctconfig.errors import CtconfigError, NotFoundError

if TYPE_CHECKING:
    from ctconfig.config.spec import Config
    from ctconfig.sandbox import SandboxStore

DEFAULT_DB = Path(".ctconfig/sandbox.db")


class DaysOrUnbounded(Days):
    """`90d` (or `90`) → 90; the unbounded word (`forever` / `infinite`) → None."""


class ClockDuration(Seconds):
    """`40d`, `12h`, `90m`, `30s` or a combination such as `1d12h` → whole seconds."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        return round(super().convert(value, param, ctx))


# -- where the sandbox is, and which account ----------------------------------------------------


def sandbox_config(context: Context) -> Config | None:
    """The config, if one is given or found; None when there is none to find."""
    if "sandbox_config" not in context.extras:
        from ctconfig.config.errors import ConfigNotFoundError
        from ctconfig.config.loader import load_from_cli

        try:
            context.extras["sandbox_config"] = load_from_cli(context.config_path).config
        except ConfigNotFoundError:
            if context.config_path is not None:
                raise
            context.extras["sandbox_config"] = None
    config: Config | None = context.extras["sandbox_config"]
    return config


def sandbox_db_path(context: Context) -> Path:
    """`--db`, else the config's sandbox `provider.path`, else `.ctconfig/sandbox.db`."""
    explicit: Path | None = context.extras.get("sandbox_db")
    if explicit is not None:
        return explicit
    config = sandbox_config(context)
    if config is not None and config.provider.kind == "sandbox":
        return Path(config.provider.path)
    return DEFAULT_DB


def open_store(context: Context) -> SandboxStore:
    """The sandbox store the command works on."""
    from ctconfig.sandbox import SandboxStore

    return SandboxStore(sandbox_db_path(context))


def resolve_account(context: Context, account: str) -> tuple[str, tuple[str, ...]]:
    """ACCOUNT as (account id, dashboard users the config names for it): alias or raw id."""
    config = sandbox_config(context)
    if config is not None:
        for alias, declared in config.accounts.items():
            if account in (alias, declared.id):
                return declared.id, tuple(sorted(declared.user_passcodes))
    return account, ()


def _alias_of(context: Context, account_id: str) -> str | None:
    config = sandbox_config(context)
    if config is None:
        return None
    return next((a for a, acc in config.accounts.items() if acc.id == account_id), None)


def _dashboard(context: Context, account: str) -> tuple[SandboxStore, str]:
    """Open the store on an account, creating it (seeded from the config) if it is new."""
    account_id, users = resolve_account(context, account)
    store = open_store(context)
    store.ensure_account(account_id, users)
    return store, account_id


def _passcode_named(store: SandboxStore, account_id: str, name: str) -> ObservedPasscode:
    passcode = store.read(account_id).passcode_named(name)
    if passcode is None:
        raise NotFoundError(f"no account passcode named {name!r} in account {account_id}")
    return passcode


def _expiry_words(passcode: ObservedPasscode) -> str:
    if passcode.expires_at is None:
        return "never expires"
    return f"expires {isoformat(passcode.expires_at)}"


# -- the commands -------------------------------------------------------------------------------


SERVER_COMMANDS = {
    "serve": LazyCommand(
        "ctconfig.cli.sandbox_server:serve",
        "Serve the sandbox with the management API (schemas/management-api.openapi.yaml).",
    ),
    "admin-passcode": LazyCommand(
        "ctconfig.cli.sandbox_server:admin_passcode",
        "Issue an admin user passcode for ACCOUNT (alias or id) and print it, once, on stdout.",
    ),
}


@click.group(cls=LazyGroup, lazy_commands=SERVER_COMMANDS)
@click.option(
    "--db",
    "db_path",
    metavar="PATH",
    envvar="CTCONFIG_SANDBOX_DB",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sandbox database (default: the config's provider.path, else .ctconfig/sandbox.db).",
)
@pass_context
def sandbox(context: Context, db_path: Path | None) -> None:
    """Inspect and change the sandbox account store, as the dashboard would."""
    context.extras["sandbox_db"] = db_path


@sandbox.command("show")
@click.argument("account", required=False)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text as the dashboard shows it; json with the sandbox time.",
)
@pass_context
def show(context: Context, account: str | None, output: str) -> None:
    """Show an account (or every account) as the dashboard would: no secrets."""
    from ctconfig.sandbox import SandboxStore
    from ctconfig.sandbox.view import account_as_dict, account_as_text

    path = sandbox_db_path(context)
    if not path.exists():
        raise CtconfigError(
            f"no sandbox database at {path} yet; it is created on first plan or apply (or pass --db PATH)"
        )
    with SandboxStore(path) as store:
        ids = [resolve_account(context, account)[0]] if account else store.list_accounts()
        views = [(store.read(i), store.mutation_count(i), _alias_of(context, i)) for i in ids]
        now = store.now()
    if output == "json":
        dicts = [account_as_dict(*view) for view in views]
        document = dicts[0] if account else {"sandbox_time": isoformat(now), "accounts": dicts}
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    elif not views:
        click.echo(f"The sandbox at {path} holds no accounts yet.")
    else:
        click.echo("\n\n".join(account_as_text(*view) for view in views))


@sandbox.command("mode")
@click.argument("account")
@click.argument("mode", type=click.Choice(["account", "user"]))
@pass_context
def mode(context: Context, account: str, mode: str) -> None:
    """Enforce account passcodes or user passcodes for API calls (dashboard change)."""
    store, account_id = _dashboard(context, account)
    with store:
        store.set_passcode_mode(account_id, mode, dashboard=True)
    click.echo(f"Account {account_id} now authenticates API calls with {mode} passcodes.")


@sandbox.group("user")
def user() -> None:
    """Dashboard users and their user passcodes."""


@user.command("add")
@click.argument("account")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the user an admin (default: member).")
@pass_context
def user_add(context: Context, account: str, email: str, admin: bool) -> None:
    """Invite a dashboard user to the account."""
    role = "admin" if admin else "member"
    store, account_id = _dashboard(context, account)
    with store:
        store.add_user(account_id, email, role)
    click.echo(f"Added {email.lower()} to account {account_id} as {role}.")


@user.command("remove")
@click.argument("account")
@click.argument("email")
@pass_context
def user_remove(context: Context, account: str, email: str) -> None:
    """Remove a dashboard user (and their user passcode)."""
    store, account_id = _dashboard(context, account)
    with store:
        store.remove_user(account_id, email)
    click.echo(f"Removed {email.lower()} from account {account_id}.")


@user.command("grant")
@click.argument("account")
@click.argument("email")
@click.option("--validity", type=DaysOrUnbounded("infinite"), required=True, help="30d or infinite.")
@pass_context
def user_grant(context: Context, account: str, email: str, validity: int | None) -> None:
    """Grant a user passcode, as an admin would in the dashboard."""
    store, account_id = _dashboard(context, account)
    with store:
        grant = store.grant_user_passcode(account_id, email, validity, dashboard=True)
    click.echo(
        f"Granted {grant.email} a user passcode in account {account_id} "
        f"({format_days(grant.validity_days, 'infinite')}, expires {isoformat(grant.expires_at)}); "
        "the user sees it in their own settings."
    )


@user.command("reset")
@click.argument("account")
@click.argument("email")
@pass_context
def user_reset(context: Context, account: str, email: str) -> None:
    """Reset a user passcode: a fresh secret, validity restarted."""
    store, account_id = _dashboard(context, account)
    with store:
        grant = store.reset_user_passcode(account_id, email, dashboard=True)
    click.echo(
        f"Reset the user passcode of {grant.email} in account {account_id} "
        f"(expires {isoformat(grant.expires_at)})."
    )


@user.command("revoke")
@click.argument("account")
@click.argument("email")
@pass_context
def user_revoke(context: Context, account: str, email: str) -> None:
    """Revoke a user passcode."""
    store, account_id = _dashboard(context, account)
    with store:
        store.revoke_user_passcode(account_id, email, dashboard=True)
    click.echo(f"Revoked the user passcode of {email.lower()} in account {account_id}.")


@sandbox.group("passcode")
def passcode() -> None:
    """Account passcodes, changed by hand as in the dashboard (for drift tests)."""


@passcode.command("add")
@click.argument("account")
@click.argument("name")
@click.option("--expires-in", type=DaysOrUnbounded("forever"), required=True, help="90d or forever.")
@click.option(
    "--show-key",
    is_flag=True,
    help='Print the new API Key once on stdout, as "Create & View" shows it (the rest goes to stderr).',
)
@pass_context
def passcode_add(context: Context, account: str, name: str, expires_in: int | None, show_key: bool) -> None:
    """Create an account passcode, as "+ Passcode" in the dashboard does.

    Its API Key is discarded, as if nobody copied it, unless `--show-key` prints it
    (on its own on stdout: `KEY=$(ctconfig sandbox passcode add ... --show-key)`) for
    someone to paste, e.g. into the dashboard provider's guided `ctconfig apply`.
    """
    store, account_id = _dashboard(context, account)
    with store:
        created, secret = store.create_passcode(account_id, name, expires_in, dashboard=True)
    said = f"Created account passcode {created.name!r} in account {account_id} ({_expiry_words(created)})."
    if not show_key:
        click.echo(f"{said} Its secret was shown once in the dashboard and discarded.")
        return
    click.echo(f"{said} Its API Key is shown once, on stdout.", err=True)
    click.echo(secret)


@passcode.command("rename")
@click.argument("account")
@click.argument("old")
@click.argument("new")
@pass_context
def passcode_rename(context: Context, account: str, old: str, new: str) -> None:
    """Rename an account passcode."""
    store, account_id = _dashboard(context, account)
    with store:
        current = _passcode_named(store, account_id, old)
        store.update_passcode(
            account_id,
            current.id,
            name=new,
            expires_in_days=current.expires_in_days,
            dashboard=True,
        )
    click.echo(f"Renamed account passcode {current.name!r} to {new!r} in account {account_id}.")


@passcode.command("expiry")
@click.argument("account")
@click.argument("name")
@click.argument("expires_in", metavar="DAYS|forever", type=DaysOrUnbounded("forever"))
@pass_context
def passcode_expiry(context: Context, account: str, name: str, expires_in: int | None) -> None:
    """Change an account passcode's expiry (counted from its creation)."""
    store, account_id = _dashboard(context, account)
    with store:
        current = _passcode_named(store, account_id, name)
        updated = store.update_passcode(
            account_id, current.id, name=current.name, expires_in_days=expires_in, dashboard=True
        )
    click.echo(f"Account passcode {updated.name!r} in account {account_id} {_expiry_words(updated)}.")


@passcode.command("delete")
@click.argument("account")
@click.argument("name")
@pass_context
def passcode_delete(context: Context, account: str, name: str) -> None:
    """Delete an account passcode."""
    store, account_id = _dashboard(context, account)
    with store:
        current = _passcode_named(store, account_id, name)
        store.delete_passcode(account_id, current.id, dashboard=True)
    click.echo(f"Deleted account passcode {current.name!r} from account {account_id}.")


@sandbox.group("clock")
def clock() -> None:
    """The sandbox clock: move it forward to make passcodes expire."""


def _describe_clock(store: SandboxStore) -> str:
    offset = int(store.clock_offset().total_seconds())
    days, rest = divmod(offset, 86400)
    hours, rest = divmod(rest, 3600)
    ahead = f"{days}d {hours}h {rest // 60}m ahead of real time" if offset else "real time"
    return f"Sandbox time: {isoformat(store.now())} ({ahead})"


@clock.command("show")
@pass_context
def clock_show(context: Context) -> None:
    """Print the sandbox time and how far it runs ahead."""
    with open_store(context) as store:
        click.echo(_describe_clock(store))


@clock.command("advance")
@click.argument("duration", type=ClockDuration())
@pass_context
def clock_advance(context: Context, duration: int) -> None:
    """Move the sandbox clock forward by DURATION (40d, 12h, 90m)."""
    with open_store(context) as store:
        store.advance_clock(duration)
        click.echo(_describe_clock(store))


@clock.command("reset")
@pass_context
def clock_reset(context: Context) -> None:
    """Put the sandbox clock back to real time."""
    with open_store(context) as store:
        store.reset_clock()
        click.echo(_describe_clock(store))


__all__ = ["open_store", "resolve_account", "sandbox", "sandbox_config", "sandbox_db_path"]

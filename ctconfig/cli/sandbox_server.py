"""`ctconfig sandbox serve` and `sandbox admin-passcode`: the sandbox over HTTP."""

from __future__ import annotations

from pathlib import Path

import click

from ctconfig.cli.base import Context, pass_context
from ctconfig.cli.sandbox import resolve_account, sandbox_db_path

_RATE = click.FloatRange(0.0, 1.0)
_DB = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Sandbox database; same as `ctconfig sandbox --db PATH` before the command.",
)


@click.command("serve")
@_DB
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8400,
    show_default=True,
    help="Port; 0 picks a free one (the URL is printed on stdout).",
)
@click.option(
    "--max-inflight",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="Management API requests in flight per account before 429 (the Server API has CleverTap's limits).",
)
@click.option(
    "--latency",
    type=click.FloatRange(0.0),
    default=0.0,
    metavar="SECONDS",
    help="Delay before answering each request.",
)
@click.option(
    "--error-rate", type=_RATE, default=0.0, help="Share of requests answered 500/503 before doing anything."
)
@click.option(
    "--throttle-rate", type=_RATE, default=0.0, help="Share of requests answered 429 with Retry-After."
)
@click.option(
    "--drop-rate",
    type=_RATE,
    default=0.0,
    help="Share of requests performed and committed whose answer is never sent (the connection is cut).",
)
@click.option(
    "--retry-after",
    type=click.IntRange(0),
    default=1,
    show_default=True,
    metavar="SECONDS",
    help="Retry-After sent with 429 answers.",
)
@click.option("--seed", type=int, help="Seed for reproducible faults.")
@click.option(
    "--forget-idempotency-keys",
    is_flag=True,
    help="Keep no create answers by Idempotency-Key (normally kept 24 h in the database), "
    "like a server without that feature: a create whose answer is lost loses its secret.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes serving the socket (each with its own connection to the database). With more "
    "than one, --max-inflight, the fault draws and the counters are per worker.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, 60000),
    default=512,
    show_default=True,
    help="Open connections per worker; a new one beyond it closes the oldest connection not in the "
    "middle of a request.",
)
@pass_context
def serve(
    context: Context,
    db: Path | None,
    host: str,
    port: int,
    max_inflight: int,
    latency: float,
    error_rate: float,
    throttle_rate: float,
    drop_rate: float,
    retry_after: int,
    seed: int | None,
    forget_idempotency_keys: bool,
    workers: int,
    max_connections: int,
) -> None:
    """Serve the sandbox with the management API (schemas/management-api.openapi.yaml).

    Point the `clevertap` provider at it with `provider: {kind: clevertap,
    base_url: http://127.0.0.1:PORT}` and an admin passcode from
    `ctconfig sandbox admin-passcode`.

    It also answers CleverTap's documented Server API (`GET /v1/connect`,
    `POST /1/upload`, `GET /1/profile.json`, `/1/profiles.json`,
    `/1/events.json`, `/1/counts/events.json`, `/1/counts/profiles.json`)
    with the account's passcodes, so your own integration (or CleverTap's
    own client) can rehearse a rotation against it; uploaded records stay in
    memory. CleverTap's in-flight limits apply per API: 15 uploads, 3 Get
    API calls; --max-inflight sets the management API's.

    Bodies over 16 KiB (1 MiB for uploads) are refused with 413; a
    request's headers must arrive within 10 s, and idle connections are
    closed after 5 s. Stops
    gracefully on SIGTERM or Ctrl-C and prints a summary of requests and
    injected faults. `GET /_sandbox/stats` (loopback only, no auth) returns
    the same counters as JSON.
    """
    from ctconfig.sandbox.faults import FaultSettings
    from ctconfig.sandbox.serving import serve as run_server

    settings = FaultSettings(
        max_inflight=max_inflight,
        latency=latency,
        error_rate=error_rate,
        throttle_rate=throttle_rate,
        drop_rate=drop_rate,
        retry_after=retry_after,
        seed=seed,
        forget_idempotency_keys=forget_idempotency_keys,
    )
    run_server(
        db or sandbox_db_path(context),
        host,
        port,
        settings,
        announce=click.echo,  # echo flushes
        workers=workers,
        max_connections=max_connections,
    )


@click.command("admin-passcode")
@click.argument("account")
@click.option("--email", default=None, help="The admin's email (default: admin@sandbox.local).")
@_DB
@pass_context
def admin_passcode(context: Context, account: str, email: str | None, db: Path | None) -> None:
    """Issue an admin user passcode for ACCOUNT (alias or id) and print it, once, on stdout.

    This is the one place ctconfig prints a secret, on purpose: it plays the
    dashboard showing an admin their passcode. Capture it straight into the
    variable your config names, e.g.
    `export CT_PROD_PASSCODE=$(ctconfig sandbox admin-passcode W9R-486-4W5Z)`.
    The account and the admin user are created if needed; an existing admin
    passcode for that email is replaced.
    """
    from ctconfig.sandbox.store import ADMIN_EMAIL, SandboxStore

    account_id, users = resolve_account(context, account)
    with SandboxStore(db or sandbox_db_path(context)) as store:
        store.ensure_account(account_id, users)
        secret = store.issue_admin_passcode(account_id, email or ADMIN_EMAIL)
    click.echo(secret)

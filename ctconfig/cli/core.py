"""`plan`, `apply` and `show`: the reconcile loop, as a thin sequence of calls."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ctconfig.applier import Applier, ApplyResult, describe_operations
from ctconfig.cli.base import EXIT_INTERRUPTED, Context, cli, lock_timeout_option, pass_context
from ctconfig.errors import CtconfigError
from ctconfig.plan import Plan, PlanError, check_fresh, load_plan, save_plan
from ctconfig.planner import PlanOptions, PlanResult
from ctconfig.render.plan_json import render_json
from ctconfig.render.plan_markdown import render_markdown
from ctconfig.render.plan_text import render_summary, render_text
from ctconfig.sinks import open_sink
from ctconfig.state.document import State
from ctconfig.workspace import Workspace, audit_record, open_provider, plan_now, utcnow

EXIT_CHANGES = 2
FORMATS = ("text", "markdown", "json")
PAST_TENSE = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "replace": "replaced",
    "grant": "granted",
    "reset": "reset",
    "revoke": "revoked",
    "configure": "configured",
}


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def render_plan(plan: Plan, fmt: str, summary: bool = False) -> str:
    """The plan in the requested format (text by default)."""
    if summary:
        return render_summary(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    if fmt == "json":
        return render_json(plan)
    return render_text(plan, color=_use_color()) + f"Plan digest: {plan.digest}\n"


def _say(message: str) -> None:
    click.echo(message, err=True)


def plan_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by plan and apply."""
    options = [
        click.option(
            "--refresh",
            type=click.BOOL,
            default=True,
            show_default=True,
            metavar="BOOL",
            help="Read the accounts first (--refresh=false plans from state alone).",
        ),
        click.option(
            "--refresh-only",
            is_flag=True,
            help="Only update state to match the accounts; change nothing in them.",
        ),
        click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="ADDR",
            help="Plan only matching addresses (globs allowed, repeatable).",
        ),
        click.option(
            "--exclude",
            "excludes",
            multiple=True,
            metavar="ADDR",
            help="Leave matching addresses out (globs allowed, repeatable).",
        ),
        click.option(
            "--replace",
            "replace",
            multiple=True,
            metavar="ADDR",
            help="Rotate this account passcode / reset this user passcode now.",
        ),
        lock_timeout_option,
        click.option(
            "--lock",
            type=click.BOOL,
            default=True,
            metavar="BOOL",
            hidden=True,
            help="Take the state lock (default true).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _plan(
    ws: Workspace, state_loaded: tuple[State, str | None], refresh: bool, options: PlanOptions
) -> PlanResult:
    state, token = state_loaded
    provider = open_provider(ws.config) if refresh else None
    if refresh:
        _say(f"Refreshing {len(ws.config.accounts)} account(s)...")
    return plan_now(ws, provider, state, options, state_exists=token is not None)


@cli.command("plan")
@plan_options
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Save the plan for `ctconfig apply FILE`.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--summary", is_flag=True, help="A one-screen concise view.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 2 with changes, 1 on error.")
@pass_context
def plan_command(
    ctx: Context,
    refresh: bool,
    refresh_only: bool,
    targets: tuple[str, ...],
    excludes: tuple[str, ...],
    replace: tuple[str, ...],
    lock_timeout: float,
    lock: bool,
    out: str | None,
    fmt: str,
    summary: bool,
    detailed_exitcode: bool,
) -> None:
    """Show what apply would change in each account."""
    ws = Workspace.open(ctx.config_path)
    options = PlanOptions(
        now=utcnow(), refresh_only=refresh_only, targets=targets, excludes=excludes, replace=replace
    )
    with ws.locked("plan", lock_timeout, lock):
        loaded = ws.load_state()
        result = _plan(ws, loaded, refresh, options)
    plan = result.plan
    click.echo(render_plan(plan, fmt, summary), nl=False)
    if plan.errors:
        raise PlanError(
            f"the plan has {len(plan.errors)} error(s); nothing can be applied until they are fixed"
        )
    if out:
        save_plan(plan, Path(out))
        _say(f"Saved the plan to {out}. Apply exactly this plan with: ctconfig apply {out}")
    changes = plan.has_changes or (refresh_only and plan.state_updates > 0)
    if detailed_exitcode and changes:
        sys.exit(EXIT_CHANGES)


@cli.command("show")
@click.argument("planfile", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--summary", is_flag=True, help="A one-screen concise view.")
def show_command(planfile: str, fmt: str, summary: bool) -> None:
    """Render a saved plan file."""
    click.echo(render_plan(load_plan(Path(planfile)), fmt, summary), nl=False)


@cli.command("apply")
@click.argument("planfile", required=False, type=click.Path(dir_okay=False))
@plan_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking for 'yes'.")
@click.option("--dry-run", is_flag=True, help="Print each operation in order; change nothing.")
@click.option(
    "--parallelism",
    type=click.IntRange(1, 32),
    default=3,
    show_default=True,
    help="Operations in flight per account (CleverTap allows 3 concurrent requests).",
)
@click.option(
    "--plan-digest", metavar="SHA", help="Apply only if the new plan's digest equals this reviewed one."
)
@click.option(
    "--allow-mass-delete", is_flag=True, help="Allow deleting more than safety.max_delete_fraction."
)
@pass_context
def apply_command(
    ctx: Context,
    planfile: str | None,
    refresh: bool,
    refresh_only: bool,
    targets: tuple[str, ...],
    excludes: tuple[str, ...],
    replace: tuple[str, ...],
    lock_timeout: float,
    lock: bool,
    auto_approve: bool,
    dry_run: bool,
    parallelism: int,
    plan_digest: str | None,
    allow_mass_delete: bool,
) -> None:
    """Make the accounts match the config, record state, send new secrets to the sink."""
    ws = Workspace.open(ctx.config_path)
    saved = load_plan(Path(planfile)) if planfile else None
    if saved is not None:
        targets, excludes, replace = saved.targets, saved.excludes, saved.replace
        refresh_only = saved.refresh_only
    options = PlanOptions(
        now=utcnow(), refresh_only=refresh_only, targets=targets, excludes=excludes, replace=replace
    )
    with ws.locked("apply", lock_timeout, lock and not dry_run):
        state, token = ws.load_state()
        if saved is not None:
            check_fresh(saved, state.lineage if token else "", state.serial, ws.loaded.digest)
        result = _plan(ws, (state, token), refresh, options)
        plan = result.plan
        expected = saved.digest if saved is not None else plan_digest
        if expected and plan.digest != expected:
            raise PlanError(
                f"the plan changed since it was reviewed (reviewed {expected[:19]}…, "
                f"now {plan.digest[:19]}…): the config, the state or the accounts moved. "
                "Re-run `ctconfig plan` and review it again."
            )
        click.echo(render_plan(plan, "text"), nl=False)
        if plan.errors:
            raise PlanError(f"the plan has {len(plan.errors)} error(s); nothing was applied")
        if plan.mass_deletes and not allow_mass_delete:
            raise PlanError(
                "refusing a mass delete: "
                + "; ".join(m.message() for m in plan.mass_deletes)
                + ". Re-run with --allow-mass-delete if this is intended."
            )
        if dry_run:
            _print_dry_run(plan)
            return
        if refresh_only or not plan.has_changes:
            _save_refresh(ws, result, token, plan)
            return
        if not auto_approve and saved is None:  # a saved plan was reviewed already (as in Terraform)
            _confirm()
        outcome = _execute(ws, plan, result, parallelism)
        written = ws.save_state(
            result.refreshed.with_resources(outcome.resources),
            token,
            audit_record("apply", plan, [o.to_json() for o in outcome.outcomes], _outcome_summary(outcome)),
        )
        ws.journal().clear()
    _report(outcome, written.serial, ws.backend.describe())


def _print_dry_run(plan: Plan) -> None:
    click.echo("\nDry run: these operations would run, in this order (nothing is changed):")
    step = 0
    for action in plan.actions:
        for operation in describe_operations(action):
            step += 1
            click.echo(f"  {step}. {action.address}: {operation}")
    if not step:
        click.echo("  (none)")


def _save_refresh(ws: Workspace, result: PlanResult, token: str | None, plan: Plan) -> None:
    if plan.state_updates == 0 and token is not None:
        click.echo("Nothing to apply; state is up to date.")
        return
    written = ws.save_state(
        result.refreshed,
        token,
        audit_record("refresh", plan, [], f"refresh: {plan.state_updates} record(s) updated"),
    )
    click.echo(f"State updated to match the accounts (serial {written.serial}); no account was changed.")


def _confirm() -> None:
    if not sys.stdin.isatty():
        raise CtconfigError(
            "apply needs confirmation but there is no terminal to ask on; "
            "review the plan and pass --auto-approve"
        )
    answer = click.prompt(
        "Do you want to perform these actions? Only 'yes' will be accepted", default="", show_default=False
    )
    if answer.strip() != "yes":
        raise CtconfigError("apply cancelled; nothing was changed")


def _execute(ws: Workspace, plan: Plan, result: PlanResult, parallelism: int) -> ApplyResult:
    journal = ws.journal()
    journal.open(result.refreshed.lineage, result.refreshed.serial)
    provider = open_provider(ws.config)
    applier = Applier(
        provider,
        open_sink(ws.config.secrets),
        ws.targets(),
        journal=journal,
        parallelism=parallelism,
        protected=ws.protected(),
        progress=print,  # no flush per line: 10,000 lines must not cost seconds
    )

    async def run() -> ApplyResult:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, applier.request_stop)
        loop.add_signal_handler(signal.SIGTERM, applier.request_stop)
        try:
            return await applier.apply(plan, result.refreshed)
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
            await provider.aclose()
            traffic = getattr(provider, "stats", None)  # HTTP providers count their requests
            if traffic is not None:
                _say(f"HTTP: {traffic.summary()}")

    click.echo("")
    return asyncio.run(run())


def _outcome_summary(outcome: ApplyResult) -> str:
    counts: dict[str, int] = {}
    for o in outcome.outcomes:
        key = PAST_TENSE.get(o.action, o.action) if o.status == "done" else o.status
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no changes"


def _report(outcome: ApplyResult, serial: int, where: str) -> None:
    done = [o for o in outcome.outcomes if o.status == "done"]
    failed = outcome.failed
    skipped = [o for o in outcome.outcomes if o.status == "not started"]
    click.echo(f"\nState saved to {where} (serial {serial}).")
    for address in outcome.tainted:
        click.echo(
            f"TAINTED: {address}: its secret did not reach the sink; the next plan replaces it.", err=True
        )
    if failed or skipped or outcome.interrupted:
        click.echo(
            f"Apply incomplete: {len(done)} done, {len(failed)} failed, {len(skipped)} not started.", err=True
        )
        for o in failed:
            click.echo(f"  failed: {o.address} ({o.action}): {o.message}", err=True)
        for o in skipped:
            click.echo(f"  not started: {o.address} ({o.action})", err=True)
        click.echo("Run `ctconfig apply` again to finish; it continues from the saved state.", err=True)
        sys.exit(EXIT_INTERRUPTED if outcome.interrupted else 1)
    if outcome.tainted:
        sys.exit(1)
    click.echo(f"Apply complete: {_outcome_summary(outcome)}.")

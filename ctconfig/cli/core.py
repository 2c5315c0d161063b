"""`plan`, `apply` and `show`: parse options, call the service layer, render, choose the exit code."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ctconfig.cli.base import Context, audit_note_option, format_option, lock_timeout_option, pass_context
from ctconfig.cli.params import Boolean
from ctconfig.errors import CtconfigError

if TYPE_CHECKING:
    from ctconfig.plan import Plan, PlanScope

if TYPE_CHECKING:
    from ctconfig.config.spec import Config
    from ctconfig.providers.operator import Operator

EXIT_CHANGES = 2
FORMATS = ("text", "markdown", "json", "runbook")


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def render_plan(
    plan: Plan, fmt: str, summary: bool = False, config: Config | None = None, pretty: bool = False
) -> str:
    """The plan in the requested format (text by default); `config` names the runbook's accounts;
    `pretty` indents JSON, which is otherwise one line."""
    from ctconfig.render.plan_json import render_json, render_json_summary
    from ctconfig.render.plan_markdown import render_markdown
    from ctconfig.render.plan_text import render_summary, render_text

    if summary:
        return render_json_summary(plan, pretty) if fmt == "json" else render_summary(plan)
    if fmt == "runbook":
        from ctconfig.render.runbook import RunbookAccount, render_runbook

        accounts = {}
        if config is not None:
            accounts = {a: RunbookAccount(c.id, config.region_of(a)) for a, c in config.accounts.items()}
        return render_runbook(plan, accounts)
    if fmt == "markdown":
        from ctconfig.service.audit import provenance

        return render_markdown(plan, full_plan_at=provenance().run_url)  # where the CI keeps the full plan
    if fmt == "json":
        return render_json(plan, pretty)
    return render_text(plan, color=_use_color()) + f"Plan digest: {plan.digest}\n"


pretty_option = click.option(
    "--pretty",
    is_flag=True,
    help="Indent JSON for people (--format json and the -o file are one line, as Terraform's are).",
)


def _say(message: str) -> None:
    """A note on stderr (recovery notes carry names and servers' words: made visible)."""
    from ctconfig.visible import visible

    click.echo(visible(message), err=True)


def plan_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by plan and apply."""
    options = [
        click.option(
            "--refresh",
            type=Boolean(),
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
    ]
    for option in reversed(options):
        func = option(func)
    return func


def lock_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--lock-timeout` and the hidden `--lock=false` of apply."""
    lock = click.option(
        "--lock", type=Boolean(), default=True, metavar="BOOL", hidden=True, help="Take the state lock."
    )
    return lock_timeout_option(lock(func))


def ignored_lock_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`plan` takes no lock; pipelines written for the plan that did keep working unchanged."""
    for option in (
        click.option("--lock-timeout", hidden=True, help="Ignored: plan never takes the state lock."),
        click.option("--lock", hidden=True, help="Ignored: plan never takes the state lock."),
    ):
        func = option(func)
    return func


def _scope(
    refresh_only: bool, targets: tuple[str, ...], excludes: tuple[str, ...], replace: tuple[str, ...]
) -> PlanScope:
    from ctconfig.plan import PlanScope

    return PlanScope(targets=targets, excludes=excludes, replace=replace, refresh_only=refresh_only)


@click.command("plan")
@plan_options
@ignored_lock_options
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Save the plan for `ctconfig apply FILE`.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to show the plan.",
)
@click.option(
    "--summary", is_flag=True, help="A one-screen concise view (with --format json: the same, as JSON)."
)
@pretty_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 2 with changes, 1 on error.")
@pass_context
def plan_command(
    ctx: Context,
    refresh: bool,
    refresh_only: bool,
    targets: tuple[str, ...],
    excludes: tuple[str, ...],
    replace: tuple[str, ...],
    lock_timeout: str | None,
    lock: str | None,
    out: str | None,
    fmt: str,
    summary: bool,
    pretty: bool,
    detailed_exitcode: bool,
) -> None:
    """Show what apply would change in each account.

    Plan only reads: it takes no state lock (a running apply never holds it up), settles
    nothing an interrupted apply left (that is `apply`'s job; the plan says so and exits 1),
    and writes no file but the one `-o` names. A saved plan is refused by `apply` once the
    state moved on.
    """
    from ctconfig.plan import PlanError, mass_delete_refusal
    from ctconfig.planfile import save_plan
    from ctconfig.service.planning import PlanRequest, make_plan
    from ctconfig.service.workspace import Workspace

    ws = Workspace.open(ctx.config_path)
    request = PlanRequest(scope=_scope(refresh_only, targets, excludes, replace), refresh=refresh)
    plan = make_plan(ws, request, say=_say).plan
    click.echo(render_plan(plan, fmt, summary, ws.config, pretty), nl=False)
    if plan.errors:
        raise PlanError(
            f"the plan has {len(plan.errors)} error(s); nothing can be applied until they are fixed"
        )
    if out:
        save_plan(plan, Path(out), pretty)
        _say(f"Saved the plan to {out}. Apply exactly this plan with: ctconfig apply {out}")
    if plan.mass_deletes:  # the pull request's check fails until the deletes are approved in it
        raise PlanError(mass_delete_refusal(plan.mass_deletes))
    changes = plan.has_changes or bool(plan.adoptions) or (refresh_only and plan.state_updates > 0)
    if detailed_exitcode and changes:
        sys.exit(EXIT_CHANGES)


@click.command("show")
@click.argument("planfile", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to show the plan.",
)
@click.option("--summary", is_flag=True, help="A one-screen concise view.")
@pretty_option
@pass_context
def show_command(ctx: Context, planfile: str, fmt: str, summary: bool, pretty: bool) -> None:
    """Render a saved plan file."""
    from ctconfig.planfile import load_plan

    plan = load_plan(Path(planfile))
    config = _config_if_any(ctx) if fmt == "runbook" else None
    click.echo(render_plan(plan, fmt, summary, config, pretty), nl=False)


def _config_if_any(ctx: Context) -> Config | None:
    """The config, for the runbook's account ids and dashboard URLs; a plan file renders without one."""
    from ctconfig.config.loader import load_from_cli

    try:
        return load_from_cli(ctx.config_path).config
    except CtconfigError:
        return None


@click.command("apply")
@click.argument("planfile", required=False, type=click.Path(dir_okay=False))
@plan_options
@lock_options
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
@format_option("text", "json", help="text: the plan, progress, the ending; json: one document at the end.")
@audit_note_option
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
    fmt: str,
    audit_note: str | None,
) -> None:
    """Make the accounts match the config, record state, send new secrets to the sink."""
    from ctconfig.cli.apply_view import PROGRESS_EVERY, TerminalUi, exit_code, render_report, report_json
    from ctconfig.planfile import load_plan
    from ctconfig.service.applying import ApplyRequest, apply
    from ctconfig.service.planning import PlanRequest
    from ctconfig.service.workspace import Workspace

    ws = Workspace.open(ctx.config_path)
    ws.audit_note = audit_note
    saved = load_plan(Path(planfile)) if planfile else None
    operator = _operator_at_terminal(ws.config)
    request = ApplyRequest(
        operator=operator,
        plan=PlanRequest(scope=_scope(refresh_only, targets, excludes, replace), refresh=refresh),
        saved=saved,
        expected_digest=plan_digest,
        auto_approve=auto_approve,
        dry_run=dry_run,
        parallelism=parallelism,
        allow_mass_delete=allow_mass_delete,
        lock=lock,
        lock_timeout=lock_timeout,
    )
    # a person performing the steps reads each line before the next question: nothing waits
    every = 0.0 if operator is not None else PROGRESS_EVERY
    ui = TerminalUi(lambda plan: render_plan(plan, "text"), quiet_stdout=fmt == "json", every=every)
    try:
        report = apply(ws, request, ui)
    finally:
        ui.flush()  # the last progress lines, whatever ended the apply
    if fmt == "json":
        click.echo(json.dumps(report_json(report), indent=2, sort_keys=True))
        code = exit_code(report)
    else:
        code = render_report(report)
    if code:
        sys.exit(code)


def _operator_at_terminal(config: Config) -> Operator | None:
    """The person who performs the dashboard provider's steps: only where stdin is a terminal."""
    if config.provider.kind != "dashboard" or not sys.stdin.isatty():
        return None
    from ctconfig.providers.operator import TerminalOperator

    return TerminalOperator()

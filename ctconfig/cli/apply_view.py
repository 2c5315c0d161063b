"""How `apply` talks to a person at a terminal: the plan, the question, progress, and the ending.

The service layer decides; this module shows. `render_report` turns the
service's report into the lines Terraform users expect and the exit code:
0 done, 1 failed or tainted, 130 stopped by Ctrl-C.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import click

from ctconfig.actions import ActionKind
from ctconfig.applier import ApplyResult
from ctconfig.cli.base import EXIT_INTERRUPTED
from ctconfig.domain import Address
from ctconfig.errors import CtconfigError
from ctconfig.plan import Plan
from ctconfig.render.escape import terminal_safe
from ctconfig.render.operations import dry_run_lines
from ctconfig.render.plan_text import UNKNOWN_SECRETS_TITLE
from ctconfig.service.applying import ApplyKind, ApplyReport
from ctconfig.service.audit import adoption_entries, entries_summary, outcome_entries

PROGRESS_EVERY = 0.1
"""Seconds progress lines may wait to be written together: one write for the lines of that time."""


class TerminalUi:
    """`ApplyUi` for a terminal: plan and progress on stdout, notes on stderr, `yes` from stdin.

    With `quiet_stdout` (apply --format json) everything but the final JSON goes to stderr.
    Progress lines written during the apply's event loop are gathered for `every` seconds
    and written (and flushed) at once: one write per line, 10,000 of them with an unbuffered
    stdout (`PYTHONUNBUFFERED`, common in CI), cost more than the requests they report.
    `flush` writes what is gathered; a note, the plan and the question flush first. `every`
    0 writes each line at once (a guided session: its questions do not pass through here).
    """

    def __init__(
        self, render: Callable[[Plan], str], quiet_stdout: bool = False, every: float = PROGRESS_EVERY
    ) -> None:
        self.render = render
        self.quiet_stdout = quiet_stdout
        self.every = every
        self._lines: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def show_plan(self, plan: Plan) -> None:
        self.flush()
        click.echo(self.render(plan), nl=False, err=self.quiet_stdout)

    def confirm(self, plan: Plan) -> bool:
        self.flush()
        if not sys.stdin.isatty():
            raise CtconfigError(
                "apply needs confirmation but there is no terminal to ask on; "
                "review the plan and pass --auto-approve"
            )
        answer = click.prompt(
            "Do you want to perform these actions? Only 'yes' will be accepted",
            default="",
            show_default=False,
            err=self.quiet_stdout,
        )
        return bool(answer.strip() == "yes")

    def progress(self, line: str) -> None:
        self._lines.append(terminal_safe(line))
        if self.every <= 0:  # at once: a person reads each line before the next question
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not in the apply's loop: nothing would write them later
                self.flush()
                return
            self._timer = loop.call_later(self.every, self.flush)

    def note(self, line: str) -> None:
        self.flush()
        click.echo(terminal_safe(line), err=True)

    def flush(self) -> None:
        """Write the progress lines gathered so far, in one write."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            text = "\n".join(self._lines) + "\n"
            self._lines.clear()
            stream = sys.stderr if self.quiet_stdout else sys.stdout
            stream.write(text)
            stream.flush()


def render_report(report: ApplyReport) -> int:
    """Print how the apply ended; returns the exit code."""
    code = _ending(report)
    _unknown_secrets(still_unknown(report))
    if report.unlock_error:
        click.echo(f"Error: {terminal_safe(report.unlock_error)}", err=True)
        return code or 1
    return code


def exit_code(report: ApplyReport) -> int:
    """0 done, 1 failed or tainted (or the lock could not be released), 130 stopped by Ctrl-C."""
    result = report.result
    code = 0
    if result is not None and report.kind is ApplyKind.APPLIED:
        if result.failed or result.not_started or result.interrupted or report.save_error:
            code = EXIT_INTERRUPTED if result.interrupted and not result.failed else 1
        elif result.tainted or result.durability_error:  # done, but the journal did not record all of it
            code = 1
    return code or (1 if report.unlock_error else 0)


def report_json(report: ApplyReport) -> dict[str, object]:
    """`apply --format json`: what was planned, what each action did, where state was saved."""
    result = report.result
    return {
        "result": report.kind.value,
        "exit_code": exit_code(report),
        "plan": {"summary": report.plan.summary_line(), "digest": report.plan.digest},
        "serial": report.serial,
        "state": report.where,
        "outcomes": outcome_entries(result.outcomes, report.plan) if result else [],
        "tainted": [str(a) for a in result.tainted] if result else [],
        "unknown_secrets": [str(a) for a in still_unknown(report)],
        "errors": [e for e in (report.save_error, report.unlock_error) if e],
    }


def still_unknown(report: ApplyReport) -> list[Address]:
    """Passcodes ctconfig did not create and still holds no secret for: not those this apply rotated."""
    settled = {ActionKind.REPLACE, ActionKind.DELETE}  # a new secret in the sink, or no passcode at all
    result = report.result
    done = {o.address for o in result.done if o.action in settled} if result is not None else set()
    return [a for a in report.plan.unknown_secrets if a not in done]


def _unknown_secrets(addresses: list[Address]) -> None:
    """Passcodes ctconfig did not create, under their own heading, with the command that rotates them."""
    if not addresses:
        return
    click.echo(f"\n{UNKNOWN_SECRETS_TITLE}")
    for address in addresses:
        click.echo(f"  {terminal_safe(str(address))}: rotate it with `ctconfig apply --replace {address}`")


def _ending(report: ApplyReport) -> int:
    if report.kind is ApplyKind.DRY_RUN:
        click.echo("\nDry run: these operations would run, in this order (nothing is changed):")
        for line in dry_run_lines(report.plan):
            click.echo(line)
        return 0
    if report.kind is ApplyKind.NOTHING:
        click.echo("Nothing to apply; state is up to date.")
        return 0
    if report.kind is ApplyKind.REFRESHED:
        adopted = len(report.plan.adoptions) if not report.plan.scope.refresh_only else 0
        done = "State updated to match the accounts"
        if adopted:
            done = f"Apply complete: {adopted} adopted into state"
        click.echo(f"{done} (serial {report.serial}); no account was changed.")
        return 0
    assert report.result is not None
    if report.traffic:
        click.echo(f"HTTP: {report.traffic}", err=True)
    return _applied(report, report.result)


def _applied(report: ApplyReport, result: ApplyResult) -> int:
    if report.save_error is None:
        click.echo(f"\nState saved to {report.where} (serial {report.serial}).")
    _tainted(result)
    if result.sink_failure is not None:
        _sink_failed(result)
    if result.durability_error and report.save_error is not None:
        _neither_durable(report, result)  # one event (a full disk) stops both: one line
    elif result.durability_error:
        _durability(report, result)
    elif report.save_error is not None:
        _unsaved(report, result)
    if result.failed or result.not_started or result.interrupted or report.save_error:
        _incomplete(result)
    elif not result.tainted:
        entries = [*outcome_entries(result.outcomes, report.plan), *adoption_entries(report.plan)]
        click.echo(f"Apply complete: {entries_summary(entries)}.")
    return exit_code(report)


def _tainted(result: ApplyResult) -> None:
    """One line per tainted passcode, with why when its action failed (named once, not again below)."""
    why = {o.address: o for o in result.failed}
    for address in result.tainted:
        failed = why.get(address)
        if failed is None:
            click.echo(f"TAINTED: {terminal_safe(str(address))}: the next plan replaces it.", err=True)
        else:
            click.echo(
                f"TAINTED: {terminal_safe(str(address))} ({failed.action.value}): "
                f"{terminal_safe(failed.message)}",
                err=True,
            )


def _incomplete(result: ApplyResult) -> None:
    done, failed, skipped = result.done, result.failed, result.not_started
    click.echo(
        f"Apply incomplete: {len(done)} done, {len(failed)} failed, {len(skipped)} not started.", err=True
    )
    tainted = set(result.tainted)
    held = {id(o) for o in result.held_back}  # said once, on the secret sink's line
    skipped = [o for o in skipped if id(o) not in held]
    for o in failed:
        if o.address in tainted:  # said above, on its TAINTED line
            continue
        click.echo(
            f"  failed: {terminal_safe(str(o.address))} ({o.action.value}): {terminal_safe(o.message)}",
            err=True,
        )
    for o in skipped:
        why = f": {o.message}" if o.message else ""
        click.echo(f"  not started: {terminal_safe(str(o.address))} ({o.action.value}){why}", err=True)
    click.echo("Run `ctconfig apply` again to finish; it continues from what was recorded.", err=True)


def _sink_failed(result: ApplyResult) -> None:
    """One line: what the sink said, and that no create started after it."""
    failure = result.sink_failure
    assert failure is not None
    held = len(result.held_back)
    if failure.before_start:
        what = f"the secret sink cannot take secrets: {failure.reason}. No passcode was created"
    else:
        what = f"the secret sink failed: {failure.reason}. No create started after that"
    click.echo(
        f"Error: {terminal_safe(what)} ({held} create(s) not started; other changes went on unless they "
        "wait for one). Fix the sink, then run `ctconfig apply` again.",
        err=True,
    )


def _durability(report: ApplyReport, result: ApplyResult) -> None:
    click.echo(
        f"Error: {result.durability_error}. The apply started nothing new after that: "
        f"{len(result.done)} change(s) were made. Fix what stopped {report.journal_where} (its space, "
        "permissions or connection), then run `ctconfig apply` again.",
        err=True,
    )


def _neither_durable(report: ApplyReport, result: ApplyResult) -> None:
    click.echo(
        f"Error: {_cannot_save(report)}, and {result.durability_error}. The apply started nothing new "
        f"after that: {len(result.done)} change(s) were made in the accounts; what reached the journal "
        f"{report.journal_where} is replayed by the next `ctconfig apply` (anything else is re-found by "
        "name). Fix what stopped them (space, permissions or a connection), then run `ctconfig apply` again.",
        err=True,
    )


def _cannot_save(report: ApplyReport) -> str:
    """`cannot write state X: reason`, said once even when the reason already says it."""
    reason = report.save_error or ""
    said = reason.startswith("cannot write state")
    return reason if said else f"cannot write state {report.where}: {reason}"


def _unsaved(report: ApplyReport, result: ApplyResult) -> None:
    if not report.journal_kept:
        click.echo(
            f"Error: {_cannot_save(report)}. {len(result.done)} change(s) were made in the accounts; the "
            f"journal {report.journal_where} that recorded them is gone: a run that forced the lock has "
            "already folded it into state. Run `ctconfig plan` to see where things stand.",
            err=True,
        )
        return
    click.echo(
        f"Error: {_cannot_save(report)}. {len(result.done)} change(s) were "
        f"made in the accounts but are not in state; what was recorded waits in the journal "
        f"{report.journal_where}, and the next `ctconfig apply` replays it (anything else is re-found by "
        f"name). Make {report.where} writable, then run `ctconfig apply` again.",
        err=True,
    )

"""`ctconfig recover`: settle an interrupted apply's journal, or roll a restored state forward."""

from __future__ import annotations

import click

from ctconfig.cli.base import Context, lock_timeout_option, pass_context
from ctconfig.errors import CtconfigError


@click.command("recover")
@click.option(
    "--roll-forward",
    is_flag=True,
    help="The state was restored from an older copy: continue from the newest version its history "
    "keeps, replaying the journal onto it.",
)
@lock_timeout_option
@pass_context
def recover_command(ctx: Context, roll_forward: bool, lock_timeout: float) -> None:
    """Finish what an interrupted apply left (apply does this first too); change nothing else.

    Every change the journal recorded is folded into state; every passcode an interrupted
    apply was creating is looked up in its account: its secret is delivered to the sink,
    or it is marked tainted so the next plan replaces it. Exit 1 while any cannot be settled
    (an account that cannot be reached).
    """
    from ctconfig.service.settle import recover_now
    from ctconfig.service.workspace import Workspace
    from ctconfig.visible import visible

    ws = Workspace.open(ctx.config_path)
    report = recover_now(ws, roll_forward=roll_forward, lock_timeout=lock_timeout)
    for note in report.notes:  # they quote journal names and servers' words
        click.echo(visible(note))
    if report.pending:
        raise CtconfigError(f"{report.pending} could not be settled now; run `ctconfig recover` again")
    if report.serial is not None:
        click.echo(f"State saved as serial {report.serial} in {report.where}.")
    elif not report.notes:
        click.echo("Nothing to recover.")

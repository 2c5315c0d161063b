"""`check`: the nightly question — is all well? — answered by reading only."""

from __future__ import annotations

import sys

import click

from ctconfig.cli.base import Context, format_option, pass_context

FORMATS = ("text", "markdown", "json")  # `render.check.FORMATS`


@click.command("check")
@format_option(*FORMATS, help="text: one line per finding; markdown: an issue body; json: for tools.")
@pass_context
def check_command(ctx: Context, fmt: str) -> None:
    """Report what is not well: expired, expiring, drifted, unmanaged, missing secrets, changes due.

    Reads the accounts, the state and the sink without taking the lock or
    writing anything. Exits 0 when all is well, 1 with one line per finding
    otherwise: for a nightly job.
    """
    from ctconfig.render.check import render_check, summary_line
    from ctconfig.service.check import check
    from ctconfig.service.workspace import Workspace

    report = check(Workspace.open(ctx.config_path))
    click.echo(render_check(report, fmt), nl=False)
    if not report.ok:
        if fmt == "text":
            click.echo(summary_line(report), err=True)
        sys.exit(1)

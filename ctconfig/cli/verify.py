"""`verify`: check that each issued account passcode still authenticates, as its users would."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from ctconfig.cli.base import Context, format_option, pass_context
from ctconfig.columns import aligned
from ctconfig.render.escape import terminal_safe

if TYPE_CHECKING:
    from ctconfig.verify import Check


def _render_text(checks: list[Check]) -> str:
    rows = []
    for check in checks:
        tail = "  ".join(part for part in (check.where, f"({check.detail})" if check.detail else "") if part)
        rows.append((terminal_safe(check.address), check.status.ljust(11), terminal_safe(tail)))
    return "\n".join(aligned(rows)) + "\n"


@click.command("verify")
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ADDR",
    help="Verify only matching addresses (globs allowed, repeatable).",
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="ADDR",
    help="Leave matching addresses out (globs or an account prefix, repeatable).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True, max=600),
    default=None,
    metavar="SECONDS",
    help="Seconds to wait for each answer (default: the clevertap provider's timeout).",
)
@format_option("text", "json", help="text: one line per passcode; json: the checks and a summary.")
@pass_context
def verify_command(
    ctx: Context, targets: tuple[str, ...], excludes: tuple[str, ...], timeout: float | None, fmt: str
) -> None:
    """Check each managed account passcode's secret (read back from the sink) with the credential check.

    Over HTTP that is CleverTap's `GET /v1/connect`, with the provider's limits and
    retries. Prints valid / expired / rejected / unreachable / missing / mismatch per
    passcode (never a secret) and exits 1 if any is not valid. Passcodes whose secret
    the sink cannot give back (the command sink) are reported as skipped.
    """
    from ctconfig.service.workspace import Workspace
    from ctconfig.sinks import open_sink
    from ctconfig.verify import summarize, verify

    ws = Workspace.open(ctx.config_path)
    state, _ = ws.read_state()
    sink = open_sink(ws.config.secrets)
    checks = verify(ws.config, state, sink, patterns=targets, excludes=excludes, timeout=timeout)
    if fmt == "json":
        click.echo(
            json.dumps({"checks": [c.to_json() for c in checks], "summary": summarize(checks)}, indent=2)
        )
    elif not checks:
        click.echo("No managed account passcodes in state to verify.")
    else:
        click.echo(_render_text(checks), nl=False)
        click.echo(f"\nVerified {summarize(checks)}.")
    if any(c.failed for c in checks):
        sys.exit(1)

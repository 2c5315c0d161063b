"""`ctconfig state ...` and `force-unlock`: inspect and edit state, read its history.

Reading commands never lock. Writing commands (rm, mv, push) take the state
lock (waiting up to `--lock-timeout`), write one new version with an audit
record, and release the lock even when they fail. The work is in
`service/state_edits.py`; this module parses and prints.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ctconfig.cli.base import Context, lock_timeout_option, pass_context
from ctconfig.cli.lazy import LazyGroup
from ctconfig.errors import CtconfigError
from ctconfig.render.escape import terminal_safe

if TYPE_CHECKING:
    from ctconfig.service.workspace import Workspace

DIFF_FORMATS = ("text", "markdown", "json")  # `render.state_diff.FORMATS`, checked by tests/cli


def _workspace(context: Context) -> Workspace:
    from ctconfig.service.workspace import Workspace

    return Workspace.open(context.config_path)


@click.group(cls=LazyGroup)
def state() -> None:
    """Inspect and edit the state: list, show, rm, mv, pull, push, history, diff."""


@state.command("list")
@pass_context
def list_command(context: Context) -> None:
    """List managed resources, their kind and status.

    Status is active, expiring soon, expired or retiring; tainted passcodes and
    passcodes whose secret ctconfig never saw are marked.
    """
    from ctconfig.render.state_view import resource_table

    ws = _workspace(context)
    version = ws.backend.read()
    if version is None or not version.state.resources:
        click.echo(f"No resources in state {ws.backend.describe()}.")
        return
    for line in resource_table(version.state, datetime.now(UTC)):
        click.echo(line)


@state.command("show")
@click.argument("address")
@pass_context
def show_command(context: Context, address: str) -> None:
    """Show one resource and whether its secret is known."""
    from ctconfig.render.state_view import resource_lines
    from ctconfig.service import state_edits

    [parsed] = state_edits.parse_addresses([address])
    record = state_edits.record_of(_workspace(context), parsed)
    for line in resource_lines(parsed, record, datetime.now(UTC)):
        click.echo(line)


@state.command("rm")
@click.argument("addresses", nargs=-1, required=True, metavar="ADDRESS...")
@lock_timeout_option
@pass_context
def rm_command(context: Context, addresses: tuple[str, ...], lock_timeout: float) -> None:
    """Forget resources without touching the account.

    The passcodes keep working; ctconfig simply stops managing them.
    """
    from ctconfig.service import state_edits

    parsed = state_edits.parse_addresses(addresses)
    serial = state_edits.remove(_workspace(context), parsed, lock_timeout)
    click.echo(
        f"Removed {len(parsed)} resource(s) from state (serial {serial}); the account was not touched."
    )


@state.command("mv")
@click.argument("source", metavar="OLD")
@click.argument("destination", metavar="NEW")
@lock_timeout_option
@pass_context
def mv_command(context: Context, source: str, destination: str, lock_timeout: float) -> None:
    """Move a resource to a new address (e.g. after renaming an account alias)."""
    from ctconfig.service import state_edits

    old, new = state_edits.parse_addresses([source, destination])
    serial = state_edits.move(_workspace(context), old, new, lock_timeout)
    click.echo(f"Moved {terminal_safe(source)} to {terminal_safe(destination)} (serial {serial}).")


@state.command("pull")
@pass_context
def pull_command(context: Context) -> None:
    """Print the current state as canonical JSON."""
    from ctconfig.service import state_edits

    click.echo(state_edits.current_state(_workspace(context)).dumps(), nl=False)


@state.command("push")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--force", is_flag=True, help="Push even a different lineage or an older serial.")
@lock_timeout_option
@pass_context
def push_command(context: Context, file: str, force: bool, lock_timeout: float) -> None:
    """Replace the state with FILE (`-` for stdin).

    Refuses a different lineage, an older serial, or the same serial with
    different content unless --force.
    """
    from ctconfig.service import state_edits

    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    ws = _workspace(context)
    serial = state_edits.push(ws, text, file, force=force, lock_timeout=lock_timeout)
    if serial is None:
        click.echo(f"State already matches {file}.")
    else:
        click.echo(f"Pushed {file} as serial {serial} to {ws.backend.describe()}.")


@state.command("history")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a table; json: every version with its audit record.",
)
@pass_context
def history_command(context: Context, fmt: str) -> None:
    """List every kept version: serial, time, who, and what they did."""
    from ctconfig.render.state_view import history_lines

    backend = _workspace(context).backend
    entries = backend.history()
    if fmt == "json":
        data = [
            {
                "serial": e.serial,
                "created": e.created,
                "audit": e.audit.to_json() if e.audit else None,
            }
            for e in entries
        ]
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    if not entries:
        click.echo(f"No history in {backend.describe()}.")
        return
    for line in history_lines(entries):
        click.echo(line)


@state.command("diff")
@click.argument("before", metavar="A")
@click.argument("after", metavar="B")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(DIFF_FORMATS),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for a pull request, json for tools.",
)
@pass_context
def diff_command(context: Context, before: str, after: str, fmt: str) -> None:
    """Show what changed between two state versions.

    A and B are each a serial kept in the backend's history (see `state
    history`), a state file, or git:REV:PATH. For serials, the header says who
    wrote B, when, and with which plan.
    """
    from ctconfig.render.state_diff import render_state_diff
    from ctconfig.state.diff import KeptVersions, diff_states, load_side

    versions = KeptVersions(lambda: _workspace(context).backend)
    old, new = load_side(before, versions), load_side(after, versions)
    history = versions.history() if old.entry and new.entry else None
    click.echo(render_state_diff(diff_states(old, new, history), fmt), nl=False)


@click.command("force-unlock")
@click.argument("lock_id", metavar="ID")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def force_unlock_command(context: Context, lock_id: str, force: bool) -> None:
    """Remove a lock left by a run that died.

    ID is printed in the "locked by" message. The lock is removed only if its ID
    matches, so a lock taken since by a live run is never removed.
    """
    backend = _workspace(context).backend
    if not force and not click.confirm(
        f"Remove lock {lock_id} on {backend.describe()}? Only do this if the run holding it is gone",
        default=False,
    ):
        raise CtconfigError("force-unlock cancelled; the lock is still held")
    removed = backend.force_unlock(lock_id)  # only that ID: a lock taken since by a live run stays
    click.echo(
        f"Lock {terminal_safe(lock_id)} removed from {backend.describe()}; "
        f"it was held by {terminal_safe(removed.describe())}."
    )

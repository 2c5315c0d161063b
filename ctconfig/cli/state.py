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

from ctconfig.cli.base import Context, audit_note_option, format_option, lock_timeout_option, pass_context
from ctconfig.cli.lazy import LazyGroup
from ctconfig.errors import CtconfigError
from ctconfig.render.escape import terminal_safe

if TYPE_CHECKING:
    from ctconfig.service.workspace import Workspace

DIFF_FORMATS = ("text", "markdown", "json")  # `render.state_diff.FORMATS`, checked by tests/cli


def _workspace(context: Context, audit_note: str | None = None) -> Workspace:
    from ctconfig.service.workspace import Workspace

    ws = Workspace.open(context.config_path)
    ws.audit_note = audit_note
    return ws


@click.group(cls=LazyGroup)
def state() -> None:
    """Inspect and edit the state: list, show, rm, mv, pull, push, history, diff."""


@state.command("list")
@click.option(
    "--at", "at", metavar="DATE", help="As it was then: 2026-11-30 (the end of that day, UTC) or a time."
)
@click.option("--serial", type=click.IntRange(min=0), metavar="N", help="As it was at serial N.")
@format_option("text", "json", help="text: a table; json: every record with its status.")
@pass_context
def list_command(context: Context, at: str | None, serial: int | None, fmt: str) -> None:
    """List managed resources, their kind and status.

    Status is active, expiring soon, expired or retiring; tainted passcodes and
    passcodes whose secret ctconfig never saw are marked. With --at or --serial,
    what state held then (status as of then), and what the accounts held that
    ctconfig did not manage, as last seen by then.
    """
    from ctconfig.render.state_view import past_header, resource_table, resources_json, unmanaged_lines
    from ctconfig.service import state_edits

    if at is not None and serial is not None:
        raise click.UsageError("give --at or --serial, not both")
    ws = _workspace(context)
    if at is None and serial is None and ws.backend.read() is None:
        click.echo(f"No resources in state {ws.backend.describe()}.")
        return
    past = state_edits.state_then(ws, at=at, serial=serial)
    if fmt == "json":
        data = resources_json(past.state, past.moment, past.entry, past.unmanaged)
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    if past.entry is not None:
        click.echo(past_header(past.entry))
    if not past.state.resources:
        click.echo(f"No resources in state {ws.backend.describe()}.")
    for line in resource_table(past.state, past.moment) if past.state.resources else []:
        click.echo(line)
    for line in unmanaged_lines(past.unmanaged, past.unmanaged_serial):
        click.echo(line)


@state.command("show")
@click.argument("address")
@format_option("text", "json", help="text: one field a line; json: the record and its status.")
@pass_context
def show_command(context: Context, address: str, fmt: str) -> None:
    """Show one resource and whether its secret is known."""
    from ctconfig.render.state_view import resource_json, resource_lines
    from ctconfig.service import state_edits

    [parsed] = state_edits.parse_addresses([address])
    record = state_edits.record_of(_workspace(context), parsed)
    if fmt == "json":
        click.echo(json.dumps(resource_json(parsed, record, datetime.now(UTC)), indent=2, sort_keys=True))
        return
    for line in resource_lines(parsed, record, datetime.now(UTC)):
        click.echo(line)


@state.command("rm")
@click.argument("addresses", nargs=-1, required=True, metavar="ADDRESS...")
@lock_timeout_option
@audit_note_option
@pass_context
def rm_command(
    context: Context, addresses: tuple[str, ...], lock_timeout: float, audit_note: str | None
) -> None:
    """Forget resources without touching the account.

    The passcodes keep working; ctconfig simply stops managing them.
    """
    from ctconfig.service import state_edits

    parsed = state_edits.parse_addresses(addresses)
    serial = state_edits.remove(_workspace(context, audit_note), parsed, lock_timeout)
    click.echo(
        f"Removed {len(parsed)} resource(s) from state (serial {serial}); the account was not touched."
    )


@state.command("mv")
@click.argument("source", metavar="OLD")
@click.argument("destination", metavar="NEW")
@lock_timeout_option
@audit_note_option
@pass_context
def mv_command(
    context: Context, source: str, destination: str, lock_timeout: float, audit_note: str | None
) -> None:
    """Move a resource to a new address (e.g. after renaming an account alias)."""
    from ctconfig.service import state_edits

    old, new = state_edits.parse_addresses([source, destination])
    serial = state_edits.move(_workspace(context, audit_note), old, new, lock_timeout)
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
@audit_note_option
@pass_context
def push_command(
    context: Context, file: str, force: bool, lock_timeout: float, audit_note: str | None
) -> None:
    """Replace the state with FILE (`-` for stdin).

    Refuses a different lineage, an older serial, or the same serial with
    different content unless --force.
    """
    from ctconfig.service import state_edits

    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    ws = _workspace(context, audit_note)
    serial = state_edits.push(ws, text, file, force=force, lock_timeout=lock_timeout)
    if serial is None:
        click.echo(f"State already matches {file}.")
    else:
        click.echo(f"Pushed {file} as serial {serial} to {ws.backend.describe()}.")


@state.command("history")
@click.argument("address", required=False)
@format_option(
    "text", "json", help="text: a table; json: every version with its audit record (or every event)."
)
@pass_context
def history_command(context: Context, address: str | None, fmt: str) -> None:
    """List every kept version: serial, time, who, commit, and what they did.

    With ADDRESS, that resource's life instead: created, adopted, renamed,
    rotated, changed outside ctconfig, deleted — each with its serial, time,
    who and commit. A passcode is followed through renames and rotations.
    """
    from ctconfig.render.state_view import history_lines, life_lines

    if address is not None:
        from ctconfig.service import state_edits

        [parsed] = state_edits.parse_addresses([address])
        events = state_edits.address_history(_workspace(context), parsed)
        if fmt == "json":
            click.echo(json.dumps([e.to_json() for e in events], indent=2, sort_keys=True))
            return
        for line in life_lines(str(parsed), events):
            click.echo(line)
        return
    backend = _workspace(context).backend
    entries = backend.history()
    if fmt == "json":
        from ctconfig.state.diff import entry_json

        click.echo(json.dumps([entry_json(e) for e in entries], indent=2, sort_keys=True))
        return
    if not entries:
        click.echo(f"No history in {backend.describe()}.")
        return
    for line in history_lines(entries):
        click.echo(line)


@state.command("diff")
@click.argument("before", metavar="A")
@click.argument("after", metavar="B")
@format_option(*DIFF_FORMATS, help="text for a terminal, markdown for a pull request, json for tools.")
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
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@pass_context
def force_unlock_command(context: Context, lock_id: str, yes: bool) -> None:
    """Remove a lock left by a run that died.

    ID is printed in the "locked by" message. The lock is removed only if its ID
    matches, so a lock taken since by a live run is never removed. Nothing is
    asked when nothing is locked or the ID is another lock's.
    """
    from ctconfig.service import state_edits

    ws = _workspace(context)
    holder = state_edits.lock_holder(ws, lock_id)
    if not yes:
        if not sys.stdin.isatty():
            raise CtconfigError(
                "force-unlock asks for confirmation and there is no terminal to ask on; "
                f"pass --yes to remove lock {lock_id}"
            )
        held = f", held by {terminal_safe(holder.describe())}" if holder is not None else ""
        if not click.confirm(
            f"Remove lock {lock_id} on {ws.backend.describe()}{held}? "
            "Only do this if the run holding it is gone",
            default=False,
        ):
            raise CtconfigError("force-unlock cancelled; the lock is still held")
    removed = state_edits.force_unlock(ws, lock_id)  # only that ID: a lock taken since by a live run stays
    click.echo(
        f"Lock {terminal_safe(lock_id)} removed from {ws.backend.describe()}; "
        f"it was held by {terminal_safe(removed.describe())}."
    )

"""`ctconfig state ...` and `force-unlock`: inspect and edit state, read its history.

Reading commands never lock. Writing commands (rm, mv, push) take the state
lock (waiting up to `--lock-timeout`), write one new version with an audit
record, and release the lock even when they fail.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ctconfig.cli.base import Context, cli, lock_timeout_option, pass_context
from ctconfig.domain import Address
from ctconfig.errors import CtconfigError
from ctconfig.render.state_diff import FORMATS, render_state_diff
from ctconfig.render.state_view import history_lines, resource_lines, resource_table
from ctconfig.state.base import AuditRecord, StateBackend, current_actor
from ctconfig.state.document import State


def _open(context: Context) -> StateBackend:
    """The backend named by the config's `state:` section."""
    from ctconfig.config.loader import load_from_cli
    from ctconfig.state import open_backend

    loaded = load_from_cli(context.config_path)
    return open_backend(loaded.config.state)


def _current(backend: StateBackend) -> State:
    version = backend.read()
    if version is None:
        raise CtconfigError(f"no state yet in {backend.describe()}; run `ctconfig apply` first")
    return version.state


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@contextlib.contextmanager
def _locked(backend: StateBackend, operation: str, timeout: float) -> Iterator[tuple[State, str | None]]:
    """Hold the lock while the caller reads and writes one new version."""
    from ctconfig.state import load_state

    lock = backend.lock(operation, timeout)
    try:
        yield load_state(backend)
    finally:
        backend.unlock(lock)


def _write(
    backend: StateBackend,
    state: State,
    token: str | None,
    operation: str,
    summary: str,
    actions: list[dict[str, Any]],
) -> State:
    """Write `state` as given (its serial already chosen) with an audit record."""
    audit = AuditRecord(
        who=current_actor(), when=_now_iso(), operation=operation, actions=actions, summary=summary
    )
    backend.write(state, token, audit)
    return state


def _require(state: State, backend: StateBackend, addresses: tuple[str, ...]) -> None:
    missing = [address for address in addresses if address not in state.resources]
    if missing:
        raise CtconfigError(
            f"not in state {backend.describe()}: {', '.join(missing)} "
            "(`ctconfig state list` shows what is there)"
        )


@cli.group()
def state() -> None:
    """Inspect and edit the state: list, show, rm, mv, pull, push, history, diff."""


@state.command("list")
@pass_context
def list_command(context: Context) -> None:
    """List managed resources, their kind and status.

    Status is active, expiring soon, expired or retiring; tainted passcodes and
    passcodes whose secret ctconfig never saw are marked.
    """
    backend = _open(context)
    version = backend.read()
    if version is None or not version.state.resources:
        click.echo(f"No resources in state {backend.describe()}.")
        return
    for line in resource_table(version.state, datetime.now(UTC)):
        click.echo(line)


@state.command("show")
@click.argument("address")
@pass_context
def show_command(context: Context, address: str) -> None:
    """Show one resource and whether its secret is known."""
    backend = _open(context)
    current = _current(backend)
    _require(current, backend, (address,))
    resource = current.resources[address]
    for line in resource_lines(address, resource, datetime.now(UTC)):
        click.echo(line)


@state.command("rm")
@click.argument("addresses", nargs=-1, required=True, metavar="ADDRESS...")
@lock_timeout_option
@pass_context
def rm_command(context: Context, addresses: tuple[str, ...], lock_timeout: float) -> None:
    """Forget resources without touching the account.

    The passcodes keep working; ctconfig simply stops managing them.
    """
    backend = _open(context)
    with _locked(backend, "state rm", lock_timeout) as (current, token):
        _require(current, backend, addresses)
        forgotten = set(addresses)
        kept = {a: r for a, r in current.resources.items() if a not in forgotten}
        written = _write(
            backend,
            current.with_resources(kept).next_version(),
            token,
            "state rm",
            f"forgot {len(addresses)} resource(s): {', '.join(addresses)}",
            [{"address": a, "action": "forget", "outcome": "removed from state"} for a in addresses],
        )
    click.echo(
        f"Removed {len(addresses)} resource(s) from state (serial {written.serial}); "
        "the account was not touched."
    )


@state.command("mv")
@click.argument("source", metavar="OLD")
@click.argument("destination", metavar="NEW")
@lock_timeout_option
@pass_context
def mv_command(context: Context, source: str, destination: str, lock_timeout: float) -> None:
    """Move a resource to a new address (e.g. after renaming an account alias)."""
    try:
        old_kind, new_kind = Address.parse(source).kind, Address.parse(destination).kind
    except ValueError as exc:
        raise CtconfigError(str(exc)) from exc
    if old_kind is not new_kind:
        raise CtconfigError(f"cannot move a {old_kind.value} to a {new_kind.value} address")
    backend = _open(context)
    with _locked(backend, "state mv", lock_timeout) as (current, token):
        _require(current, backend, (source,))
        if destination in current.resources:
            raise CtconfigError(f"{destination} is already in state; `state rm` it first")
        moved = {
            (destination if address == source else address): resource
            for address, resource in current.resources.items()
        }
        written = _write(
            backend,
            current.with_resources(moved).next_version(),
            token,
            "state mv",
            f"moved {source} to {destination}",
            [{"address": source, "action": "move", "outcome": f"now {destination}"}],
        )
    click.echo(f"Moved {source} to {destination} (serial {written.serial}).")


@state.command("pull")
@pass_context
def pull_command(context: Context) -> None:
    """Print the current state as canonical JSON."""
    click.echo(_current(_open(context)).dumps(), nl=False)


def _push_refusal(pushed: State, current: State) -> str | None:
    """Why a push would lose information, or None when it is safe."""
    if pushed.lineage != current.lineage:
        return (
            f"the file has lineage {pushed.lineage} but the state has {current.lineage}: "
            "it is a different state"
        )
    if pushed.serial < current.serial:
        return f"the file has serial {pushed.serial}, older than the state's {current.serial}"
    if pushed.serial == current.serial and pushed.resources != current.resources:
        return f"the file and the state both have serial {pushed.serial} but differ"
    return None


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
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    pushed = State.loads(text)
    backend = _open(context)
    with _locked(backend, "state push", lock_timeout) as (current, token):
        if token is not None:
            refusal = _push_refusal(pushed, current)
            if refusal and not force:
                raise CtconfigError(f"refusing to push {file}: {refusal} (--force overrides)")
            if not refusal and pushed.serial == current.serial:
                click.echo(f"State already matches {file} (serial {current.serial}).")
                return
        serial = max(pushed.serial, current.serial + 1 if token is not None else 1)
        written = _write(
            backend,
            replace(pushed, serial=serial),
            token,
            "state push",
            f"pushed {file}" + (" (forced)" if force else ""),
            [],
        )
    click.echo(f"Pushed {file} as serial {written.serial} to {backend.describe()}.")


@state.command("history")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_context
def history_command(context: Context, fmt: str) -> None:
    """List every kept version: serial, time, who, and what they did."""
    backend = _open(context)
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
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@pass_context
def diff_command(context: Context, before: str, after: str, fmt: str) -> None:
    """Show what changed between two state versions.

    A and B are each a serial kept in the backend's history (see `state
    history`), a state file, or git:REV:PATH. For serials, the header says who
    wrote B, when, and with which plan.
    """
    from ctconfig.state.diff import KeptVersions, diff_states, load_side

    versions = KeptVersions(lambda: _open(context))
    old, new = load_side(before, versions), load_side(after, versions)
    history = versions.history() if old.entry and new.entry else None
    click.echo(render_state_diff(diff_states(old, new, history), fmt), nl=False)


@cli.command("force-unlock")
@click.argument("lock_id", metavar="ID")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def force_unlock_command(context: Context, lock_id: str, force: bool) -> None:
    """Remove a lock left by a run that died.

    ID is printed in the "locked by" message. The lock is removed only if its ID
    matches, so a lock taken since by a live run is never removed.
    """
    backend = _open(context)
    if not force and not click.confirm(
        f"Remove lock {lock_id} on {backend.describe()}? Only do this if the run holding it is gone",
        default=False,
    ):
        raise CtconfigError("force-unlock cancelled; the lock is still held")
    removed = backend.force_unlock(lock_id)
    click.echo(f"Lock {lock_id} removed from {backend.describe()}; it was held by {removed.describe()}.")

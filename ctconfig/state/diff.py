"""What changed between two state versions, resource by resource and attribute by attribute.

`state diff A B` is the audit view of the state history: A and B are serials
kept by the backend, state files, or `git:REV:PATH`. deepdiff finds the
changed paths; a list that changed is reported whole (before → after) because
that reads better than item-by-item edits.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ctconfig.errors import CtconfigError
from ctconfig.state import limits
from ctconfig.state.base import HistoryEntry, StateBackend
from ctconfig.state.document import State, StateError, record_json

ABSENT: Any = None  # how a missing attribute appears in `before`/`after`
GIT_STDERR_BYTES = 64 * 1024  # the first line of git's complaint is all a message needs


class DiffSourceError(CtconfigError):
    """A diff side could not be read: no such serial, file or git revision."""


@dataclass(frozen=True)
class DiffSide:
    """One side of a diff: the state and, for a kept serial, who wrote it."""

    label: str
    state: State
    entry: HistoryEntry | None = None


@dataclass(frozen=True)
class AttributeChange:
    """One changed path inside a resource, such as `attributes.expires_at`."""

    path: str
    before: Any
    after: Any
    before_present: bool = True
    after_present: bool = True

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path}
        if self.before_present:
            data["before"] = self.before
        if self.after_present:
            data["after"] = self.after
        return data


KINDS = ("added", "changed", "renamed", "rotated", "removed")


@dataclass(frozen=True)
class ResourceChange:
    """A resource that was added, changed, renamed, rotated or removed between the two versions.

    `renamed`: the same passcode (its remote id) under a new address, `previous_address`.
    `rotated`: a new passcode under the same address; the old one was renamed aside
    to `set_aside` (absent when it was deleted at once).
    """

    address: str
    change: str  # one of KINDS
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    attributes: tuple[AttributeChange, ...] = ()
    previous_address: str | None = None
    set_aside: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {
            "address": self.address,
            "change": self.change,
            "before": self.before,
            "after": self.after,
            "attributes": [change.to_json() for change in self.attributes],
        }
        if self.previous_address is not None:
            data["previous_address"] = self.previous_address
        if self.set_aside is not None:
            data["set_aside"] = self.set_aside
        return data


@dataclass(frozen=True)
class StateDiff:
    """The whole comparison, plus the history entries that produced B from A (when known)."""

    before: DiffSide
    after: DiffSide
    changes: tuple[ResourceChange, ...]
    between: tuple[HistoryEntry, ...] = field(default_factory=tuple)

    def of_kind(self, change: str) -> list[ResourceChange]:
        return [item for item in self.changes if item.change == change]

    @property
    def lineage_changed(self) -> bool:
        return self.before.state.lineage != self.after.state.lineage

    def summary(self) -> str:
        """`2 added, 1 changed, 0 removed` (and renamed, rotated when there are any)."""
        counts = [
            f"{len(self.of_kind(kind))} {kind}"
            for kind in KINDS
            if kind in ("added", "changed", "removed") or self.of_kind(kind)
        ]
        return ", ".join(counts)

    def to_json(self) -> dict[str, Any]:
        return {
            "before": _side_json(self.before),
            "after": _side_json(self.after),
            "lineage_changed": self.lineage_changed,
            "summary": {kind: len(self.of_kind(kind)) for kind in KINDS},
            "between": [entry_json(entry) for entry in self.between],
            "changes": [change.to_json() for change in self.changes],
        }


def entry_json(entry: HistoryEntry) -> dict[str, Any]:
    """A kept version's serial, time and audit record, as JSON."""
    return {
        "serial": entry.serial,
        "created": entry.created,
        "audit": entry.audit.to_json() if entry.audit else None,
    }


def _side_json(side: DiffSide) -> dict[str, Any]:
    return {
        "label": side.label,
        "lineage": side.state.lineage,
        "serial": side.state.serial,
        "written": entry_json(side.entry) if side.entry else None,
    }


def diff_states(before: DiffSide, after: DiffSide, history: list[HistoryEntry] | None = None) -> StateDiff:
    """Compare two versions; `history` (oldest first) names the writes between them."""
    from deepdiff import DeepDiff  # imported here: only `state diff` pays for it

    old = {str(address): record_json(res) for address, res in before.state.resources.items()}
    new = {str(address): record_json(res) for address, res in after.state.resources.items()}
    changed_paths: dict[str, set[tuple[str, ...]]] = {}
    tree = DeepDiff(old, new, view="tree")
    for levels in tree.values():
        for level in levels:
            path = level.path(output_format="list")
            if len(path) > 1:
                changed_paths.setdefault(str(path[0]), set()).add(_up_to_first_index(path[1:]))
    changes: list[ResourceChange] = []
    for address in sorted(set(old) | set(new)):
        if address not in old:
            changes.append(ResourceChange(address, "added", None, new[address]))
        elif address not in new:
            changes.append(ResourceChange(address, "removed", old[address], None))
        elif address in changed_paths:
            changes.append(_changed(address, old[address], new[address], sorted(changed_paths[address])))
    changes = _renames_and_rotations(changes)
    between: tuple[HistoryEntry, ...] = ()
    if history and before.entry and after.entry:
        low, high = before.entry.serial, after.entry.serial
        between = tuple(entry for entry in history if low < entry.serial <= high)
    return StateDiff(before=before, after=after, changes=tuple(changes), between=between)


def _changed(
    address: str, old: dict[str, Any], new: dict[str, Any], paths: Sequence[tuple[str, ...]]
) -> ResourceChange:
    attributes = tuple(_attribute_change(old, new, path) for path in paths)
    return ResourceChange(address, "changed", old, new, attributes)


def _identity(record: dict[str, Any] | None) -> tuple[str, str, str] | None:
    """An account passcode's remote id (what survives a rename); None for other records."""
    if not record or record.get("kind") != "account_passcode" or not record.get("id"):
        return None
    return ("account_passcode", str(record.get("account_id")), str(record["id"]))


def _renames_and_rotations(changes: list[ResourceChange]) -> list[ResourceChange]:
    """A passcode removed here and added there is a rename; a new id at an address is a rotation."""
    removed = {_identity(c.before): c for c in changes if c.change == "removed" and _identity(c.before)}
    added = {_identity(c.after): c for c in changes if c.change == "added" and _identity(c.after)}
    folded: set[str] = set()
    out: list[ResourceChange] = []
    for change in changes:
        if change.change == "added" and _identity(change.after) in removed:
            was = removed[_identity(change.after)]
            paths = sorted(
                {
                    (k,)
                    for k in set(was.before or {}) | set(change.after or {})
                    if (was.before or {}).get(k) != (change.after or {}).get(k)
                }
            )
            renamed = _changed(change.address, was.before or {}, change.after or {}, paths)
            out.append(replace(renamed, change="renamed", previous_address=was.address))
            folded.add(was.address)
        elif change.change == "changed" and _identity(change.before) != _identity(change.after):
            aside = added.get(_identity(change.before))
            if aside is not None:
                folded.add(aside.address)
            out.append(replace(change, change="rotated", set_aside=aside.address if aside else None))
        else:
            out.append(change)
    return [c for c in out if c.address not in folded or c.change in ("renamed", "rotated")]


def _up_to_first_index(path: list[Any]) -> tuple[str, ...]:
    """`attributes.previously[2]` → `attributes.previously`: lists are compared whole."""
    keys: list[str] = []
    for part in path:
        if isinstance(part, int):
            break
        keys.append(str(part))
    return tuple(keys)


def _lookup(document: dict[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    node: Any = document
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, ABSENT
        node = node[key]
    return True, node


def _attribute_change(old: dict[str, Any], new: dict[str, Any], path: tuple[str, ...]) -> AttributeChange:
    before_present, before = _lookup(old, path)
    after_present, after = _lookup(new, path)
    return AttributeChange(".".join(path), before, after, before_present, after_present)


# -- reading a side -------------------------------------------------------------------------


class KeptVersions:
    """The backend's kept versions, opened only if a serial is asked for and read once."""

    def __init__(self, open_backend: Callable[[], StateBackend]) -> None:
        self._open_backend = open_backend
        self._backend: StateBackend | None = None
        self._history: list[HistoryEntry] | None = None

    @property
    def backend(self) -> StateBackend:
        if self._backend is None:
            self._backend = self._open_backend()
        return self._backend

    def history(self) -> list[HistoryEntry]:
        if self._history is None:
            self._history = self.backend.history()
        return self._history

    def side(self, serial: int) -> DiffSide:
        try:
            state = self.backend.read_serial(serial)
        except StateError as exc:
            said = str(exc)  # the backends' messages name the serial already: say it once
            raise DiffSourceError(said if f"serial {serial}" in said else f"serial {serial}: {said}") from exc
        entry = next((item for item in self.history() if item.serial == serial), None)
        return DiffSide(label=f"serial {serial}", state=state, entry=entry)


def load_side(spec: str, versions: KeptVersions) -> DiffSide:
    """Resolve `7` (a kept serial), `git:REV:PATH` or a file path into a state version.

    The backend is opened only for serials, so diffing two files needs no config.
    """
    if spec.startswith("git:"):
        return _from_git(spec)
    if spec.isdigit():
        return versions.side(int(spec))
    try:
        with Path(spec).open("rb") as handle:
            raw = handle.read(limits.MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        raise DiffSourceError(
            f"{spec}: no such file (a diff side is a serial, a state file or git:REV:PATH)"
        ) from None
    except OSError as exc:
        raise DiffSourceError(f"{spec}: cannot read it: {exc.strerror or exc}") from None
    return DiffSide(label=spec, state=_parse(raw, spec))


def _from_git(spec: str) -> DiffSide:
    """`git show REV:PATH`, never letting REV be read as an option of git."""
    _, _, rest = spec.partition(":")
    revision, separator, path = rest.partition(":")
    if not separator or not revision or not path:
        raise DiffSourceError(f"{spec}: expected git:REV:PATH, such as git:HEAD~1:ctconfig.state.json")
    if revision.startswith("-"):
        raise DiffSourceError(
            f"{spec}: a git revision cannot start with '-' (git would read it as an option)"
        )
    command = ["git", "show", "--no-textconv", "--end-of-options", f"{revision}:{path}"]
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except FileNotFoundError:
        raise DiffSourceError(f"{spec}: git is not installed") from None
    with process:
        assert process.stdout is not None and process.stderr is not None
        shown = process.stdout.read(limits.MAX_STATE_BYTES + 1)
        if len(shown) > limits.MAX_STATE_BYTES:
            process.kill()
        errors = process.stderr.read(GIT_STDERR_BYTES)
        returncode = process.wait()
    if returncode != 0 and len(shown) <= limits.MAX_STATE_BYTES:
        reason = (errors.decode("utf-8", "replace").strip().splitlines() or ["git show failed"])[0]
        raise DiffSourceError(f"{spec}: {reason}")
    return DiffSide(label=spec, state=_parse(shown, spec))


def _parse(raw: bytes, where: str) -> State:
    """A diff side's state; refused unparsed past the size every backend refuses."""
    try:
        limits.check_state_size(len(raw), where)
        return State.loads(raw.decode("utf-8"), source=where)
    except UnicodeDecodeError:
        raise DiffSourceError(f"{where}: state is not UTF-8 text") from None
    except StateError as exc:
        raise DiffSourceError(str(exc)) from exc

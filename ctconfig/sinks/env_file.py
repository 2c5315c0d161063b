"""The `env-file` sink: `CT_<ACCOUNT>_<NAME>=secret` lines in one 0600 file.

Each variable ctconfig writes is preceded by `# ctconfig: <address>`, the
address that owns it, so a variable holding one address's secret is never
overwritten with another's. Lines ctconfig did not write are kept as they
are; a variable written before owners were recorded is taken over by the
first address whose slot it is.

Sourcing the file (`. secrets.env`) never runs anything: a value a shell would
read as anything but itself is single-quoted (`'...'`, a quote inside as
`'\\''`). CleverTap's passcodes (`AMA-AUE-YWUL`, 32 hex digits) need no quotes,
so they stay bare, as `docker --env-file` and systemd read them. A secret with a
line break is refused.

`store_many` rewrites the file once per batch (temp file, fsync, rename);
`store` calls from several threads join one batch (`GroupCommit`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path

from ctconfig.files import make_private_dirs, write_atomically
from ctconfig.redaction import remember_secret
from ctconfig.secrets import Secret
from ctconfig.sinks.base import SecretRef, SinkError, StoreOutcome, as_sink_error, secret_bytes
from ctconfig.sinks.diskio import directory_problem, read_bounded, target_problem
from ctconfig.sinks.groupcommit import GroupCommit

MAX_ENV_FILE_BYTES = 16 << 20
OWNER_MARK = "# ctconfig: "
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")
_BARE = re.compile(r"^[A-Za-z0-9_./:@%+,=-]+$")
"""A value a shell reads as itself when unquoted (no `$`, backquote, space, glob, `~`, quote, ...)."""


def shell_word(value: str) -> str:
    """`value` as an assignment's right side that a shell reads back as exactly `value`."""
    if _BARE.match(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def _unquoted(text: str) -> str:
    """A value as `shell_word` wrote it (or as written by hand, bare) back to itself."""
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("'\\''", "'")
    return text


def _key_of(line: str) -> str | None:
    match = _ASSIGNMENT.match(line)
    return match[1] if match else None


class _Lines:
    """The file's lines, with each variable's line numbers and recorded owner."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.where: dict[str, list[int]] = {}
        for number, line in enumerate(self.lines):
            key = _key_of(line)
            if key is not None:
                self.where.setdefault(key, []).append(number)

    def owner(self, key: str) -> str | None:
        """The address recorded before the variable's last line, if any."""
        numbers = self.where.get(key)
        if not numbers or numbers[-1] == 0:
            return None
        above = self.lines[numbers[-1] - 1]
        return above[len(OWNER_MARK) :] if above.startswith(OWNER_MARK) else None

    def value(self, key: str) -> str | None:
        numbers = self.where.get(key)
        return _unquoted(self.lines[numbers[-1]][len(key) + 1 :]) if numbers else None

    def rewritten(self, updates: dict[str, tuple[str, str]], dropped: str | None = None) -> str:
        """The text with each updated key's lines replaced, in place, by owner comment and value;
        `dropped`'s lines (and its owner comment) left out."""
        out: list[str] = []
        for number, line in enumerate(self.lines):
            key = _key_of(line)
            following = _key_of(self.lines[number + 1]) if number + 1 < len(self.lines) else None
            if line.startswith(OWNER_MARK) and (following in updates or (dropped and following == dropped)):
                continue
            if dropped is not None and key == dropped:
                continue
            if key in updates:
                if number == self.where[key][0]:
                    address, value = updates[key]
                    out += [OWNER_MARK + address, f"{key}={value}"]
                continue
            out.append(line)
        for key, (address, value) in updates.items():
            if key not in self.where:
                out += [OWNER_MARK + address, f"{key}={value}"]
        return "".join(line + "\n" for line in out)


class EnvFileSink:
    """`CT_<ACCOUNT>_<NAME>=secret` lines in one 0600 file, rewritten atomically once per batch.

    The applier may store secrets from worker threads: their `store` calls are
    group-committed, and the lock keeps one batch's read-modify-write from
    overwriting another's lines.
    """

    can_read_back = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._commits = GroupCommit(self.store_many)

    def describe(self) -> str:
        return f"env-file sink {self.path}"

    def location(self, ref: SecretRef) -> str:
        return f"env-file {self.path} ({ref.env_name})"

    def preflight(self, refs: Sequence[SecretRef]) -> None:
        """The file can be made or rewritten, and each variable is free or `ref`'s; only looks."""
        problem = directory_problem(self.path.parent) or target_problem(self.path)
        if problem is not None:
            raise SinkError(f"cannot write the env file {self.path}: {problem}")
        try:
            current = self._load()
        except Exception as exc:
            raise as_sink_error(exc, f"cannot use the env file {self.path}") from None
        for ref in refs:
            owner = current.owner(ref.env_name)
            if owner is not None and owner != str(ref.address):
                raise self._taken(ref, owner)

    def store(self, ref: SecretRef, secret: Secret) -> str:
        return self._commits.submit(ref, secret).result()

    def store_many(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        outcomes: list[StoreOutcome] = [StoreOutcome(ref) for ref, _ in items]
        with self._lock:
            try:
                current = self._load()
            except Exception as exc:
                error = as_sink_error(exc, f"could not read the env file {self.path}")
                return [StoreOutcome(ref, error=error) for ref, _ in items]
            updates = self._updates(current, items, outcomes)
            if not updates:
                return outcomes
            try:
                make_private_dirs(self.path.parent)
                data = current.rewritten(updates).encode("utf-8")
                write_atomically(self.path, data, sync_dir=True)
            except Exception as exc:
                error = as_sink_error(exc, f"could not write the env file {self.path}")
                return [o if o.error else StoreOutcome(o.ref, error=error) for o in outcomes]
        return outcomes

    def read(self, ref: SecretRef) -> Secret | None:
        try:
            current = self._load()
        except Exception as exc:
            raise as_sink_error(exc, f"could not read the env file {self.path}") from None
        key = ref.env_name
        owner = current.owner(key)
        value = current.value(key)
        if not value or (owner is not None and owner != str(ref.address)):
            return None
        remember_secret(value)
        return Secret(value)

    def _taken(self, ref: SecretRef, owner: str) -> SinkError:
        """`ref`'s variable holds `owner`'s secret: refused, saying how to free it."""
        return SinkError(
            f"{self.location(ref)} holds the secret of {owner}; refusing to overwrite it with "
            f"{ref.address}'s (remove both lines if {owner} is gone)"
        )

    def move(self, old: SecretRef, new: SecretRef) -> str:
        """`old`'s variable renamed to `new`'s, owned by `new`, in one atomic rewrite of the file."""
        old_key, new_key = old.env_name, new.env_name
        with self._lock:
            try:
                current = self._load()
            except Exception as exc:
                raise as_sink_error(exc, f"could not read the env file {self.path}") from None
            value, owner = current.value(old_key), current.owner(old_key)
            if not value or (owner is not None and owner != str(old.address)):
                raise SinkError(f"{self.location(old)} holds no secret of {old.address} to move")
            holder = current.owner(new_key)
            if new_key != old_key and holder is not None and holder != str(new.address):
                raise SinkError(
                    f"{self.location(new)} holds the secret of {holder}; refusing to move "
                    f"{old.address}'s secret there"
                )
            try:
                dropped = old_key if old_key != new_key else None  # one variable: only its owner changes
                text = current.rewritten({new_key: (str(new.address), value)}, dropped=dropped)
                write_atomically(self.path, text.encode("utf-8"), mode=0o600, sync_dir=True)
            except Exception as exc:
                raise as_sink_error(exc, f"could not write the env file {self.path}") from None
        return self.location(new)

    def _load(self) -> _Lines:
        data = read_bounded(self.path, MAX_ENV_FILE_BYTES)
        return _Lines(data.decode("utf-8") if data else "")

    def _updates(
        self, current: _Lines, items: Sequence[tuple[SecretRef, Secret]], outcomes: list[StoreOutcome]
    ) -> dict[str, tuple[str, str]]:
        """{key: (address, value)} to write; refused items get their error in `outcomes`."""
        updates: dict[str, tuple[str, str]] = {}
        for index, (ref, secret) in enumerate(items):
            key, address, where = ref.env_name, str(ref.address), self.location(ref)
            owner = updates[key][0] if key in updates else current.owner(key)
            try:
                value = shell_word(secret_bytes(secret, where, one_line=True).decode("utf-8"))
                if owner is not None and owner != address:
                    raise self._taken(ref, owner)
            except SinkError as exc:
                outcomes[index] = StoreOutcome(ref, error=exc)
                continue
            updates[key] = (address, value)
            outcomes[index] = StoreOutcome(ref, where=where)
        return updates

"""A directory of YAML files → one config: accounts merged by alias, other sections once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ctconfig.config.describe import format_value
from ctconfig.config.errors import Problem, quoted
from ctconfig.config.spec import EXTENSION_PREFIX
from ctconfig.config.yamltree import ParsedFile, SourceMap

TOP_LEVEL_EXPECTED = "expected a mapping with 'version: 1' and sections such as 'accounts'"


def top_level_problem(parsed: ParsedFile) -> Problem | None:
    """A file whose document is not a mapping cannot be a config (or a part of one)."""
    if parsed.data is None or isinstance(parsed.data, dict):
        return None
    return parsed.sources.value_at(()).problem(f"{TOP_LEVEL_EXPECTED}, got {format_value(parsed.data)}")


def _version_problem(parsed: ParsedFile, data: dict[str, Any]) -> Problem | None:
    if "version" not in data:
        return parsed.sources.root.problem(
            "missing required key 'version' at the top level (every file of a config directory "
            "starts with 'version: 1')"
        )
    if data["version"] != 1 or isinstance(data["version"], bool):
        where = parsed.sources.value_at(("version",))
        return where.problem(f"version: expected 1, got {format_value(data['version'])}")
    return None


@dataclass
class _Merged:
    """The config being assembled from the files, in order."""

    sources: SourceMap
    data: dict[str, Any] = field(default_factory=lambda: {"version": 1})
    accounts: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add_file(self, parsed: ParsedFile, data: dict[str, Any]) -> None:
        for section, value in data.items():
            if section == "version" or str(section).startswith(EXTENSION_PREFIX):
                continue  # `x-` keys hold a file's own YAML anchors: nothing to combine
            if section == "accounts":
                self._add_accounts(parsed, value)
            else:
                self._add_section(parsed, section, value)

    def _add_section(self, parsed: ParsedFile, section: str, value: Any) -> None:
        if section in self.data:
            first = self.sources.key_at((section,))
            here = parsed.sources.key_at((section,))
            message = f"section {quoted(section)} is also defined at {first}; expected it in one file only"
            self.problems.append(here.problem(message))
            return
        self.data[section] = value

    def _add_accounts(self, parsed: ParsedFile, value: Any) -> None:
        if not isinstance(value, dict):
            if value is not None:
                where = parsed.sources.value_at(("accounts",))
                found = format_value(value)
                self.problems.append(where.problem(f"accounts: expected a mapping, got {found}"))
            return
        for alias, account in value.items():
            if alias in self.accounts:
                first = self.sources.key_at(("accounts", alias))
                message = (
                    f"account {quoted(alias)} is also defined at {first}; expected each account alias once"
                )
                self.problems.append(parsed.sources.key_at(("accounts", alias)).problem(message))
                continue
            self.accounts[alias] = account


def merge_parsed(files: list[ParsedFile]) -> tuple[dict[str, Any], SourceMap, list[Problem]]:
    """Merge parsed files (at least one, in order); anything defined twice names both places.

    Places are combined first-file-first, so a key defined twice points at its first
    definition, the one that is kept.
    """
    merged = _Merged(SourceMap(files[0].sources.root))
    for parsed in files:
        empty = parsed.data is None and not parsed.problems  # it still needs `version: 1`
        if not (empty or isinstance(parsed.data, dict)):
            continue  # its problems are already reported
        data: dict[str, Any] = parsed.data or {}
        version_problem = _version_problem(parsed, data)
        if version_problem is not None:
            merged.problems.append(version_problem)
        merged.sources.include(parsed.sources)
        merged.add_file(parsed, data)
    merged.data["accounts"] = merged.accounts
    return merged.data, merged.sources, merged.problems

"""A directory of YAML files → one config: accounts merged by alias, other sections once."""

from __future__ import annotations

from typing import Any

from ctconfig.config.describe import format_value
from ctconfig.config.errors import Problem
from ctconfig.config.yamltree import ParsedFile, SourceMap

TOP_LEVEL_EXPECTED = "expected a mapping with 'version: 1' and sections such as 'accounts'"


def top_level_problem(parsed: ParsedFile) -> Problem | None:
    """A file whose document is not a mapping cannot be a config (or a part of one)."""
    if parsed.data is None or isinstance(parsed.data, dict):
        return None
    return parsed.sources.value_at(()).problem(f"{TOP_LEVEL_EXPECTED}, got {format_value(parsed.data)}")


def _version_problem(parsed: ParsedFile) -> Problem | None:
    data = parsed.data if isinstance(parsed.data, dict) else {}
    if "version" not in data:
        return parsed.sources.root.problem(
            "missing required key 'version' at the top level (every file of a config directory "
            "starts with 'version: 1')"
        )
    if data["version"] != 1 or isinstance(data["version"], bool):
        where = parsed.sources.value_at(("version",))
        return where.problem(f"version: expected 1, got {format_value(data['version'])}")
    return None


def merge_parsed(files: list[ParsedFile]) -> tuple[dict[str, Any], SourceMap, list[Problem]]:
    """Merge parsed files (at least one, in order); anything defined twice names both places."""
    merged: dict[str, Any] = {"version": 1}
    sources = SourceMap(files[0].sources.root)
    problems: list[Problem] = []
    accounts: dict[str, Any] = {}
    for parsed in files:
        unreadable = parsed.data is None and parsed.problems
        if unreadable or (parsed.data is not None and not isinstance(parsed.data, dict)):
            continue  # its problems are already reported
        version_problem = _version_problem(parsed)
        if version_problem is not None:
            problems.append(version_problem)
        data: dict[str, Any] = parsed.data or {}
        if "version" in data and ("version",) not in sources.keys:
            sources.absorb(parsed.sources, ("version",))
        for section, value in data.items():
            here = parsed.sources.key_at((section,))
            if section == "version":
                continue
            if section == "accounts":
                if not isinstance(value, dict):
                    if value is not None:
                        where = parsed.sources.value_at(("accounts",))
                        problems.append(
                            where.problem(f"accounts: expected a mapping, got {format_value(value)}")
                        )
                    continue
                sources.keys.setdefault(("accounts",), here)
                for alias, account in value.items():
                    if alias in accounts:
                        first = sources.key_at(("accounts", alias))
                        problems.append(
                            parsed.sources.key_at(("accounts", alias)).problem(
                                f"account {alias!r} is also defined at {first}; "
                                "expected each account alias once"
                            )
                        )
                        continue
                    accounts[alias] = account
                    sources.absorb(parsed.sources, ("accounts", alias))
                continue
            if section in merged:
                first = sources.key_at((section,))
                problems.append(
                    here.problem(
                        f"section {section!r} is also defined at {first}; expected it in one file only"
                    )
                )
                continue
            merged[section] = value
            sources.absorb(parsed.sources, (section,))
    merged["accounts"] = accounts
    return merged, sources, problems

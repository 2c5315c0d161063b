"""A fast path for large, valid configs: libyaml's C parser, no source positions.

The located loader builds a position for every key so that each problem names
`file:line:col`; on a 10,000-resource estate that costs about a second. Most
runs load a config that is valid, so this path parses with the C parser and
validates; the moment anything is unusual (interpolation, anchors, merge
keys, a duplicate, any problem at all) it returns None and the located loader
runs instead, so every error message is still located.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML

from ctconfig.config.rules import check_rules, literal_secrets
from ctconfig.config.spec import Config
from ctconfig.config.yamltree import Position, SourceMap

# Characters that switch on YAML features the located loader handles specially.
_SPECIAL = ("${", "*", "<<")


def _c_yaml() -> YAML | None:
    yaml = YAML(typ="safe", pure=False)
    return yaml if "CParser" in yaml.Parser.__name__ else None


def fast_load(files: list[Path], merged: bool) -> Config | None:
    """The validated config, or None when the located loader must decide."""
    yaml = _c_yaml()
    if yaml is None:
        return None
    documents: list[dict[str, Any]] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return None
        if any(mark in text for mark in _SPECIAL):
            return None
        try:
            data = yaml.load(text)
        except Exception:  # any YAML trouble: let the located loader report it
            return None
        if not isinstance(data, dict) or data.get("version") != 1:
            return None
        documents.append(data)
    data = _merge(documents) if merged else documents[0]
    if data is None:
        return None
    nowhere = SourceMap(Position(str(files[0]), 1, 1))
    if literal_secrets(data, (), nowhere) or check_rules(data, nowhere):
        return None
    try:
        return Config.model_validate(data)
    except ValidationError:
        return None


def _merge(documents: list[dict[str, Any]]) -> dict[str, Any] | None:
    merged: dict[str, Any] = {"version": 1}
    accounts: dict[str, Any] = {}
    for document in documents:
        for section, value in document.items():
            if section == "version":
                continue
            if section == "accounts":
                if not isinstance(value, dict) or set(value) & set(accounts):
                    return None
                accounts.update(value)
            elif section in merged:
                return None
            else:
                merged[section] = value
    merged["accounts"] = accounts
    return merged

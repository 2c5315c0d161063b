"""Keys inside a misspelled block are checked too, as if the block were spelled as suggested.

`acount_passcodes:` is an unknown key, and pydantic looks no further; but the user meant
`account_passcodes`, and `expires_in: soon` inside it is as wrong as it would be there. So a
block (a mapping or list) under an unknown key that has a close known key the mapping lacks is
validated again under that key, and the problems found inside it are reported at the places
the user wrote them (the source map links the corrected path to the written one). Blocks
misspelled inside such a block are corrected in turn, a few levels deep.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ctconfig.config.describe import keys_of, model_at
from ctconfig.config.errors import Problem
from ctconfig.config.spec import Config
from ctconfig.config.validation import data_path, problems_from
from ctconfig.config.yamltree import KeyPath, SourceMap

MAX_PASSES = 4


def problems_inside_misspelled(
    exc: ValidationError, data: Any, sources: SourceMap
) -> list[tuple[KeyPath, Problem]]:
    """Problems inside blocks under misspelled keys (the unknown keys themselves are reported already)."""
    found: list[tuple[KeyPath, Problem]] = []
    linked = replace(sources, links=dict(sources.links))
    renamed: list[KeyPath] = []
    errors = exc.errors()
    for _ in range(MAX_PASSES):
        fixes = [fix for error in errors if (fix := _correction(error, data)) is not None]
        if not fixes:
            break
        for parent, written, meant in fixes:
            data = _renamed(data, parent, written, meant)
            linked.links[(*parent, meant)] = (*parent, written)
            renamed.append((*parent, meant))
        try:
            Config.model_validate(data)
        except ValidationError as again:
            errors = again.errors()
            for path, problem in problems_from(again, data, linked):
                if any(path[: len(prefix)] == prefix and len(path) > len(prefix) for prefix in renamed):
                    found.append((path, problem))
        else:
            break
    return found


def _correction(error: ErrorDetails, data: Any) -> tuple[KeyPath, str, str] | None:
    """(parent path, written key, meant key) for an unknown key holding a block with a close known key."""
    if error["type"] != "extra_forbidden":
        return None
    path = data_path(tuple(error["loc"]))
    parent, key = path[:-1], path[-1]
    mapping = _at(data, parent)
    if not isinstance(key, str) or not isinstance(mapping, dict):
        return None
    if not isinstance(mapping.get(key), dict | list):
        return None
    model = model_at(parent, data)
    if model is None:
        return None
    known = [k for k in keys_of(model) if k not in mapping]
    close = difflib.get_close_matches(key[:100].lower(), known, n=1, cutoff=0.6)
    return (parent, key, close[0]) if close else None


def _at(data: Any, path: KeyPath) -> Any:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _renamed(data: Any, parent: KeyPath, written: str, meant: str) -> Any:
    """A copy of `data` (only along `parent`) where the key `written` of that mapping is `meant`."""
    if not parent:
        copied = dict(data)
        copied[meant] = copied.pop(written)
        return copied
    head, rest = parent[0], parent[1:]
    if isinstance(data, dict):
        return {**data, head: _renamed(data[head], rest, written, meant)}
    items = list(data)
    items[int(head)] = _renamed(items[int(head)], rest, written, meant)
    return items

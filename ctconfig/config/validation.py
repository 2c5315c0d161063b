"""pydantic's validation errors → located, plain-spoken problems.

Each error is tied to the key or value the user wrote (via the SourceMap) and
worded as "what: expected X, got Y". Values that may be secrets (anything under
`credentials`, any `*_env` name) are never echoed; values that came from the
environment are shown as written in the file, before interpolation.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ctconfig.config.describe import format_value, keys_of, label, model_at, place, suggestion
from ctconfig.config.errors import Problem, quoted
from ctconfig.config.spec import SECTION_TAGS
from ctconfig.config.yamltree import KeyPath, SourceMap

_EXPECTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "finite_number": "a finite number",
}


def _bound(error: ErrorDetails) -> str | None:
    ctx = error.get("ctx") or {}
    words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
    for key, phrase in words.items():
        if key in ctx:
            return f"a number {phrase} {ctx[key]}"
    return None


def _expected(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind == "literal_error":
        return str(ctx.get("expected", "one of the listed values"))
    bound = _bound(error)
    if bound:
        return bound
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Input should be ")
    return message.removeprefix("expected ")


def _is_sensitive(path: KeyPath) -> bool:
    return "credentials" in path or (bool(path) and str(path[-1]).endswith("_env"))


def _holds_credentials(value: Any) -> bool:
    """A URL with `user:password@` in it: the password must not be echoed."""
    return isinstance(value, str) and "://" in value and "@" in value.split("://", 1)[1].split("/", 1)[0]


def _found(path: KeyPath, value: Any, sources: SourceMap) -> str:
    if _is_sensitive(path):
        return ""
    if _holds_credentials(value):
        return " (the value is not shown: it holds credentials)"
    written = sources.written_at(path)
    if written is not None:
        return f", got {quoted(written)} (after interpolation)"
    return f", got {format_value(value)}"


def _in(parent: KeyPath) -> str:
    return f"in {place(parent)}" if parent else "at the top level"


def data_path(loc: tuple[str | int, ...]) -> KeyPath:
    """Drop the variant tag pydantic puts after a tagged section: ('state', 'postgres', 'x')."""
    if len(loc) > 1 and loc[0] in SECTION_TAGS:
        return (loc[0], *loc[2:])
    return loc


def _written_as_one(path: KeyPath, data: Any) -> bool:
    """`previously: x` for `previously: [x]`: the error's `[0]` is the value the user wrote."""
    if not path or path[-1] != 0:
        return False
    for part in path[:-1]:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return isinstance(data, str)


def _convert(error: ErrorDetails, data: Any, sources: SourceMap) -> tuple[KeyPath, Problem]:
    kind = error["type"]
    path = data_path(tuple(error["loc"]))
    if _written_as_one(path, data):
        path = path[:-1]
    if path and path[-1] == "[key]":
        path = path[:-1]
        message = str(error["msg"]).removeprefix("Value error, ")
        return path, sources.key_at(path).problem(message)
    if kind == "missing":
        parent = path[:-1]
        message = f"missing required key {quoted(str(path[-1]))} {_in(parent)}"
        return path, sources.key_at(parent).problem(message)
    if kind == "extra_forbidden":
        parent, key = path[:-1], str(path[-1])
        model = model_at(parent, data)
        hint = suggestion(key, keys_of(model)) if model else ""
        return path, sources.key_at(path).problem(f"unknown key {quoted(key)} {_in(parent)}{hint}")
    if kind == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        tag = SECTION_TAGS[str(path[0])][0]
        tags = str(ctx.get("expected_tags", ""))
        head, _, tail = tags.rpartition(", ")
        choices = f"{head} or {tail}" if head else tail
        found = _found((*path, tag), ctx.get("tag"), sources)  # as written, when interpolated
        return (*path, tag), sources.value_at((*path, tag)).problem(f"{tag}: expected {choices}{found}")
    where = sources.value_at(path)
    found = _found(path, error.get("input"), sources)
    return path, where.problem(f"{label(path)}: expected {_expected(error)}{found}")


def problems_from(exc: ValidationError, data: Any, sources: SourceMap) -> list[tuple[KeyPath, Problem]]:
    """Every validation error as (data path, located problem)."""
    return [_convert(error, data, sources) for error in exc.errors()]

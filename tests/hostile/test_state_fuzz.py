"""Any state document — hand-edited, truncated, hostile — loads or is refused with one StateError line.

Hypothesis mutates real documents (format 1 and 2): a value replaced by any JSON value, a key
dropped or added, a record swapped into another address; and throws arbitrary JSON and bytes at
the parser. Nothing may escape as another exception, and no refusal may span lines.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ctconfig.state.document import State, StateError

FORMAT_1 = json.loads((Path(__file__).parents[1] / "fixtures" / "state-format-1.json").read_text())
FORMAT_2 = json.loads(State.loads(json.dumps(FORMAT_1)).dumps())

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def loads_or_refuses(document: Any) -> None:
    try:
        State.from_json(document, "fuzz.json")
    except StateError as exc:
        message = str(exc)
        assert message.startswith("fuzz.json: ") and "\n" not in message, message


@given(st.sampled_from([FORMAT_1, FORMAT_2]), st.data())
def test_a_mutated_document_loads_or_is_refused_in_one_line(
    base: dict[str, Any], data: st.DataObject
) -> None:
    document = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths(document)))
        action = data.draw(st.sampled_from(["replace", "drop", "add"]))
        if not path:
            document = data.draw(JSON)
            break
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if action == "replace":
            parent[path[-1]] = data.draw(JSON)
        elif action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=12))] = data.draw(JSON)
    loads_or_refuses(document)


@given(st.one_of(JSON, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_arbitrary_input_is_refused_in_one_line(value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        State.loads(text, "fuzz.json")
    except StateError as exc:
        assert str(exc).startswith("fuzz.json: ") and "\n" not in str(exc)


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    loads_or_refuses({**FORMAT_2, "resources": {"a/settings": deep}})
    for text in ("[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000):
        try:
            State.loads(text, "fuzz.json")
        except StateError as exc:
            assert "\n" not in str(exc)

"""Fuzzing the loader: whatever the input, the outcome is a Config or located problems.

Never another exception, and never a problem without a file, line and column.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ctconfig.config.errors import ConfigError
from ctconfig.config.loader import LoadedConfig, load_config

VALID = """\
version: 1
state: {backend: local, path: ctconfig.state.json}
provider: {kind: sandbox, path: .ctconfig/sandbox.db}
secrets: {sink: file, path: .ctconfig/secrets}
defaults: {region: eu1, unmanaged: ignore}
accounts:
  prod:
    id: W9R-486-4W5Z
    region: in1
    credentials: {passcode_env: CT_PROD_PASSCODE}
    passcode_mode: user
    account_passcodes:
      segment-export: {expires_in: 90d, rotate_before: 14d, prevent_destroy: true}
      braze-sync: {expires_in: forever, previously: old-sync}
    user_passcodes:
      alice@example.com: {validity: 365d}
      bob@example.com: {validity: infinite, reset_before: 30d}
"""

KEYS = ["version", "state", "accounts", "prod", "id", "region", "expires_in", "validity", "passcode",
        "credentials", "passcode_env", "backend", "kind", "sink", "account_passcodes", "<<", "x/y"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-1000, 1000), st.floats(allow_nan=True),
    st.sampled_from(["90d", "forever", "infinite", "${X}", "${X:-1}", "${", "W9R-486-4W5Z", "in1", ""]),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=20,
)
YAML_CHARS = st.sampled_from([*"abc:{}[]-,&*!|>'\"#%@`?\n\t ${}~0123456789", "  ", ": ", "- ", "\n  "])


def dump(data: Any) -> str:
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, stream)
    return stream.getvalue()


def outcome(text: str) -> LoadedConfig | ConfigError:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ctconfig.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return load_config(path, environ={"X": "7"})
        except ConfigError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem.path == str(path)
                assert problem.line >= 1 and problem.column >= 1
                assert problem.message and "\n" not in problem.message
            return exc


@given(st.lists(YAML_CHARS, max_size=60).map("".join))
def test_random_yaml_text(text: str) -> None:
    outcome(text)


@given(VALUES)
def test_random_yaml_documents(data: Any) -> None:
    outcome(dump(data))


@given(st.data())
def test_mutated_valid_config(data: st.DataObject) -> None:
    config: Any = YAML(typ="safe", pure=True).load(VALID)
    for _ in range(data.draw(st.integers(1, 3))):
        node = config
        while isinstance(node, dict) and node and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(sorted(node, key=str)))
            if not isinstance(node[key], dict):
                break
            node = node[key]
        if not isinstance(node, dict) or not node:
            continue
        key = data.draw(st.sampled_from(sorted(node, key=str)))
        action = data.draw(st.sampled_from(["replace", "delete", "add", "rename"]))
        if action == "replace":
            node[key] = data.draw(VALUES)
        elif action == "delete":
            del node[key]
        elif action == "add":
            node[data.draw(st.sampled_from(KEYS))] = data.draw(VALUES)
        else:
            node[key + data.draw(st.sampled_from(["s", "_", "X", "~retiring-1"]))] = node.pop(key)
    outcome(dump(config))


@given(st.integers(0, len(VALID)), st.integers(0, 8), st.lists(YAML_CHARS, max_size=4).map("".join))
def test_text_splices_of_a_valid_config(start: int, length: int, insert: str) -> None:
    outcome(VALID[:start] + insert + VALID[start + length :])


def test_the_unmutated_config_is_valid() -> None:
    assert isinstance(outcome(VALID), LoadedConfig)

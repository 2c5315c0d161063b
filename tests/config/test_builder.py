"""The single-pass event builder: the C parser's events and the pure parser's give the same
data, places and problems; the data is what ruamel.yaml's safe loader makes of the text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ctconfig.config.builder import EventBuilder
from ctconfig.config.yamltree import c_events_available, events, parse_yaml
from tests.config.catalogue import CATALOGUE, VALID
from tests.config.test_fuzz import VALID as FUZZ_VALID

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = {
    p.relative_to(REPO).as_posix(): p.read_text(encoding="utf-8") for p in REPO.glob("examples/**/*.yaml")
}
TEXTS = {
    **{f"invalid:{name}": text for name, (text, _) in CATALOGUE.items()},
    **{f"valid:{name}": text for name, text in VALID.items()},
    **EXAMPLES,
    "fuzz-valid": FUZZ_VALID,
    "unicode-before-keys": "version: 1\n# ünïcödé 📦\nnote: 'ünï 📦'\nx: {é: 1, 📦: [a, b]}\nbad: [\n",
    "anchors-and-merges": "a: &a {x: 1, y: [1, 2]}\nb: *a\nc: {<<: [*a, {z: 3}], x: 2}\nd: &s text\ne: *s\n",
}


def build(text: str, pure: bool) -> Any:
    """Everything the builder found, or where the parser stopped."""
    builder = EventBuilder("c.yaml", {"X": "7"})
    try:
        builder.feed(events(text, pure=pure))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return ("YAML error", mark.line if mark else None, mark.column if mark else None)
    parsed = builder.parsed
    sources = parsed.sources
    return (parsed.data, parsed.problems, sources.keys, sources.values, sources.links, parsed.refused)


def test_the_c_parser_is_installed() -> None:
    assert c_events_available(), "ruamel.yaml.clib is a dependency: without it large configs load slowly"


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_c_and_pure_events_build_the_same(name: str) -> None:
    assert build(TEXTS[name], pure=False) == build(TEXTS[name], pure=True)


@pytest.mark.parametrize("name", sorted(name for name, text in TEXTS.items() if "${" not in text))
def test_the_data_is_what_the_safe_loader_makes(name: str) -> None:
    text = TEXTS[name]
    try:
        expected = YAML(typ="safe", pure=True).load(text)
    except Exception:  # the safe loader refuses it (syntax, duplicates, tags): nothing to compare
        return
    parsed = parse_yaml(text, "c.yaml", {})
    if not parsed.problems:
        assert parsed.data == expected


def test_a_syntax_error_is_worded_by_the_pure_parser() -> None:
    (problem,) = parse_yaml("version: 1\naccounts:\n\tprod: {}\n", "c.yaml", {}).problems
    assert str(problem) == "c.yaml:3:1: invalid YAML: found character '\\t' that cannot start any token"


def test_the_yaml_version_directive_is_honoured() -> None:
    assert parse_yaml("%YAML 1.1\n---\na: yes\nb: 0o17\n", "c.yaml", {}).data == {"a": True, "b": "0o17"}
    assert parse_yaml("a: yes\nb: 0o17\n", "c.yaml", {}).data == {"a": "yes", "b": 15}


def test_merge_keys_keep_explicit_keys_and_point_at_their_source() -> None:
    parsed = parse_yaml(TEXTS["anchors-and-merges"], "c.yaml", {})
    assert parsed.data["c"] == {"x": 2, "y": [1, 2], "z": 3}
    assert list(parsed.data["c"]) == ["x", "y", "z"]
    assert parsed.data["b"] is parsed.data["a"] and parsed.data["e"] == "text"
    assert str(parsed.sources.key_at(("c", "y"))) == "c.yaml:1:14"  # in anchor a
    assert str(parsed.sources.value_at(("c", "z"))) == "c.yaml:3:18"  # in the inline mapping
    assert str(parsed.sources.key_at(("c", "x"))) == "c.yaml:3:23"  # written here
    assert str(parsed.sources.value_at(("b", "y", 1))) == "c.yaml:1:21"


def test_interpolated_values_through_an_alias_are_shown_as_written(tmp_path: Path) -> None:
    from ctconfig.config.errors import ConfigError
    from ctconfig.config.loader import load_config

    path = tmp_path / "c.yaml"
    path.write_text("version: 1\nx: &r ${CT_REGION}\ndefaults: {region: *r}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"CT_REGION": "mars1"})
    assert str(caught.value).endswith(
        "region: expected 'eu1', 'in1', 'sg1', 'us1', 'aps3' or 'mec1', "
        "got '${CT_REGION}' (after interpolation)"
    )

"""The JSON Schema says what `ctconfig validate` says, checked both ways with real validators.

Every invalid config of the catalogue that `validate` refuses, the schema refuses too —
except the few rules no JSON Schema can state, listed below with the reason. Those the
schema must accept (so the list cannot go stale), and every valid config (the examples,
the README's, the VALID catalogue) both must accept. The schema is run by check-jsonschema,
the CLI editors and CI use (ECMAScript regexes), and by the jsonschema library (Python's).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ctconfig.config.loader import load_config
from ctconfig.config.schema import config_json_schema
from tests.config.catalogue import CATALOGUE, VALID

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "schemas" / "ctconfig.schema.json"

SCHEMA_CANNOT = {
    "passcode_names_case_insensitive": "comparing keys regardless of case",
    "email_duplicate_case": "comparing keys regardless of case",
    "account_id_duplicate": "comparing values across accounts",
    "rotate_before_not_shorter": "comparing two numbers",
    "reset_before_not_shorter": "comparing two numbers",
    "slot_env_file_aliases": "mapping names to sink slots",
    "slot_env_file_names": "mapping names to sink slots",
    "slot_file_sink_backslash": "mapping names to sink slots",
    "env_var_missing": "the environment at validation time",
    "number_not_a_number": "NaN, which JSON has no word for (it passes every bound)",
    "template_unknown": "a name that must be a key elsewhere in the document",
    "template_without_templates": "a name that must be a key elsewhere in the document",
    "template_conflict": "comparing the keys of the templates an account uses",
    "template_case_repeat": "comparing keys regardless of case",
    "previously_alias_still_used": "comparing values with keys across accounts",
    "removed_still_declared": "comparing addresses with the keys that declare them",
    "removed_from_template": "comparing addresses with the keys that declare them",
}
DIRECTORY_EXAMPLE = "example_multi-account_"
"""The files of a config directory: validate reads them together, the schema one at a time."""
# check-jsonschema itself overflows its stack normalising a recursive alias.
CHECK_JSONSCHEMA_CANNOT_LOAD = {"recursive_alias"}


def _readme_config() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    reference = readme.split("## Configuration reference")[1]
    found = re.search(r"```yaml\n(.*?)```", reference, flags=re.S)
    assert found is not None
    return found.group(1)


def valid_configs() -> dict[str, str]:
    examples = sorted((REPO / "examples").rglob("*.yaml"))
    assert len(examples) >= 6
    return {
        **{f"valid_{name}": text for name, text in VALID.items()},
        **{f"example_{p.parent.name}_{p.stem}": p.read_text(encoding="utf-8") for p in examples},
        "readme_configuration_reference": _readme_config(),
    }


def check_jsonschema_rejects(cases: dict[str, str], folder: Path) -> set[str]:
    """The names of the cases check-jsonschema reports, as a user runs it on their files."""
    folder.mkdir()
    for name, text in cases.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    executable = shutil.which("check-jsonschema")
    assert executable is not None, "check-jsonschema is in the test extra"
    result = subprocess.run(
        [executable, "-o", "json", "--schemafile", str(SCHEMA), *sorted(map(str, folder.glob("*.yaml")))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    failed = report.get("errors", []) + report.get("parse_errors", [])
    return {Path(entry["filename"]).stem for entry in failed}


def jsonschema_rejects(text: str) -> bool:
    """The jsonschema library's verdict on YAML loaded as check-jsonschema loads it."""
    import jsonschema

    try:
        data: Any = json.loads(json.dumps(YAML(typ="safe", pure=True).load(text), default=str))
    except Exception:  # unreadable YAML (or a recursive alias) is not a valid config either
        return True
    return any(jsonschema.Draft202012Validator(config_json_schema()).iter_errors(data))


def test_the_exceptions_are_catalogued() -> None:
    assert set(SCHEMA_CANNOT) <= set(CATALOGUE)


def test_check_jsonschema_rejects_what_validate_rejects_and_no_more(tmp_path: Path) -> None:
    cases = {name: text for name, (text, _) in CATALOGUE.items() if name not in CHECK_JSONSCHEMA_CANNOT_LOAD}
    rejected = check_jsonschema_rejects(cases, tmp_path / "invalid")
    assert sorted(set(cases) - set(SCHEMA_CANNOT) - rejected) == [], "validate refuses, the schema accepts"
    assert sorted(set(SCHEMA_CANNOT) & rejected) == [], "no longer an exception: remove it from SCHEMA_CANNOT"


OPERATOR = {
    "CTCONFIG_ALLOWED_ENDPOINTS": "https://gitlab.example.com,https://ct.example.com:*",
    "CTCONFIG_ALLOWED_ENV": "CI_JOB_TOKEN",
    "CTCONFIG_ALLOWED_COMMANDS": "*",
}
"""What an operator allows for the catalogue's valid configs (the JSON Schema cannot know it)."""


def test_check_jsonschema_accepts_what_validate_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = valid_configs()
    monkeypatch.chdir(tmp_path)
    for name, text in cases.items():
        Path(f"{name}.yaml").write_text(text, encoding="utf-8")
        if not name.startswith(DIRECTORY_EXAMPLE):  # its files refer to each other's templates
            load_config(Path(f"{name}.yaml"), environ=OPERATOR)  # raises if validate refuses
    load_config(REPO / "examples" / "multi-account", environ=OPERATOR)
    assert check_jsonschema_rejects(cases, tmp_path / "valid") == set()


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_jsonschema_library_agrees_on_the_catalogue(name: str) -> None:
    text, _ = CATALOGUE[name]
    assert jsonschema_rejects(text) is (name not in SCHEMA_CANNOT)


@pytest.mark.parametrize("name", sorted(valid_configs()))
def test_jsonschema_library_accepts_every_valid_config(name: str) -> None:
    assert not jsonschema_rejects(valid_configs()[name])


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA.read_text(encoding="utf-8")))

"""Loading valid configs: values, interpolation, directories, digests, locations, discovery."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ctconfig.config.errors import ConfigError, ConfigNotFoundError
from ctconfig.config.loader import discover_config, load_config
from ctconfig.config.schema import config_json_schema, schema_text
from ctconfig.config.summary import summarize

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "ctconfig.yaml"

BASIC = """\
version: 1
accounts:
  prod:
    id: W9R-486-4W5Z
    region: in1
    credentials: {passcode_env: CT_PROD_PASSCODE}
    account_passcodes:
      segment-export: {expires_in: 90d, rotate_before: 14d, prevent_destroy: true}
      braze-sync: {expires_in: Forever}
      nightly: {expires_in: 30}
    user_passcodes:
      Alice@Example.com: {validity: 365d}
      bob@example.com: {validity: infinite, reset_before: 30d}
"""

# The same meaning as BASIC: other key order, comments, flow/block style, 90 vs 90d.
BASIC_REWRITTEN = """\
# a comment
accounts:
  prod:
    user_passcodes:
      bob@example.com:
        reset_before: 30
        validity: infinite
      alice@example.com: {validity: 365}
    account_passcodes:
      nightly: {expires_in: 30d}   # monthly
      braze-sync: {expires_in: forever}
      segment-export:
        prevent_destroy: true
        rotate_before: 14
        expires_in: 90
    credentials:
      passcode_env: CT_PROD_PASSCODE
    region: in1
    id: W9R-486-4W5Z
version: 1
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_values_are_parsed_into_days_and_none(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "c.yaml", BASIC), environ={}).config
    prod = config.accounts["prod"]
    assert prod.account_passcodes["segment-export"].expires_in == 90
    assert prod.account_passcodes["segment-export"].rotate_before == 14
    assert prod.account_passcodes["braze-sync"].expires_in is None
    assert prod.account_passcodes["nightly"].expires_in == 30
    assert prod.user_passcodes["bob@example.com"].validity is None
    assert set(prod.user_passcodes) == {"alice@example.com", "bob@example.com"}  # emails lower-cased
    assert prod.credentials is not None and prod.credentials.passcode_env == "CT_PROD_PASSCODE"
    assert config.region_of("prod") == "in1"
    assert config.unmanaged_of("prod") == "ignore"
    assert summarize(config) == "1 account, 3 account passcodes, 2 user grants"


def test_digest_ignores_comments_layout_and_order_but_not_meaning(tmp_path: Path) -> None:
    first = load_config(write(tmp_path / "a.yaml", BASIC), environ={})
    second = load_config(write(tmp_path / "b.yaml", BASIC_REWRITTEN), environ={})
    changed = load_config(write(tmp_path / "c.yaml", BASIC.replace("30}", "31}")), environ={})
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", first.digest)
    assert first.digest == second.digest
    assert first.digest != changed.digest


def test_location_of_points_at_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(Path("ctconfig.yaml"), BASIC)
    loaded = load_config(Path("ctconfig.yaml"), environ={})
    assert loaded.files == (Path("ctconfig.yaml"),)
    assert loaded.location_of("accounts", "prod") == "ctconfig.yaml:3:3"
    assert loaded.location_of("accounts", "prod", "account_passcodes", "braze-sync") == "ctconfig.yaml:9:7"
    alice = ("accounts", "prod", "user_passcodes", "alice@example.com")
    assert loaded.location_of(*alice) == "ctconfig.yaml:12:7"  # written Alice@Example.com
    assert loaded.location_of("accounts", "nowhere") is None


COMMANDS_ALLOWED = {"CTCONFIG_ALLOWED_COMMANDS": "*"}  # the operator trusts the config's command sink


def test_interpolation_defaults_types_and_escapes(tmp_path: Path) -> None:
    text = """\
version: 1
state: {path: "${CT_STATE_DIR:-.}/state.json"}
secrets: {sink: command, command: "echo $${NOT_INTERPOLATED}"}
accounts:
  prod:
    id: ${CT_PROD_ID}
    region: ${CT_REGION:-eu1}
    account_passcodes:
      export:
        expires_in: ${CT_EXPIRY:-90}
        prevent_destroy: ${CT_PROTECT:-true}
"""
    config = load_config(
        write(tmp_path / "c.yaml", text), environ={"CT_PROD_ID": "W9R-486-4W5Z", **COMMANDS_ALLOWED}
    ).config
    assert config.accounts["prod"].id == "W9R-486-4W5Z"
    assert config.region_of("prod") == "eu1"
    assert config.accounts["prod"].account_passcodes["export"].expires_in == 90
    assert config.accounts["prod"].account_passcodes["export"].prevent_destroy is True
    assert config.state.path == "./state.json"  # type: ignore[union-attr]
    assert config.secrets.command == "echo ${NOT_INTERPOLATED}"  # type: ignore[union-attr]


def test_empty_variable_takes_the_default(tmp_path: Path) -> None:
    text = "version: 1\ndefaults: {region: '${CT_REGION:-sg1}'}\n"
    config = load_config(write(tmp_path / "c.yaml", text), environ={"CT_REGION": ""}).config
    assert config.defaults.region == "sg1"


def test_merge_keys_share_settings(tmp_path: Path) -> None:
    text = """\
version: 1
accounts:
  prod:
    id: W9R-486-4W5Z
    account_passcodes:
      a: &standard {expires_in: 90d, rotate_before: 14d}
      b: {<<: *standard, prevent_destroy: true}
"""
    config = load_config(write(tmp_path / "c.yaml", text), environ={}).config
    passcodes = config.accounts["prod"].account_passcodes
    assert passcodes["b"].expires_in == 90 and passcodes["b"].prevent_destroy


def test_directory_merges_accounts_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    write(folder / "b.yaml", "version: 1\naccounts:\n  two: {id: W9R-486-4W5B}\n")
    write(folder / "a.yaml", "version: 1\nstate: {path: s.json}\naccounts:\n  one: {id: W9R-486-4W5A}\n")
    write(folder / "notes.txt", "not yaml: [")
    loaded = load_config(folder, environ={})
    assert loaded.files == (folder / "a.yaml", folder / "b.yaml")
    assert set(loaded.config.accounts) == {"one", "two"}
    assert loaded.config.state.path == "s.json"  # type: ignore[union-attr]
    assert loaded.location_of("accounts", "two") == f"{folder / 'b.yaml'}:3:3"


def test_empty_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFoundError, match=r"holds no \*\.yaml files"):
        load_config(tmp_path, environ={})


def test_non_utf8_file_is_located(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"version: 1\nx: \xff\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert [(p.line, p.column) for p in caught.value.problems] == [(2, 4)]


def test_discovery_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CTCONFIG_CONFIG", raising=False)
    with pytest.raises(ConfigNotFoundError, match="ctconfig init"):
        discover_config(None, cwd=tmp_path)
    (tmp_path / "ctconfig").mkdir()
    write(tmp_path / "ctconfig" / "prod.yaml", "# the accounts of prod\nversion: 1\n")
    assert discover_config(None, cwd=tmp_path) == tmp_path / "ctconfig"
    write(tmp_path / "ctconfig.yaml", "version: 1\n")
    assert discover_config(None, cwd=tmp_path) == tmp_path / "ctconfig.yaml"
    write(tmp_path / "other.yaml", "version: 1\n")
    monkeypatch.setenv("CTCONFIG_CONFIG", "other.yaml")
    assert discover_config(None, cwd=tmp_path) == tmp_path / "other.yaml"
    assert discover_config("ctconfig", cwd=tmp_path) == tmp_path / "ctconfig"
    with pytest.raises(ConfigNotFoundError, match=r"'missing\.yaml' does not exist"):
        discover_config("missing.yaml", cwd=tmp_path)


def test_a_directory_named_ctconfig_without_config_files_is_not_taken_for_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In ctconfig's own repository root, `ctconfig/` is the Python package, not a config."""
    monkeypatch.delenv("CTCONFIG_CONFIG", raising=False)
    package = tmp_path / "ctconfig"
    package.mkdir()
    write(package / "__init__.py", "")
    write(package / "notes.yaml", "title: not a config\nversions: [1]\n")
    with pytest.raises(ConfigNotFoundError) as caught:
        discover_config(None, cwd=tmp_path)
    assert "./ctconfig/ is a directory but not a config directory" in str(caught.value)
    assert "holds no *.yaml file with a top-level 'version:'" in str(caught.value)
    write(package / "prod.yaml", "version: 1\naccounts: {}\n")
    assert discover_config(None, cwd=tmp_path) == package


def test_plan_in_a_repository_root_says_the_package_is_not_a_config(
    tmp_path: Path, run_ctconfig: Any
) -> None:
    (tmp_path / "ctconfig").mkdir()
    write(tmp_path / "ctconfig" / "__init__.py", "")
    done = run_ctconfig("plan", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "not a config directory" in done.stderr


def test_discovery_keeps_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CTCONFIG_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ctconfig.yaml", "version: 1\n")
    assert discover_config(None) == Path("ctconfig.yaml")


def test_checked_in_schema_is_current() -> None:
    checked_in = (REPO / "schemas" / "ctconfig.schema.json").read_text(encoding="utf-8")
    assert checked_in == schema_text(), "stale schema: run `ctconfig schema > schemas/ctconfig.schema.json`"


def test_schema_accepts_the_quickstart_and_rejects_unknown_keys() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    data = json.loads(json.dumps(YAML(typ="safe").load(QUICKSTART.read_text())))
    validator = jsonschema.Draft202012Validator(config_json_schema())
    assert list(validator.iter_errors(data)) == []
    data["accounts"]["demo"]["acount_passcodes"] = {}
    assert list(validator.iter_errors(data))


def test_every_example_declares_the_schema() -> None:
    examples = [
        *sorted((REPO / "examples" / "quickstart").glob("*.yaml")),
        *sorted((REPO / "examples" / "multi-account").glob("*.yaml")),
    ]
    assert len(examples) >= 4
    for example in examples:
        first = example.read_text(encoding="utf-8").splitlines()[0]
        relative = Path("../" * len(example.relative_to(REPO).parent.parts)) / "schemas/ctconfig.schema.json"
        assert first == f"# yaml-language-server: $schema={relative.as_posix()}", example
        assert (example.parent / relative).resolve() == REPO / "schemas" / "ctconfig.schema.json"


def test_loading_leaves_the_collector_on_and_the_loaded_config_frozen(tmp_path: Path) -> None:
    """The collector is paused while the config is built; afterwards it is on again, and what
    existed (the config among it) is frozen rather than walked once more (bench/config_load.py)."""
    import gc

    gc.unfreeze()
    try:
        loaded = load_config(write(tmp_path / "ctconfig.yaml", BASIC))
        assert gc.isenabled()
        assert gc.get_freeze_count() > 1000
        assert loaded.config.accounts
    finally:
        gc.unfreeze()

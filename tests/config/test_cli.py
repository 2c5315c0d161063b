"""`ctconfig validate`, `schema` and `init` through the installed command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import RunCtconfig

REPO = Path(__file__).resolve().parents[2]
INVALID = "version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    acount_passcodes: {}\n    region: xx1\n"


def test_validate_quickstart_example(run_ctconfig: RunCtconfig) -> None:
    result = run_ctconfig("validate", cwd=REPO / "examples" / "quickstart")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Config valid: 1 account, 3 account passcodes, 2 user grants.\n"


def test_validate_multi_account_example_without_env(run_ctconfig: RunCtconfig) -> None:
    result = run_ctconfig("-c", str(REPO / "examples" / "multi-account"), "validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Config valid: 3 accounts,")


def test_validate_reports_every_problem_located(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    (tmp_path / "ctconfig.yaml").write_text(INVALID)
    result = run_ctconfig("validate")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "ctconfig.yaml:5:5: unknown key 'acount_passcodes' in account 'prod'; "
        "did you mean 'account_passcodes'?",
        "ctconfig.yaml:6:13: region: expected 'eu1', 'in1', 'sg1', 'us1', 'aps3' or 'mec1', got 'xx1'",
    ]


def test_debug_is_allowed_a_traceback(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    (tmp_path / "ctconfig.yaml").write_text(INVALID)
    result = run_ctconfig("--debug", "validate")
    assert result.returncode == 1
    assert "ctconfig.yaml:5:5: unknown key" in result.stderr


def test_config_from_flag_and_environment(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    (tmp_path / "elsewhere.yaml").write_text("version: 1\n")
    by_flag = run_ctconfig("-c", "elsewhere.yaml", "validate")
    by_env = run_ctconfig("validate", env={"CTCONFIG_CONFIG": "elsewhere.yaml"})
    empty = "Config valid: 0 accounts, 0 account passcodes, 0 user grants.\n"
    assert by_flag.stdout == by_env.stdout == empty
    missing = run_ctconfig("-c", "nope.yaml", "validate")
    assert missing.returncode == 1 and "'nope.yaml' does not exist" in missing.stderr


def test_no_config_names_the_options(run_ctconfig: RunCtconfig) -> None:
    result = run_ctconfig("validate")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for option in ("-c PATH", "CTCONFIG_CONFIG", "./ctconfig.yaml", "./ctconfig/", "ctconfig init"):
        assert option in result.stderr


def test_schema_prints_the_checked_in_schema(run_ctconfig: RunCtconfig) -> None:
    result = run_ctconfig("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads((REPO / "schemas" / "ctconfig.schema.json").read_text())


def test_init_writes_a_valid_commented_starter_once(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    first = run_ctconfig("init")
    assert first.returncode == 0, first.stderr
    written = (tmp_path / "ctconfig.yaml").read_text()
    assert "# " in written and "kind: sandbox" in written
    assert run_ctconfig("validate").returncode == 0
    again = run_ctconfig("init")
    assert again.returncode == 1
    assert "already exists" in again.stderr and "Traceback" not in again.stderr
    assert (tmp_path / "ctconfig.yaml").read_text() == written


def test_init_migrate_state_calls_the_migration(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_text("version: 1\nstate: {backend: local, path: old.state.json}\n")
    (tmp_path / "ctconfig.yaml").write_text("version: 1\nstate: {backend: local, path: new.state.json}\n")
    result = run_ctconfig("init", "--migrate-state", "--from", "old.yaml")
    assert result.returncode == 0, result.stderr
    assert "nothing to migrate" in result.stdout
    assert (tmp_path / "ctconfig.yaml").read_text().startswith("version: 1\nstate")  # no starter written


def test_init_option_misuse_is_a_usage_error(run_ctconfig: RunCtconfig) -> None:
    assert run_ctconfig("init", "--migrate-state").returncode == 2
    assert run_ctconfig("init", "--from", "old.yaml").returncode == 2


def test_quickstart_runs_from_a_copy(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    shutil.copy(REPO / "examples" / "quickstart" / "ctconfig.yaml", tmp_path / "ctconfig.yaml")
    assert run_ctconfig("validate").returncode == 0

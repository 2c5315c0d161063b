"""`ctconfig validate`, `schema` and `init` through the installed command."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ruamel.yaml import YAML

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
    # exit 1 like every error (2 means "changes" to `plan --detailed-exitcode`), one line and the hint
    for args in (("init", "--migrate-state"), ("init", "--from", "old.yaml")):
        result = run_ctconfig(*args)
        assert result.returncode == 1
        assert result.stderr.splitlines()[1:] == ["Try 'ctconfig init --help' for help."], result.stderr


def test_quickstart_runs_from_a_copy(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    shutil.copy(REPO / "examples" / "quickstart" / "ctconfig.yaml", tmp_path / "ctconfig.yaml")
    assert run_ctconfig("validate").returncode == 0


def test_validate_checks_each_config_the_given_files_belong_to(
    run_ctconfig: RunCtconfig, tmp_path: Path
) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "ctconfig.yaml").write_text("version: 1\naccounts: {prod: {id: W9R-486-4W5Z}}\n")
    (tmp_path / "deploy" / "ctconfig").mkdir(parents=True)
    (tmp_path / "deploy" / "ctconfig" / "a.yaml").write_text(
        "version: 1\naccounts: {a: {id: W9R-486-4W5A}}\n"
    )
    (tmp_path / "deploy" / "ctconfig" / "b.yaml").write_text(
        "version: 1\naccounts: {b: {id: W9R-486-4W5A}}\n"
    )
    files = ["infra/ctconfig.yaml", "deploy/ctconfig/a.yaml", "deploy/ctconfig/b.yaml"]
    result = run_ctconfig("validate", *files)  # as the pre-commit hook runs it, from the repository root
    assert result.returncode == 1
    assert (
        result.stdout == "Config infra/ctconfig.yaml valid: 1 account, 0 account passcodes, 0 user grants.\n"
    )
    assert result.stderr.splitlines() == [  # the directory was checked whole, once
        "deploy/ctconfig/b.yaml:2:20: id: account id 'W9R-486-4W5A' is already used by account 'a' "
        "at deploy/ctconfig/a.yaml:2:20; expected each id once"
    ]


def test_the_pre_commit_hooks_reach_nested_configs(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    hooks = {hook["id"]: hook for hook in YAML(typ="safe").load(REPO / ".pre-commit-hooks.yaml")}
    for hook in hooks.values():
        files = re.compile(hook["files"])
        for path in ("ctconfig.yaml", "infra/ctconfig.yaml", "ctconfig/eu.yaml", "deploy/ctconfig/eu.yaml"):
            assert files.search(path), (hook["id"], path)
        for path in ("other.yaml", "ctconfig.yaml.bak", "ctconfig/nested/x.yaml", "notctconfig.yaml"):
            assert not files.search(path), (hook["id"], path)
        assert hook.get("pass_filenames", True), hook["id"]
    assert hooks["ctconfig-validate"]["require_serial"] is True
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "ctconfig.yaml").write_text("accounts: {}\nversion: 1\n")
    for hook in hooks.values():  # as pre-commit runs them: entry, args, then the matching files
        command = [*hook["entry"].split()[1:], *hook.get("args", []), "infra/ctconfig.yaml"]
        assert run_ctconfig(*command).returncode == 0, command
    assert (tmp_path / "infra" / "ctconfig.yaml").read_text() == "version: 1\naccounts: {}\n"  # fmt ran


def test_init_names_every_state_backend() -> None:
    from ctconfig.config.describe import variants_of
    from ctconfig.config.starter import STARTER

    backends = list(variants_of("state"))
    assert backends == ["local", "postgres", "s3", "http"]
    assert f"backend: local              # {' | '.join(backends)}" in STARTER
    readme = (REPO / "README.md").read_text()
    assert all(f"**{backend}**" in readme for backend in backends)  # "State and the audit trail"


def test_quickstart_plans_cleanly_after_its_first_apply(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    shutil.copy(REPO / "examples" / "quickstart" / "ctconfig.yaml", tmp_path / "ctconfig.yaml")
    first = run_ctconfig("plan")
    assert first.returncode == 0, first.stderr
    assert run_ctconfig("apply", "--auto-approve").returncode == 0
    again = run_ctconfig("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    for output in (first, again):
        assert "expiring soon" not in output.stdout + output.stderr
        assert "Warning" not in output.stdout + output.stderr


def test_validate_refuses_what_plan_would_refuse_before_reading(
    run_ctconfig: RunCtconfig, tmp_path: Path
) -> None:
    (tmp_path / "ctconfig.yaml").write_text(
        "version: 1\nprovider: {kind: clevertap}\naccounts:\n  prod: {id: W9R-486-4W5Z}\n"
    )
    for command in ("validate", "plan"):
        result = run_ctconfig(command)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "ctconfig.yaml:4:3: account 'prod' has no credentials: the clevertap provider needs "
            "credentials: {passcode_env: NAME} naming the variable that holds its admin passcode"
        ]


def test_the_readme_states_the_limits_the_code_enforces() -> None:
    from ctconfig.config import limits
    from ctconfig.config.types import MAX_ALIAS_LENGTH, MAX_EMAIL_LENGTH
    from ctconfig.domain import MAX_ACCOUNT_PASSCODES, MAX_NAME_LENGTH, MAX_VALIDITY_DAYS
    from ctconfig.durations import MAX_DAYS

    section = (REPO / "README.md").read_text().split("### Limits")[1].split("\n## ")[0]
    dash = "\u2013"  # the README writes ranges with an en dash
    for stated in (
        f"{limits.describe_bytes(limits.MAX_CONFIG_BYTES)} per config",
        f"`{limits.MAX_CONFIG_BYTES_ENV}` raises it",
        f"{limits.MAX_DEPTH} levels",
        f"at most {limits.MAX_ALIAS_VALUES:,} values",
        f"at most {limits.MAX_NUMBER_DIGITS} digits",
        f"to {MAX_DAYS:,}; `validity` 1{dash}{MAX_VALIDITY_DAYS}",
        f"passcode names 1{dash}{MAX_NAME_LENGTH} printable",
        f"aliases 1{dash}{MAX_ALIAS_LENGTH}",
        f"up to {MAX_EMAIL_LENGTH} characters",
        f"{MAX_ACCOUNT_PASSCODES} account passcodes per account",
    ):
        assert stated in section, stated

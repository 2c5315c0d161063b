"""Hostile and malformed configs: each is refused at once with one located line, exit 1.

Nesting (12.3), alias bombs (12.4), size (12.5), interpolated `*_env` names (12.10),
numbers no conversion can take (12.12) and two passcodes in one sink slot (12.1). A few
cases run the installed `ctconfig` (the crash, the endless `fmt`, the printed secret
happened there); the rest call the loader and the commands in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ctconfig.cli import cli
from ctconfig.config.errors import ConfigError
from ctconfig.config.limits import MAX_ALIAS_VALUES, MAX_CONFIG_BYTES, MAX_CONFIG_BYTES_ENV, MAX_DEPTH
from ctconfig.config.loader import load_config
from ctconfig.config.yamltree import parse_yaml
from tests.conftest import RunCtconfig

HOSTILE_TIMEOUT = 60  # seconds: these used to take minutes, or never end

# 522 bytes: nine levels of ten aliases each (10**9 values once expanded).
ALIAS_BOMB = "version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
)
VALID_HEAD = "version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n"


def problems_of(text: str, environ: dict[str, str] | None = None, tmp: Path | None = None) -> list[str]:
    path = (tmp or Path.cwd()) / "ctconfig.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {"CTCONFIG_ALLOWED_COMMANDS": "*"})
    return [f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems]


def assert_one_clean_line(stderr: str, expected: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr[-2000:]
    assert expected in lines[0]
    assert "Traceback" not in stderr and "internal error" not in stderr


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(MAX_CONFIG_BYTES_ENV, raising=False)


# -- 12.3 nesting ------------------------------------------------------------------------------


def test_100000_brackets_are_refused_by_the_installed_command(
    run_ctconfig: RunCtconfig, tmp_path: Path
) -> None:
    (tmp_path / "deep.yaml").write_text("accounts: " + "[" * 100_000 + "]" * 100_000 + "\n")
    for args in (["-c", "deep.yaml", "validate"], ["fmt", "--check", "deep.yaml"]):
        result = run_ctconfig(*args, timeout=HOSTILE_TIMEOUT)
        assert result.returncode == 1  # not -11 (the segfault) or an internal RecursionError
        assert_one_clean_line(result.stderr, f"deep.yaml:1:{10 + MAX_DEPTH}: nesting too deep: more than 64")


@pytest.mark.parametrize(
    "text",
    [
        "accounts: " + "{a: " * 100_000 + "}" * 100_000,  # flow mappings
        "- " * 100_000 + "x",  # block sequences on one line
        "? " * 100_000 + "x",  # complex keys
        "".join(" " * i + f"k{i}:\n" for i in range(200)) + " " * 200 + "x\n",  # indentation
    ],
    ids=["flow-mappings", "dashes", "complex-keys", "indentation"],
)
def test_every_kind_of_nesting_stops_at_the_limit(text: str) -> None:
    (problem,) = problems_of(text)
    assert f"nesting too deep: more than {MAX_DEPTH} levels" in problem


def test_the_limit_itself_is_allowed() -> None:
    at_limit = "version: 1\nx: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert parse_yaml(at_limit, "c.yaml", {}).refused is None
    over = "version: 1\nx: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    assert parse_yaml(over, "c.yaml", {}).refused is not None


def test_an_alias_cannot_carry_nesting_past_the_limit() -> None:
    half = MAX_DEPTH // 2 + 1
    text = "a: &deep " + "[" * half + "]" * half + "\nb: " + "[" * half + "*deep" + "]" * half + "\n"
    refused = parse_yaml(text, "c.yaml", {}).refused
    assert refused is not None and (refused.line, refused.column) == (2, 4 + half)
    assert "nesting too deep" in refused.message


# -- 12.4 alias bombs --------------------------------------------------------------------------


def test_the_alias_bomb_is_refused_by_validate_and_fmt(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    assert len(ALIAS_BOMB.encode()) < 600
    (tmp_path / "bomb.yaml").write_text(ALIAS_BOMB)
    for args in (["fmt", "--check", "bomb.yaml"], ["fmt", "bomb.yaml"], ["-c", "bomb.yaml", "validate"]):
        result = run_ctconfig(*args, timeout=HOSTILE_TIMEOUT)
        assert result.returncode == 1, args
        assert_one_clean_line(result.stderr, "bomb.yaml:6:")
        assert "aliases expand to more than 100,000 values" in result.stderr
    assert (tmp_path / "bomb.yaml").read_text() == ALIAS_BOMB  # fmt wrote nothing


def test_the_alias_budget_is_exact() -> None:
    anchor = "base: &b [" + ", ".join(["x"] * 999) + "]\n"  # a list and its 999 items: 1,000 values
    uses = MAX_ALIAS_VALUES // 1000
    within = anchor + "".join(f"u{i}: *b\n" for i in range(uses))
    assert parse_yaml(within, "c.yaml", {}).refused is None
    refused = parse_yaml(within + "one_more: *b\n", "c.yaml", {}).refused
    assert refused is not None and refused.line == uses + 2


def test_merge_keys_count_against_the_budget() -> None:
    anchor = "base: &b {" + ", ".join(f"k{i}: v" for i in range(999)) + "}\n"
    text = anchor + "".join(f"m{i}: {{<<: *b}}\n" for i in range(MAX_ALIAS_VALUES // 1000 + 1))
    assert parse_yaml(text, "c.yaml", {}).refused is not None


def test_aliases_share_their_anchor_and_point_at_it(tmp_path: Path) -> None:
    text = VALID_HEAD + (
        "    account_passcodes:\n      a: &std {expires_in: 90d, rotate_before: 14d}\n"
        "      b: *std\n      c: {<<: *std, rotate_before: 90d}\n"
    )
    parsed = parse_yaml(text, "c.yaml", {})
    passcodes = parsed.data["accounts"]["prod"]["account_passcodes"]
    assert passcodes["b"] is passcodes["a"]  # shared, not copied
    assert problems_of(text, tmp=tmp_path) == [
        "8:36: rotate_before: expected fewer days than expires_in (90d), got '90d'"
    ]
    where = parsed.sources.value_at(("accounts", "prod", "account_passcodes", "b", "expires_in"))
    assert (where.line, where.column) == (6, 28)  # the anchor's value, where the fix goes


# -- 12.5 size ---------------------------------------------------------------------------------


def test_an_oversize_file_is_refused_before_it_is_read(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_text("version: 1\n# " + "x" * MAX_CONFIG_BYTES + "\n")
    result = run_ctconfig("-c", "big.yaml", "validate", timeout=HOSTILE_TIMEOUT)
    assert result.returncode == 1
    assert_one_clean_line(result.stderr, "big.yaml:1:1: config file too large: more than 4 MiB")
    assert MAX_CONFIG_BYTES_ENV in result.stderr
    raised = run_ctconfig("-c", "big.yaml", "validate", env={MAX_CONFIG_BYTES_ENV: "8MiB"})
    assert raised.returncode == 0, raised.stderr


def test_a_directory_is_limited_in_total(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    for name in ("a.yaml", "b.yaml"):
        (folder / name).write_text("version: 1\n# " + "x" * (MAX_CONFIG_BYTES // 2) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(folder, environ={})
    assert str(caught.value).startswith(f"{folder / 'b.yaml'}:1:1: config directory's files too large")
    assert load_config(folder, environ={MAX_CONFIG_BYTES_ENV: str(2 * MAX_CONFIG_BYTES)}).config.version == 1


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_file_is_read_no_further_than_the_limit() -> None:
    with pytest.raises(ConfigError, match="too large: more than 1 KiB"):
        load_config(Path("/dev/zero"), environ={MAX_CONFIG_BYTES_ENV: "1KiB"})


@pytest.mark.parametrize("setting", ["lots", "0", "-5", "1e9", "8 parsecs"])
def test_a_bad_size_setting_is_one_clear_line(setting: str, tmp_path: Path) -> None:
    (tmp_path / "ctconfig.yaml").write_text("version: 1\n")
    result = CliRunner().invoke(cli, ["validate"], env={MAX_CONFIG_BYTES_ENV: setting})
    assert result.exit_code == 1
    assert f"${MAX_CONFIG_BYTES_ENV} must be a size such as 8388608 or 8MiB" in str(result.exception)


def test_fmt_refuses_an_oversize_file(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_text("version: 1\n# " + "x" * 2048 + "\n")
    result = CliRunner().invoke(cli, ["fmt", "--check", "big.yaml"], env={MAX_CONFIG_BYTES_ENV: "1KiB"})
    assert result.exit_code == 1
    assert "big.yaml:1:1: config file too large: more than 1 KiB (2,062 bytes)" in str(result.exception)


# -- 12.10 `*_env` keys name variables -----------------------------------------------------------


def test_an_interpolated_passcode_env_never_prints_the_secret(
    run_ctconfig: RunCtconfig, tmp_path: Path
) -> None:
    secret = "AMA-AUE-YWUL-s3cr3t"
    config = VALID_HEAD + '    credentials: {passcode_env: "${CT_OTHER_PASSCODE}"}\n'
    (tmp_path / "ctconfig.yaml").write_text(config)
    for command in ("validate", "plan"):
        result = run_ctconfig(command, env={"CT_OTHER_PASSCODE": secret})
        assert result.returncode == 1
        assert secret not in result.stdout + result.stderr
        expected = "ctconfig.yaml:5:33: passcode_env: expected the name of an environment"
        assert_one_clean_line(result.stderr, expected)
        assert "write its name alone" in result.stderr


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (VALID_HEAD + "    credentials: {passcode_env: '${X}'}\n", "5:33: passcode_env"),
        (VALID_HEAD + "    credentials: {passcode_env: 'CT_${X:-PROD}'}\n", "5:33: passcode_env"),
        ("version: 1\nstate: {backend: postgres, dsn_env: '${X}'}\n", "2:37: dsn_env"),
        (
            "version: 1\nstate: {backend: http, address: 'https://h.example', username_env: '${X}', "
            "password_env: '${Y}'}\n",
            "2:68: username_env",
        ),
    ],
)
def test_every_env_key_refuses_interpolation(text: str, where: str, tmp_path: Path) -> None:
    problems = problems_of(text, environ={"X": "value-of-x", "Y": "value-of-y"}, tmp=tmp_path)
    assert any(p.startswith(where) and "not a ${...} reference" in p for p in problems), problems
    assert not any("value-of" in p for p in problems)


# -- 12.12 numbers that no conversion can take ------------------------------------------------------


def test_a_50000_digit_number_is_a_located_error(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    (tmp_path / "ctconfig.yaml").write_text("version: 1\nsafety: {min_resources: 0x" + "f" * 50_000 + "}\n")
    result = run_ctconfig("validate", timeout=HOSTILE_TIMEOUT)
    assert result.returncode == 1
    assert_one_clean_line(
        result.stderr, "ctconfig.yaml:2:25: min_resources: expected a number of at most 18 digits"
    )


@pytest.mark.parametrize(
    "value",
    [
        "1" * 50_000,
        "-" + "9" * 30,
        "${CT_N:-" + "9" * 30 + "}",
        "1e999",
        "-.inf",
        ".nan",
        "true",
        "2024-02-30",
    ],
)
def test_odd_numbers_are_located_errors(value: str, tmp_path: Path) -> None:
    (problem,) = problems_of(f"version: 1\nsafety:\n  min_resources: {value}\n", tmp=tmp_path)
    assert problem.startswith("3:18: min_resources: ")
    assert len(problem) < 200  # the value is never echoed whole


def test_a_huge_key_is_not_echoed_whole(tmp_path: Path) -> None:
    problems = problems_of("version: 1\n" + "k" * 100_000 + ": 1\n", tmp=tmp_path)
    assert problems and all(len(p) < 300 for p in problems)


# -- 12.1 two passcodes, one sink slot --------------------------------------------------------------


@pytest.mark.parametrize(
    ("sink", "names"),
    [
        ("{sink: env-file}", ["braze-sync", "braze_sync", "'braze sync'", "braze.sync"]),
        ("{sink: command, command: store-secret}", ["braze-sync", "BRAZE_SYNC"]),
        ("{sink: file}", ["'a\\b'", "a_b"]),
    ],
)
def test_names_that_share_a_slot_are_refused_with_both_places(
    sink: str, names: list[str], tmp_path: Path
) -> None:
    body = "".join(f"      {name}: {{expires_in: 90d}}\n" for name in names)
    head = f"version: 1\nsecrets: {sink}\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n"
    text = head + f"    account_passcodes:\n{body}"
    problems = problems_of(text, tmp=tmp_path)
    assert len(problems) == len(names) - 1
    for line, problem in enumerate(problems, start=8):
        assert problem.startswith(f"{line}:7: account passcode ")
        assert "ctconfig.yaml:7:7; expected names that keep their secrets apart" in problem


def test_slots_collide_across_the_files_of_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        "version: 1\nsecrets: {sink: env-file}\naccounts:\n  prod-eu:\n    id: W9R-486-4W5Z\n"
        "    account_passcodes: {braze-sync: {expires_in: 90d}}\n"
    )
    (folder / "b.yaml").write_text(
        "version: 1\naccounts:\n  prod_eu:\n    id: W9R-486-4W5A\n    account_passcodes:\n"
        "      braze-sync: {expires_in: 90d}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(folder, environ={})
    assert str(caught.value) == (
        f"{folder / 'b.yaml'}:6:7: account passcode 'braze-sync' of account 'prod_eu' would share the "
        f"env-file sink's variable 'CT_PROD_EU_BRAZE_SYNC' with 'braze-sync' of account 'prod-eu' at "
        f"{folder / 'a.yaml'}:6:25; expected names that keep their secrets apart"
    )

"""Table-driven: each invalid config yields exactly the expected `file:line:col: message` lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctconfig.config.errors import ConfigError
from ctconfig.config.loader import load_config
from tests.config.catalogue import CATALOGUE

DIRECTORY_CATALOGUE: dict[str, tuple[dict[str, str], list[str]]] = {
    "duplicate_alias_names_both_places": (
        {
            "a.yaml": "version: 1\naccounts:\n  prod: {id: W9R-486-4W5Z}\n",
            "b.yaml": "version: 1\naccounts:\n  prod: {id: W9R-486-4W5A}\n",
        },
        [
            "cfg/b.yaml:3:3: account 'prod' is also defined at cfg/a.yaml:3:3; "
            "expected each account alias once"
        ],
    ),
    "section_in_two_files": (
        {
            "a.yaml": "version: 1\nstate: {path: one.json}\n",
            "b.yaml": "version: 1\n\nstate: {path: two.json}\n",
        },
        ["cfg/b.yaml:3:1: section 'state' is also defined at cfg/a.yaml:2:1; expected it in one file only"],
    ),
    "file_without_version": (
        {"a.yaml": "version: 1\n", "b.yaml": "accounts: {}\n"},
        [
            "cfg/b.yaml:1:1: missing required key 'version' at the top level "
            "(every file of a config directory starts with 'version: 1')"
        ],
    ),
    "file_with_wrong_version": (
        {"a.yaml": "version: 1\n", "b.yaml": "version: 3\n"},
        ["cfg/b.yaml:1:10: version: expected 1, got 3"],
    ),
    "problems_in_every_file_reported": (
        {
            "a.yaml": "version: 1\naccounts:\n  prod: {id: W9R-486-4W5Z, regoin: in1}\n",
            "b.yaml": "version: 1\naccounts: [\n",
            "c.yaml": "version: 1\naccounts:\n  dev: {id: W9R-486-4W5Z}\n",
        },
        [
            "cfg/a.yaml:3:28: unknown key 'regoin' in account 'prod'; did you mean 'region'?",
            "cfg/b.yaml:3:1: invalid YAML: expected the node content, but found '<stream end>'",
            "cfg/c.yaml:3:13: id: account id 'W9R-486-4W5Z' is already used by account 'prod' "
            "at cfg/a.yaml:3:14; expected each id once",
        ],
    ),
}


def test_catalogue_is_big_enough() -> None:
    assert len(CATALOGUE) + len(DIRECTORY_CATALOGUE) >= 30


CATALOGUE_ENV = {"CTCONFIG_ALLOWED_ENDPOINTS": "https://gitlab.example.com,https://ct.example.com"}
"""The catalogue's example hosts are allowed: its entries are about other mistakes (the operator's
allow-lists have their own tests in tests/untrusted)."""


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_invalid_config_reports_exact_lines(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, expected = CATALOGUE[name]
    monkeypatch.chdir(tmp_path)
    Path("ctconfig.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(Path("ctconfig.yaml"), environ=CATALOGUE_ENV)
    assert [str(problem) for problem in caught.value.problems] == expected
    assert str(caught.value) == "\n".join(expected)


@pytest.mark.parametrize("name", sorted(DIRECTORY_CATALOGUE))
def test_invalid_directory_reports_exact_lines(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, expected = DIRECTORY_CATALOGUE[name]
    monkeypatch.chdir(tmp_path)
    Path("cfg").mkdir()
    for file_name, text in files.items():
        (Path("cfg") / file_name).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(Path("cfg"), environ=CATALOGUE_ENV)
    assert [str(problem) for problem in caught.value.problems] == expected


def test_literal_secret_is_never_echoed(tmp_path: Path) -> None:
    config = tmp_path / "ctconfig.yaml"
    for body in (
        "    credentials: {passcode: s3cr3t-value}\n",
        "    credentials: s3cr3t-value\n",
        "    credentials: {passcode_env: 's3cr3t-value'}\n",
        "    credentials: {token: s3cr3t-value}\n",
    ):
        config.write_text(f"version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n{body}")
        with pytest.raises(ConfigError) as caught:
            load_config(config, environ={})
        assert "s3cr3t" not in str(caught.value)


def test_values_from_the_environment_are_shown_as_written(tmp_path: Path) -> None:
    config = tmp_path / "ctconfig.yaml"
    config.write_text("version: 1\naccounts:\n  prod:\n    id: ${CT_PROD_ID}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={"CT_PROD_ID": "not-an-id"})
    assert "not-an-id" not in str(caught.value)
    assert "got '${CT_PROD_ID}' (after interpolation)" in str(caught.value)

"""Templates, `x-` anchors and the other config additions of issue 22, through the loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctconfig.config.errors import ConfigError
from ctconfig.config.loader import load_config
from ctconfig.config.summary import summarize

TEAMS = """\
version: 1
x-quarterly: &quarterly {expires_in: 90d, rotate_before: 14d}
templates:
  team:
    account_passcodes:
      segment-export: *quarterly
      braze-sync: {expires_in: forever}
    user_passcodes:
      alice@example.com: {validity: 365d}
  ops:
    user_passcodes:
      bob@example.com: {validity: infinite, prevent_destroy: true}
accounts:
  team-00:
    id: W9R-486-4W5Z
    use: [team, ops]
    account_passcodes:
      braze-sync: {expires_in: 30d}
      own: {expires_in: 7d}
  team-01: {id: W9R-486-4W5A, use: team}
"""


def _load(tmp_path: Path, text: str, name: str = "ctconfig.yaml") -> object:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return load_config(Path(name), environ={})


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # problems name the file as it was given: ctconfig.yaml


def test_accounts_get_their_templates_entries_and_their_own_override_them(tmp_path: Path) -> None:
    config = _load(tmp_path, TEAMS).config  # type: ignore[attr-defined]
    first, second = config.accounts["team-00"], config.accounts["team-01"]
    assert sorted(first.account_passcodes) == ["braze-sync", "own", "segment-export"]
    assert first.account_passcodes["braze-sync"].expires_in == 30  # the account's own entry wins
    assert first.account_passcodes["segment-export"].rotate_before == 14  # through the x- anchor
    assert sorted(first.user_passcodes) == ["alice@example.com", "bob@example.com"]
    assert first.user_passcodes["bob@example.com"].prevent_destroy
    assert sorted(second.account_passcodes) == ["braze-sync", "segment-export"]
    assert second.account_passcodes["braze-sync"].expires_in is None
    assert summarize(config) == "2 accounts, 5 account passcodes, 3 user grants"


def test_x_keys_mean_nothing_to_the_config_or_its_digest(tmp_path: Path) -> None:
    plain = _load(tmp_path, "version: 1\naccounts: {}\n", "a.yaml")
    with_extension = _load(tmp_path, "version: 1\nx-notes: {owner: platform}\naccounts: {}\n", "b.yaml")
    assert plain.digest == with_extension.digest  # type: ignore[attr-defined]


def test_x_keys_in_several_files_of_a_directory_are_each_file_s_own(tmp_path: Path) -> None:
    folder = tmp_path / "ctconfig"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        "version: 1\nx-std: &std {expires_in: 90d}\ntemplates:\n  t:\n    account_passcodes:\n"
        "      seg: *std\naccounts:\n  a: {id: W9R-486-4W5Z, use: t}\n",
        encoding="utf-8",
    )
    (folder / "b.yaml").write_text(
        "version: 1\nx-std: &std {expires_in: 30d}\naccounts:\n  b:\n    id: W9R-486-4W5A\n    use: t\n"
        "    account_passcodes:\n      other: *std\n",
        encoding="utf-8",
    )
    config = load_config(folder, environ={}).config
    assert config.accounts["a"].account_passcodes["seg"].expires_in == 90
    assert config.accounts["b"].account_passcodes["seg"].expires_in == 90  # the template is shared
    assert config.accounts["b"].account_passcodes["other"].expires_in == 30


def test_a_slot_shared_through_a_template_names_the_template(tmp_path: Path) -> None:
    text = (
        "version: 1\nsecrets: {sink: env-file}\ntemplates:\n  t:\n    account_passcodes:\n"
        "      braze-sync: {expires_in: 90d}\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    use: t\n"
        "    account_passcodes:\n      braze.sync: {expires_in: 90d}\n"
    )
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    [problem] = caught.value.problems
    assert str(problem).startswith("ctconfig.yaml:12:7: account passcode 'braze.sync'")
    assert "with 'braze-sync' of account 'prod' at ctconfig.yaml:6:7" in str(problem)


def test_keys_inside_blocks_misspelled_at_several_levels_are_checked(tmp_path: Path) -> None:
    text = (
        "version: 1\nacounts:\n  prod:\n    id: W9R-486-4W5Z\n    user_pascodes:\n"
        "      a@example.com: {validity: 900d}\n"
    )
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert [str(p) for p in caught.value.problems] == [
        "ctconfig.yaml:2:1: unknown key 'acounts' at the top level; did you mean 'accounts'?",
        "ctconfig.yaml:5:5: unknown key 'user_pascodes' in account 'prod'; did you mean 'user_passcodes'?",
        "ctconfig.yaml:6:33: validity: expected 1 to 365 days, or 'infinite', got '900d'",
    ]

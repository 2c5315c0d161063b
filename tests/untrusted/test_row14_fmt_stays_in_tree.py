"""Issue 20, row 14: `ctconfig fmt` never writes (or reads) through a symbolic link out of the
config's directory, and rewrites a file atomically, keeping its mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.conftest import RunCtconfig

UNFORMATTED = "accounts: {}\nversion: 1\n"
FORMATTED = "version: 1\naccounts: {}\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the repository that a committed symlink points at."""
    target = tmp_path / "home" / ".profile.yaml"
    target.parent.mkdir()
    target.write_text(UNFORMATTED, encoding="utf-8")
    return target


def test_a_symlink_out_of_the_config_directory_is_refused(
    tmp_path: Path, run_ctconfig: RunCtconfig, outside: Path
) -> None:
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    (repo / "config" / "a.yaml").write_text(FORMATTED, encoding="utf-8")
    (repo / "config" / "b.yaml").symlink_to(outside)
    result = run_ctconfig("fmt", "config", cwd=repo)
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: refusing to format config/b.yaml: it is a symbolic link to {outside}, outside "
        f"{(repo / 'config').resolve()}; fmt changes nothing outside the config's directory\n"
    )
    assert outside.read_text() == UNFORMATTED


def test_a_symlinked_config_file_out_of_its_directory_is_refused(
    tmp_path: Path, run_ctconfig: RunCtconfig, outside: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "ctconfig.yaml").symlink_to(outside)
    result = run_ctconfig("fmt", cwd=repo)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: refusing to format ctconfig.yaml: it is a symbolic link to ")
    assert outside.read_text() == UNFORMATTED


def test_a_symlink_inside_the_directory_formats_its_target_atomically(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    config = tmp_path / "config"
    (config / "shared").mkdir(parents=True)
    target = config / "shared" / "accounts.yaml"
    target.write_text(UNFORMATTED, encoding="utf-8")
    target.chmod(0o640)
    (config / "accounts.yaml").symlink_to(Path("shared") / "accounts.yaml")
    inode = target.stat().st_ino
    result = run_ctconfig("fmt", "config")
    assert result.returncode == 0, result.stderr
    assert (config / "accounts.yaml").is_symlink()
    assert target.read_text() == FORMATTED
    assert target.stat().st_ino != inode  # a new file renamed into place, never written in place
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert not [p for p in os.listdir(target.parent) if p.endswith(".tmp")]

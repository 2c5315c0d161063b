"""Copies of `examples/…` as a fresh clone has them, whatever has been run in the checkout since.

The README's set-up runs in `examples/quickstart` and leaves state, history, a
sandbox and secrets there, and its walkthrough edits `ctconfig.yaml` in place.
A test that copied the folder would inherit all of that, so these helpers copy
what git tracks: the files in git's index, with their staged content (stage an
edit to an example to test it). Outside a git checkout (an unpacked sdist)
they copy the folder without the files ctconfig generates.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("ctconfig.state.json*", ".ctconfig", "*.plan", "*.journal", "*.lock", "__pycache__")


def tracked_files(folder: Path, root: Path = ROOT) -> dict[str, tuple[str, str]] | None:
    """`relative path -> (mode, blob id)` of every file git tracks under `folder`; None without git."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "--stage", "-z", "--", str(folder.relative_to(root))],
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return None
    files: dict[str, tuple[str, str]] = {}
    for entry in filter(None, listed.split("\0")):
        info, _, path = entry.partition("\t")
        mode, blob, _stage = info.split()
        files[str(Path(path).relative_to(folder.relative_to(root)))] = (mode, blob)
    return files or None


def copy_example(name: str, destination: Path, root: Path = ROOT) -> Path:
    """Copy `examples/<name>` to `destination` (created) as git tracks it; returns `destination`."""
    source = root / "examples" / name
    files = tracked_files(source, root)
    if files is None:
        shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*GENERATED))
        return destination
    for relative, (mode, blob) in files.items():
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        content = subprocess.run(
            ["git", "-C", str(root), "cat-file", "blob", blob], capture_output=True, check=True
        ).stdout
        target.write_bytes(content)
        target.chmod(0o755 if mode == "100755" else 0o644)
    return destination

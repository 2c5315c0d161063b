"""A snapshot of a directory tree (every path, its kind, mode and bytes), to prove a command wrote nothing."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

Snapshot = dict[str, tuple[str, int, str]]


def snapshot(root: Path) -> Snapshot:
    """Each path under `root` (links not followed): kind, permission bits and a digest of its bytes."""
    found: Snapshot = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            info = path.lstat()
            relative = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("link", 0, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("dir", stat.S_IMODE(info.st_mode), "")
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[relative] = ("file", stat.S_IMODE(info.st_mode), digest)
    return found


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs, in words (empty when nothing changed)."""
    words = [f"new: {p}" for p in sorted(set(after) - set(before))]
    words += [f"gone: {p}" for p in sorted(set(before) - set(after))]
    words += [f"changed: {p}" for p in sorted(set(before) & set(after)) if before[p] != after[p]]
    return words

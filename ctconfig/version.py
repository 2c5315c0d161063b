"""What `ctconfig --version` says: the package's version and the commit it was built from.

The version alone (0.1.0) says nothing about which of many commits is running.
The commit comes from the checkout an editable install runs from (`git describe`,
with `modified` when the checkout has uncommitted changes), or from what pip recorded when
it installed from a git repository (`direct_url.json`: the commit a tag or branch
pointed at). Only `--version` pays for finding it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from ctconfig import __version__

_SHA = re.compile(r"^[0-9a-f]{40}$")
_DESCRIBED = re.compile(r"^([0-9a-f]{12,40})(-dirty)?$")
GIT_TIMEOUT = 5.0


def describe_version() -> str:
    """`0.1.0 (commit 0123456789ab)`, `0.1.0 (commit 0123456789ab, modified)`, or `0.1.0`."""
    commit = _checkout_commit()
    if commit is not None:
        return f"{__version__} ({commit})"
    version, recorded = _installed()
    return f"{version} ({recorded})" if recorded else version


def _installed() -> tuple[str, str | None]:
    """The installed distribution's version, and the commit pip recorded for a git install."""
    from importlib import metadata  # ~70 ms: only when ctconfig does not run from a checkout

    try:
        dist = metadata.distribution("ctconfig")
    except metadata.PackageNotFoundError:
        return __version__, None
    commit = None
    try:
        data = json.loads(dist.read_text("direct_url.json") or "{}")
        found = data.get("vcs_info", {}).get("commit_id") if isinstance(data, dict) else None
        if isinstance(found, str) and _SHA.match(found):
            commit = f"commit {found[:12]}"
    except ValueError:
        pass
    return dist.version or __version__, commit


def _checkout_commit() -> str | None:
    """`commit 0123456789ab[, modified]` when ctconfig runs from a git checkout (None otherwise)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12", "--match=^"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = _DESCRIBED.match(done.stdout.strip())
    if done.returncode != 0 or found is None:
        return None
    return f"commit {found.group(1)}" + (", modified" if found.group(2) else "")

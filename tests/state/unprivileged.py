"""Run a Python snippet where file permissions apply, even when the tests run as root.

Root ignores a read-only directory because it holds CAP_DAC_OVERRIDE. A test of
"the state directory is not writable" therefore runs its snippet in a child
process whose capability bounding set lacks the capabilities that bypass file
permissions (dropped with prctl before exec), so the child is an ordinary owner
of its files. As a non-root user nothing needs dropping.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_LINUX_IMMUTABLE = 1, 2, 3, 9


@contextmanager
def owned_directory() -> Iterator[Path]:
    """A fresh directory for the snippet, removed afterwards (whatever mode it was left in)."""
    path = Path(tempfile.mkdtemp(prefix="ctconfig-perm-"))
    try:
        yield path
    finally:
        path.chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)


def _drop_permission_bypass() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_LINUX_IMMUTABLE):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_snippet(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -c script args…` with file permissions enforced, output captured."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
        preexec_fn=_drop_permission_bypass if os.geteuid() == 0 else None,
    )

"""Shared test set-up: hypothesis profiles and the installed `ctconfig` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def ctconfig_executable() -> list[str]:
    """The installed console script, next to the running interpreter when possible."""
    beside = Path(sys.executable).with_name("ctconfig")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ctconfig")
    if found:
        return [found]
    return [sys.executable, "-m", "ctconfig"]


RunCtconfig = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_ctconfig(tmp_path: Path) -> RunCtconfig:
    """Run the installed `ctconfig` in `tmp_path` (or `cwd=`), capturing text output."""

    def run(
        *args: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")}
        full_env["NO_COLOR"] = "1"
        if env:
            full_env.update(env)
        return subprocess.run(
            [*ctconfig_executable(), *args],
            cwd=cwd or tmp_path,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run

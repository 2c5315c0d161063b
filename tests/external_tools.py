"""Tools nobody here wrote, installed for the tests that run them against ctconfig's artefacts.

checkov and terraform-compliance pin many packages (some against each
other's and ctconfig's), so each gets a virtualenv of its own; CleverTap's
Node client and terraform-unidiff go into one npm prefix. All of them live
under `$CTCONFIG_TEST_TOOLS` (default `.cache/test-tools/` in the checkout,
which git ignores), are installed once (a file lock keeps pytest-xdist's
workers from installing the same tool twice) and are reused while their pinned
versions stay the same. `.ci/run` starts `python -m tests.external_tools` in
the background before the suite, so the installs overlap the rest of the set-up.

A tool that cannot be installed (no network, no Node.js) skips its tests with
the reason; with `CTCONFIG_TEST_TOOLS_REQUIRED=1` (CI sets it) a failed install
fails them instead, so CI never passes by skipping. Node.js missing always
skips: it is not something pip or npm can install.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).parents[1]
PYTHON_TOOLS = {
    "checkov": "checkov==3.3.30",
    "terraform-compliance": "terraform-compliance==1.16.0",
}
NODE_PACKAGES = ("clevertap@1.3.0", "@ahmadnassri/terraform-unidiff@4.0.5")
INSTALL_TIMEOUT = 900  # seconds; checkov brings some 200 MB of packages


class ToolMissing(Exception):
    """A tool that could not be installed, and why."""


class NodeMissing(ToolMissing):
    """Node.js is not on this machine: its tests skip even where tools are required."""


def cache_dir() -> Path:
    return Path(os.environ.get("CTCONFIG_TEST_TOOLS") or ROOT / ".cache" / "test-tools")


def required() -> bool:
    return os.environ.get("CTCONFIG_TEST_TOOLS_REQUIRED") == "1"


@contextmanager
def _locked(name: str) -> Iterator[Path]:
    """The tool's directory, held exclusively (other processes wait) while it is checked or built."""
    base = cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    with (base / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield base / name
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(command: list[str], what: str) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "npm_config_update_notifier": "false"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        raise ToolMissing(f"installing {what} took longer than {INSTALL_TIMEOUT} s") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise ToolMissing(f"installing {what} failed: {lines[-1] if lines else done.returncode}")


def python_tool(name: str) -> Path:
    """The console script `name` from its own virtualenv, installed at its pinned version."""
    spec = PYTHON_TOOLS[name]
    with _locked(name) as venv:
        marker = venv / ".installed"
        if not (marker.exists() and marker.read_text() == spec):
            shutil.rmtree(venv, ignore_errors=True)
            _run([sys.executable, "-m", "venv", str(venv)], name)
            _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", spec], spec)
            marker.write_text(spec)
    return venv / "bin" / name


def node_modules() -> Path:
    """`node_modules` holding CleverTap's Node client and terraform-unidiff."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise NodeMissing("Node.js and npm are not installed here; the Node tools need them")
    spec = " ".join(NODE_PACKAGES)
    with _locked("node") as prefix:
        marker = prefix / ".installed"
        if not (marker.exists() and marker.read_text() == spec):
            shutil.rmtree(prefix, ignore_errors=True)
            prefix.mkdir(parents=True)
            command = [
                npm,
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                "--no-package-lock",
            ]
            _run([*command, *NODE_PACKAGES], spec)
            marker.write_text(spec)
    return prefix / "node_modules"


def tool_or_skip(name: str) -> Path:
    """`python_tool(name)`, or the test skips (fails, where tools are required) with the reason."""
    try:
        return python_tool(name)
    except ToolMissing as missing:
        _skip_or_fail(missing)
        raise


def node_modules_or_skip() -> Path:
    """`node_modules()`, or the test skips (fails, where tools are required) with the reason."""
    try:
        return node_modules()
    except ToolMissing as missing:
        _skip_or_fail(missing)
        raise


def _skip_or_fail(missing: ToolMissing) -> None:
    import pytest  # here, so that `python -m tests.external_tools` runs before pytest is installed

    if required() and not isinstance(missing, NodeMissing):
        pytest.fail(str(missing))
    pytest.skip(str(missing))


def main() -> int:
    """Install every tool now (`.ci/run` does this in the background before the suite)."""
    failed = 0
    for name in PYTHON_TOOLS:
        try:
            python_tool(name)
        except ToolMissing as missing:
            print(missing, file=sys.stderr)
            failed += 1
    try:
        node_modules()
    except NodeMissing as missing:
        print(missing, file=sys.stderr)
    except ToolMissing as missing:
        print(missing, file=sys.stderr)
        failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

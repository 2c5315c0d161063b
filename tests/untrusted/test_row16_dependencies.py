"""Issue 20, row 16 (the dependency half): CI installs exactly the hashed pins of
.ci/constraints.txt, pyproject.toml keeps ranges, and pip-audit's verdict is read honestly.

`.ci/audit` is run against a stand-in `pip_audit` module (the layer below it) that writes the
report pip-audit would, or fails as it does when its database cannot be reached.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
CI = ROOT / ".ci"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^ \\]+) \\$")


def pins() -> dict[str, tuple[str, int]]:
    """{name: (version, number of hashes)} of the constraints file."""
    found: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (CI / "constraints.txt").read_text().splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match[1])
            found[name] = (match[2], 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
    return found


def requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        listed += extra
    listed += PYPROJECT["build-system"]["requires"]
    return [Requirement(text) for text in listed]


def test_every_dependency_is_pinned_with_hashes_inside_its_range() -> None:
    pinned = pins()
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in .ci/constraints.txt: run .ci/lock"
        version, hashes = pinned[name]
        assert hashes >= 1, name
        assert requirement.specifier.contains(version, prereleases=True), (name, version, requirement)
    assert all(hashes >= 1 for _, hashes in pinned.values())
    assert "pip-audit" in pinned


def test_runtime_dependencies_are_ranges_not_open_ended() -> None:
    project = PYPROJECT["project"]
    runtime = [*project["dependencies"], *project["optional-dependencies"]["postgres"]]
    runtime += project["optional-dependencies"]["s3"] + project["optional-dependencies"]["aws"]
    for requirement in map(Requirement, runtime):
        operators = {spec.operator for spec in requirement.specifier}
        assert ">=" in operators and "<" in operators, requirement


def test_ci_installs_only_the_hashed_pins_then_audits_them() -> None:
    run = (CI / "run").read_text()
    install = run.index("python -m pip install -q --require-hashes --no-deps -r .ci/constraints.txt")
    assert install < run.index("offline=(env PIP_NO_INDEX=1 PIP_NO_BUILD_ISOLATION=0)")
    assert run.index("python .ci/audit") < run.index("\"${offline[@]}\" python -m pip install -e '.[test]'")
    assert "--upgrade pip" not in run
    assert os.access(CI / "lock", os.X_OK) and "--generate-hashes" in (CI / "lock").read_text()


STAND_IN = """
import json, sys
args = sys.argv[1:]
report = args[args.index("--output") + 1]
outcome = {outcome!r}
if outcome == "unreachable":
    sys.stderr.write("ConnectionError: Failed to resolve the service\\n")
    sys.exit(1)
dependencies = {{
    "clean": [{{"name": "httpx", "version": "0.29.0", "vulns": []}}],
    "unknown": [{{"name": "httpx", "skip_reason": "Dependency not found and could not be audited"}}],
    "vulnerable": [
        {{"name": "httpx", "version": "0.29.0", "vulns": []}},
        {{"name": "h11", "version": "0.14.0", "vulns": [{{"id": "GHSA-1", "fix_versions": ["0.16.0"]}}]}},
    ],
}}[outcome]
with open(report, "w") as handle:
    json.dump({{"dependencies": dependencies, "fixes": []}}, handle)
sys.exit(1 if outcome == "vulnerable" else 0)
"""


@pytest.mark.parametrize(
    ("outcome", "code", "line"),
    [
        ("clean", 0, "pip-audit: no known vulnerabilities in 1 pinned packages"),
        ("unknown", 0, "pip-audit: skipped, its vulnerability database could not be reached (none of the 1 "
                       "pinned packages could be looked up)"),
        ("unreachable", 0, "pip-audit: skipped, its vulnerability database could not be reached "
                           "(ConnectionError: Failed to resolve the service)"),
        ("vulnerable", 1, "pip-audit: h11 0.14.0: GHSA-1 (fixed in 0.16.0)"),
    ],
)  # fmt: skip
def test_the_audit_fails_on_a_vulnerability_and_says_when_it_could_not_look(
    tmp_path: Path, outcome: str, code: int, line: str
) -> None:
    stand_in = tmp_path / "pip_audit"
    stand_in.mkdir()
    (stand_in / "__init__.py").write_text("")
    (stand_in / "__main__.py").write_text(textwrap.dedent(STAND_IN.format(outcome=outcome)))
    done = subprocess.run(
        [sys.executable, str(CI / "audit")],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == line

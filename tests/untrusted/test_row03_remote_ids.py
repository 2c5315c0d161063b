"""Issue 20, row 3: two records pointing at one remote id are refused; `prevent_destroy` holds by remote id.

Before, a journal intent whose address and name disagreed put `segment-export`'s passcode under
another address, and the next `apply --auto-approve` deleted it despite its `prevent_destroy`.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunCtconfig
from tests.examples import copy_example

PROTECTED = "demo/account_passcode/segment-export"


def applied_quickstart(tmp_path: Path, run_ctconfig: RunCtconfig) -> Path:
    folder = copy_example("quickstart", tmp_path / "quickstart")
    assert run_ctconfig("apply", "--auto-approve", cwd=folder).returncode == 0
    return folder


def edit_state(folder: Path, change: object) -> None:
    path = folder / "ctconfig.state.json"
    data = json.loads(path.read_text())
    change(data["resources"])  # type: ignore[operator]
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def test_two_records_of_one_passcode_are_refused(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    folder = applied_quickstart(tmp_path, run_ctconfig)

    def copy(resources: dict[str, dict[str, object]]) -> None:
        resources["demo/account_passcode/junk"] = dict(resources[PROTECTED], name="junk")

    edit_state(folder, copy)
    refused = run_ctconfig("plan", cwd=folder)
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("Error: ctconfig.state.json: resources.demo/account_passcode/junk and ")
    assert line.endswith("one remote passcode is managed under one address")


def test_a_protected_passcode_is_not_deleted_under_another_address(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    folder = applied_quickstart(tmp_path, run_ctconfig)

    def move(resources: dict[str, dict[str, object]]) -> None:
        record = resources.pop(PROTECTED)
        resources["demo/account_passcode/junk"] = dict(record, prevent_destroy=False)

    edit_state(folder, move)  # segment-export's passcode, recorded under an undeclared address
    for command in (("plan", "--detailed-exitcode"), ("apply", "--auto-approve")):
        result = run_ctconfig(*command, cwd=folder)
        assert result.returncode == 1, result.stdout + result.stderr
        assert (
            f"which {PROTECTED} protects with prevent_destroy; nothing protected is deleted under another "
            "address"
        ) in result.stdout
    listed = run_ctconfig("sandbox", "show", cwd=folder)
    assert "segment-export" in listed.stdout  # still there

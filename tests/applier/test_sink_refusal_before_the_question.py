"""A sink that refuses is said before `apply` asks for `yes`: the person answers knowing no passcode
will be created (before, the refusal came only after the answer)."""

from __future__ import annotations

from pathlib import Path

import pexpect
import pytest

from tests.conftest import ctconfig_executable
from tests.examples import copy_example
from tests.operator_env import clean_env


@pytest.mark.process
def test_the_refusal_comes_before_the_question(tmp_path: Path) -> None:
    folder = copy_example("quickstart", tmp_path / "quickstart")
    config = folder / "ctconfig.yaml"
    sink = "  sink: file" + " " * 22 + "# one file per new passcode, mode 0600\n  path: .ctconfig/secrets"
    text = config.read_text()
    assert sink in text
    config.write_text(text.replace(sink, "  sink: command\n  command: [no-such-secret-store, put]"))
    [command, *args] = [*ctconfig_executable(), "apply"]
    child = pexpect.spawn(
        command, args, cwd=str(folder), env={**clean_env(), "NO_COLOR": "1"}, encoding="utf-8", timeout=60
    )
    try:
        child.expect("cannot take secrets: the secret command 'no-such-secret-store' was not found")
        child.expect("This apply starts none of the 3 passcode create\\(s\\); the other changes go ahead.")
        child.expect("Only 'yes' will be accepted")
        child.sendline("no")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 1
    assert not (folder / "ctconfig.state.json").exists()

"""`ctconfig apply` with the dashboard provider, as a person lives it: at a real (pseudo-)terminal,
performing each step with the `ctconfig sandbox` dashboard commands and pasting the keys they show;
and, without a terminal, the one-line refusal."""

from __future__ import annotations

import io

import pexpect
import pytest

from ctconfig.planfile import save_plan
from ctconfig.secrets import fingerprint
from ctconfig.service.planning import PlanRequest, make_plan
from tests.conftest import ctconfig_executable
from tests.dashboard.support import CliHands, DashboardWorkspace, Robot
from tests.dashboard.test_guided import ALICE, demo
from tests.operator_env import clean_env

REFUSAL = (
    "Error: apply with the dashboard provider is a guided session at a terminal, and stdin is not one "
    "(--auto-approve does not change that): write the steps with `ctconfig plan -o PLANFILE --format "
    "runbook`, then run `ctconfig apply PLANFILE` at a terminal\n"
)


def test_without_a_terminal_apply_refuses_in_one_line_even_when_approved(dash: DashboardWorkspace) -> None:
    dash.write_config(demo(dash, {"a": {"expires_in": "30d"}}))
    save_plan(make_plan(dash.workspace(), PlanRequest()).plan, dash.root / "plan.bin")
    for args in (("apply", "--auto-approve"), ("apply", "plan.bin")):
        refused = dash.ct(*args, expect=1)
        assert refused.stderr == REFUSAL and refused.stdout == ""
    assert not dash.state_path.exists()


class Terminal:
    """One `ctconfig` command at a pseudo-terminal; everything it shows is kept."""

    def __init__(self, dash: DashboardWorkspace, *args: str) -> None:
        self.shown = io.StringIO()
        env = clean_env()
        env.update(NO_COLOR="1", TERM="dumb")
        command, *first = ctconfig_executable()
        self.child = pexpect.spawn(
            command, [*first, *args], cwd=str(dash.root), env=env, encoding="utf-8", timeout=60
        )
        self.child.logfile_read = self.shown
        dash.outputs.append("")
        self._dash = dash

    def wait_for(self, text: str) -> str:
        """Wait until `text` is shown; returns what was shown before it."""
        self.child.expect_exact(text)
        return str(self.child.before)

    def type(self, line: str) -> None:
        self.child.sendline(line)

    def ended(self) -> int:
        self.child.expect(pexpect.EOF)
        self.child.close()
        self._dash.outputs[-1] = self.shown.getvalue()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)


@pytest.mark.slow
def test_a_guided_session_refuses_wrong_keys_skips_stops_and_resumes(
    dash: DashboardWorkspace, account_ids: tuple[str, str]
) -> None:
    dash.write_config(
        demo(
            dash,
            {"a": {"expires_in": "30d"}, "b": {"expires_in": "forever"}, "c": {"expires_in": "90d"}},
            {ALICE: {"validity": "30d"}},
        )
    )
    hands = CliHands(dash.server.db, dash.root)
    robot = Robot(hands)
    foreign = hands.create(account_ids[1], "theirs", 30)  # a live key of another account
    runbook = dash.ct("plan", "-o", "plan.bin", "--format", "runbook").stdout
    assert "1. [ ] **Create account passcode `a`**" in runbook

    # First session: a key refused three ways, then accepted; b skipped; stopped (q) after making c.
    term = Terminal(dash, "apply", "plan.bin")
    robot.perform(term.wait_for("Paste the API Key of a (hidden"))
    mistyped = robot.keys["a"][:-1] + ("A" if robot.keys["a"][-1] != "A" else "B")
    not_accepted = f"Refused: CleverTap's credential check does not accept it for account {dash.account_id}"
    for wrong, refusal in (
        (mistyped, not_accepted),  # one letter off
        (foreign, not_accepted),  # another account's key
        ("not a key", "Refused: a CleverTap passcode is upper-case letter groups"),
    ):
        term.type(wrong)
        term.wait_for(refusal)
        term.wait_for("Paste the API Key of a again")
    term.type(robot.keys["a"])
    term.wait_for("Accepted: the API Key of a authenticates")
    term.wait_for("Paste the API Key of b (hidden")  # not done in the dashboard: skipped
    term.type("s")
    term.wait_for("Did you already create b in the dashboard? (y/N): ")
    term.type("n")
    term.wait_for("demo/account_passcode/b: skipped by the operator; left for the next plan")
    robot.perform(term.wait_for("Paste the API Key of c (hidden"))
    term.type("q")
    term.wait_for("Did you already create c in the dashboard? (y/N): ")
    term.type("y")
    assert term.ended() == 130
    assert set(dash.state()["resources"]) == {"demo/account_passcode/a"}
    assert [i.name for i in dash.workspace().journal().read().open_intents()] == ["c"]

    # Second session: asked for c's key first (it was made); b done; Ctrl-C at alice's grant.
    term = Terminal(dash, "apply")
    term.wait_for("If you created c, paste its API Key")
    term.type(robot.keys["c"])
    term.wait_for("Only 'yes' will be accepted")
    term.type("yes")
    robot.perform(term.wait_for("Paste the API Key of b (hidden"))
    term.type(robot.keys["b"])
    term.wait_for(f"Granted {ALICE} a user passcode - Enter when done")
    term.child.sendcontrol("c")
    term.wait_for("the operator stopped the session; left for the next apply")
    term.wait_for("State saved to")
    assert term.ended() == 130
    assert f"demo/user_passcode/{ALICE}" not in dash.state()["resources"]

    # Third session resumes with what is left.
    term = Terminal(dash, "apply")
    term.wait_for("Only 'yes' will be accepted")
    term.type("yes")
    robot.perform(term.wait_for(f"Granted {ALICE} a user passcode - Enter when done"))
    term.type("")
    term.wait_for("Apply complete: 1 granted.")
    assert term.ended() == 0

    dash.ct("plan", "--detailed-exitcode")
    resources = dash.state()["resources"]
    for name in "abc":
        assert resources[f"demo/account_passcode/{name}"]["secret_fingerprint"] == fingerprint(
            robot.keys[name]
        )
    assert dash.dashboard().user(ALICE).grant is not None
    dash.assert_no_secret_leaked({*robot.keys.values(), foreign, mistyped})

"""A platform team's month with ctconfig, as one script: real git (an origin, two teammates' clones and
the CI runner's), PostgreSQL state, the HTTP provider against the sandbox server, and each step's
command with the exit code and the line it must give.

What the workflows in examples/gitops do, done by hand: a pull request is a pushed branch that CI
plans (`plan --format markdown -o plan.bin`, the digest read from the comment); a merge is a merge
commit pushed to main ("Merge pull request #N …", as GitHub writes it), which CI applies with
`apply --plan-digest` under GitHub Actions' variables; the nightly job is `ctconfig check`; a
time-driven change is planned by the nightly job and applied with that digest (a dispatch).

The month:
  day 1   alice sets the account up (PR #1); CI applies it; the nightly check is quiet.
  day 3   bob (PR #2: looker, nightly-report 45d) and alice (PR #3: nightly-report 60d) both plan;
          #2 merges and applies; #3 merges after it and its reviewed digest is refused, saying what
          the plan would do now; re-planned and applied.
  day 10  someone deletes braze-sync and makes zapier in the dashboard. The nightly check fails
          with one line each; the plan of what is due restores braze-sync through a dispatch; an
          apply --refresh-only records the hand changes.
  day 80  segment-export's rotate_before comes due: the nightly check says `due`, the due plan is
          dispatched, the rotation is recorded as a rotation.
  then    the auditor's three questions, one command each: who made looker, when, from which
          commit; what existed at serial N (and what was unmanaged then); when braze-sync was
          deleted, and what changed after.

  day 85  bob stops managing nightly-report (`removed:`): the plan forgets it, the account keeps it.
  day 86  a key leaked: alice rotates segment-export now by changing its `rotate:` token in a PR.
  day 87  the alias `prod` becomes `production` (`previously:` on the account): every address and
          secret moves, nothing is deleted or created, and `verify` is clean.
  day 90  a clean-up PR removing most passcodes fails its plan (a mass delete, exit 1) until the
          approval the plan prints is written in the PR itself; then it plans and applies.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ctconfig.sandbox.store import SandboxStore
from tests.conftest import RunCtconfig
from tests.gitops.conftest import ACCOUNT_ID, SandboxServer

DIGEST = re.compile(r"^Plan digest: `?(sha256:[0-9a-f]{64})`?$", re.MULTILINE)
SEG, BRAZE, NIGHTLY, LOOKER, ZAPIER = (
    f"prod/account_passcode/{name}"
    for name in ("segment-export", "braze-sync", "nightly-report", "looker", "zapier")
)
CONFIG = """\
version: 1
state: {{backend: postgres, dsn_env: CT_STATE_DSN, name: {state}}}
provider: {{kind: clevertap, base_url: "{url}"}}
secrets: {{sink: file, path: .ctconfig/secrets}}
defaults: {{unmanaged: warn}}
accounts:
  prod:
    id: {account}
    credentials: {{passcode_env: CT_PROD_PASSCODE}}
    account_passcodes:
      segment-export: {{expires_in: 90d, rotate_before: 14d}}
      braze-sync: {{expires_in: forever}}
      nightly-report: {{expires_in: 30d}}
    user_passcodes:
      alice@example.com: {{validity: 365d}}
"""


@dataclass
class Team:
    """The origin, the clones, the shared state and the accounts; every step's output is kept."""

    root: Path
    run: RunCtconfig
    env: dict[str, str]
    db: Path
    outputs: list[str] = field(default_factory=list)
    pull_requests: int = 0

    def git(self, who: str, *args: str) -> str:
        done = subprocess.run(
            ["git", "-c", f"user.name={who}", "-c", f"user.email={who}@example.com", *args],
            cwd=self.root / who,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def step(
        self, who: str, *args: str, code: int = 0, line: str = "", env: dict[str, str] | None = None
    ) -> str:
        """`ctconfig ARGS` in `who`'s clone: it must exit `code` and show `line` in a line of its output."""
        done = self.run(*args, cwd=self.root / who, env={**self.env, **(env or {})})
        shown = done.stdout + done.stderr
        self.outputs.append(shown)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == code, f"ctconfig {' '.join(args)}: exit {done.returncode}\n{shown}"
        wanted = " ".join(line.split())  # columns are aligned with runs of spaces
        found = any(wanted in " ".join(each.split()) for each in shown.splitlines())
        assert found, f"ctconfig {' '.join(args)}: no {line!r} in\n{shown}"
        return shown

    def edit(self, who: str, old: str, new: str) -> None:
        config = self.root / who / "ctconfig.yaml"
        text = config.read_text()
        assert old in text, old
        config.write_text(text.replace(old, new, 1))

    def open_pull_request(self, who: str, branch: str, title: str) -> int:
        """Commit `who`'s edit on a branch and push it: CI plans it (the comment's digest is returned)."""
        self.git(who, "checkout", "-q", "-b", branch)
        self.git(who, "commit", "-q", "-am", title)
        self.git(who, "push", "-q", "origin", branch)
        self.pull_requests += 1
        return self.pull_requests

    def ci_plan(self, ref: str, number: int) -> str:
        """The pull-request job: the branch's plan as the comment, the whole plan kept; the digest."""
        self.git("ci", "fetch", "-q", "origin")
        self.git("ci", "checkout", "-q", "--detach", f"origin/{ref}")
        pr_env = self.github(f"refs/pull/{number}/merge")
        self.step("ci", "validate", line="Config valid")
        comment = self.step(
            "ci", "plan", "--format", "markdown", "-o", "plan.bin", env=pr_env, line="### ctconfig plan"
        )
        [digest] = DIGEST.findall(comment)
        return digest

    def merge(self, who: str, branch: str, number: int, *, theirs: bool = False) -> None:
        """`who` merges the pull request on the forge: a merge commit on main, as GitHub writes it."""
        self.git(who, "fetch", "-q", "origin")
        self.git(who, "checkout", "-q", "main")
        self.git(who, "reset", "-q", "--hard", "origin/main")
        strategy = ["-X", "theirs"] if theirs else []
        message = f"Merge pull request #{number} from team/{branch}"
        self.git(who, "merge", "-q", "--no-ff", *strategy, "-m", message, f"origin/{branch}")
        self.git(who, "push", "-q", "origin", "main")

    def ci_on_main(self) -> dict[str, str]:
        """The runner checks main out; the push event's variables, as GitHub Actions sets them."""
        self.git("ci", "fetch", "-q", "origin")
        self.git("ci", "checkout", "-q", "--detach", "origin/main")
        message = self.git("ci", "log", "-1", "--format=%B")
        event = self.root / "event.json"
        event.write_text(json.dumps({"head_commit": {"message": message}}))
        return {**self.github("refs/heads/main"), "GITHUB_EVENT_PATH": str(event)}

    def github(self, ref: str) -> dict[str, str]:
        self.run_id = getattr(self, "run_id", 100) + 1
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTOR": "ci-bot",
            "GITHUB_SHA": self.git("ci", "rev-parse", "HEAD"),
            "GITHUB_REF": ref,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "team/passcodes",
            "GITHUB_RUN_ID": str(self.run_id),
        }

    def nightly_due_plan(self, line: str) -> str:
        """The nightly job's plan of what is due (exit 2: changes); its digest, for the issue."""
        due = self.step("ci", "plan", "--detailed-exitcode", "-o", "due.plan", code=2, line=line)
        [digest] = re.findall(r"^Plan digest: (sha256:[0-9a-f]{64})$", due, re.MULTILINE)
        return digest

    def dispatch(self, digest: str, line: str, *note: str) -> None:
        """Someone runs the workflow on main with the reviewed digest (the environment approves)."""
        env = self.github("refs/heads/main")
        self.step("ci", "apply", "--auto-approve", "--plan-digest", digest, *note, env=env, line=line)

    def dashboard(self, *args: str) -> None:
        """What a person does in CleverTap's dashboard (the sandbox's simulation of it)."""
        self.step("ci", "sandbox", "--db", str(self.db), *args)


@pytest.fixture
def team(tmp_path: Path, run_ctconfig: RunCtconfig, sandbox_server: SandboxServer, pg_dsn: str) -> Team:
    with SandboxStore(sandbox_server.db) as store:
        store.ensure_account(ACCOUNT_ID, ["alice@example.com", "bob@example.com"])
        admin = store.issue_admin_passcode(ACCOUNT_ID)
    env = {"CT_PROD_PASSCODE": admin, "CT_STATE_DSN": pg_dsn}
    team = Team(tmp_path, run_ctconfig, env, sandbox_server.db)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(tmp_path / "origin.git")], check=True)
    for who in ("alice", "bob", "ci"):
        subprocess.run(["git", "clone", "-q", str(tmp_path / "origin.git"), str(tmp_path / who)], check=True)
    (tmp_path / "alice" / ".gitignore").write_text(".ctconfig/\n*.plan\nplan.bin\n")
    team.git("alice", "add", ".gitignore")
    team.git("alice", "commit", "-q", "-m", "An empty start")
    team.git("alice", "push", "-q", "origin", "HEAD:main")
    config = CONFIG.format(state=f"month-{uuid.uuid4().hex[:8]}", url=sandbox_server.url, account=ACCOUNT_ID)
    (tmp_path / "alice" / "ctconfig.yaml").write_text(config)
    team.git("alice", "add", "ctconfig.yaml")
    return team


@pytest.mark.slow
def test_a_month_in_the_pull_request(team: Team) -> None:
    # -- day 1: alice's set-up (PR #1) --------------------------------------------------------
    first = team.open_pull_request("alice", "setup", "prod: the first passcodes")
    digest = team.ci_plan("setup", first)
    team.merge("alice", "setup", first)
    push = team.ci_on_main()
    team.step(
        "ci",
        "apply",
        "--auto-approve",
        "--plan-digest",
        digest,
        "--audit-note",
        "reviewed in pull request #1",
        env=push,
        line="Apply complete: 3 created, 1 granted.",
    )
    team.step("ci", "check", line="All is well: 1 account(s), 4 managed resource(s), state serial 1.")
    audit = json.loads(team.step("ci", "state", "history", "--format", "json", line="commit"))[-1]["audit"]
    assert audit["commit"] == push["GITHUB_SHA"]
    assert audit["change"] == "https://github.com/team/passcodes/pull/1"
    assert audit["run_url"].startswith("https://github.com/team/passcodes/actions/runs/")
    assert audit["note"] == "reviewed in pull request #1" and audit["who"] == "ci-bot"

    # -- day 3: two pull requests touch nightly-report ----------------------------------------
    team.dashboard("clock", "advance", "2d")
    team.git("bob", "pull", "-q")
    team.edit("bob", "nightly-report: {expires_in: 30d}", "nightly-report: {expires_in: 45d}")
    team.edit("bob", "    account_passcodes:\n", "    account_passcodes:\n      looker: {expires_in: 180d}\n")
    looker_pr = team.open_pull_request("bob", "looker", "looker, and nightly-report for 45 days")
    looker_digest = team.ci_plan("looker", looker_pr)
    team.git("alice", "checkout", "-q", "main")
    team.git("alice", "pull", "-q")
    team.edit("alice", "nightly-report: {expires_in: 30d}", "nightly-report: {expires_in: 60d}")
    sixty_pr = team.open_pull_request("alice", "sixty", "nightly-report for 60 days")
    sixty_digest = team.ci_plan("sixty", sixty_pr)

    team.merge("bob", "looker", looker_pr)
    team.step(
        "ci",
        "apply",
        "--auto-approve",
        "--plan-digest",
        looker_digest,
        env=team.ci_on_main(),
        line="Apply complete: 1 created, 1 updated.",
    )
    team.merge("alice", "sixty", sixty_pr, theirs=True)
    refused = team.step(
        "ci",
        "apply",
        "--auto-approve",
        "--plan-digest",
        sixty_digest,
        env=team.ci_on_main(),
        code=1,
        line="Error: the plan changed since it was reviewed",
    )
    assert f'now it would ~ {NIGHTLY} (update: expires_in: "45d" -> "60d")' in refused
    assert "state is at serial 2, written by ci-bot" in refused
    again = team.step("ci", "plan", "--format", "markdown", line="**Plan: 0 to create, 1 to update,")
    [sixty_again] = DIGEST.findall(again)
    team.step(
        "ci",
        "apply",
        "--auto-approve",
        "--plan-digest",
        sixty_again,
        env=team.ci_on_main(),
        line="Apply complete: 1 updated.",
    )

    # -- day 10: hands in the dashboard; the nightly check says so, one line each ---------------
    team.dashboard("clock", "advance", "7d")
    team.dashboard("passcode", "delete", ACCOUNT_ID, "braze-sync")
    team.dashboard("passcode", "add", ACCOUNT_ID, "zapier", "--expires-in", "forever")
    nightly = team.step("ci", "check", code=1, line=f"drift {BRAZE} deleted outside ctconfig")
    assert f"unmanaged {ZAPIER} not in the config" in " ".join(nightly.split())
    issue = team.step("ci", "check", "--format", "markdown", code=1, line="<!-- ctconfig-check -->")
    assert "| drift |" in issue and "| unmanaged |" in issue
    due_digest = team.nightly_due_plan(f"+ {BRAZE} will be created")
    team.step("ci", "apply", "--refresh-only", "--auto-approve", line="State updated to match the accounts")
    refreshed = json.loads(team.step("ci", "state", "history", "--format", "json", line="refresh"))[-1][
        "audit"
    ]
    assert {o["address"]: o["change"] for o in refreshed["observed"]} == {
        BRAZE: "deleted outside ctconfig",
        ZAPIER: "created outside ctconfig (not in the config)",
    }
    # the digest covers what would be done, not the serial: the reviewed plan still applies
    team.dispatch(due_digest, "Apply complete: 1 created.")
    team.step("ci", "check", code=1, line=f"unmanaged {ZAPIER}")  # zapier stays someone's to decide

    # -- day 80: segment-export's rotate_before comes due ------------------------------------
    team.dashboard("clock", "advance", "70d")
    nightly = team.step("ci", "check", code=1, line=f"due {SEG} an apply would replace it: expires in ")
    assert "rotate_before is 14d" in nightly
    due_digest = team.nightly_due_plan(f"+/- {SEG} will be rotated")
    team.dispatch(
        due_digest, "Apply complete: 1 rotated.", "--audit-note", "run by alice with a reviewed digest"
    )
    after = team.step("ci", "state", "history", "--format", "json", line="rotate")
    rotation = json.loads(after)[-1]
    serial = rotation["serial"]
    diff = team.step(
        "ci", "state", "diff", str(serial - 1), str(serial), line=f"+/- {SEG} (rotated: a new passcode"
    )
    assert "(added)" not in diff.split("\n\n")[1]

    # -- the auditor's three questions, one command each -------------------------------------
    who_made_looker = team.step("ci", "state", "history", LOOKER, line='created: name "looker"')
    row = next(r for r in who_made_looker.splitlines() if "created" in r).split()
    assert row[0] == "2" and row[2] == "ci-bot" and len(row[3]) == 12  # serial, when, who, commit
    assert "[change https://github.com/team/passcodes/pull/2]" in who_made_looker
    then = team.step("ci", "state", "list", "--serial", "4", line="State at serial 4, written ")
    assert BRAZE not in then and LOOKER in then and ZAPIER in then.split("not managed by ctconfig")[1]
    braze = json.loads(
        team.step("ci", "state", "history", BRAZE, "--format", "json", line="changed outside ctconfig")
    )
    assert [e["event"] for e in braze] == ["created", "changed outside ctconfig", "created"]
    assert braze[1]["operation"] == "refresh" and "first seen" in braze[1]["detail"]

    # -- day 85: stop managing nightly-report without deleting it (`removed:`) -------------------
    team.git("bob", "checkout", "-q", "main")
    team.git("bob", "pull", "-q")
    team.edit("bob", "      nightly-report: {expires_in: 60d}\n", "")
    team.edit("bob", "accounts:\n", f"removed: [{NIGHTLY}]\naccounts:\n")
    forget_pr = team.open_pull_request("bob", "forget-nightly", "nightly-report is the data team's now")
    forget_digest = team.ci_plan("forget-nightly", forget_pr)
    team.merge("bob", "forget-nightly", forget_pr)
    team.step(
        "ci", "apply", "--auto-approve", "--plan-digest", forget_digest, env=team.ci_on_main(),
        line="Apply complete:",
    )  # fmt: skip
    listed = team.step("ci", "state", "list", line=SEG)
    assert NIGHTLY not in listed
    team.step("ci", "sandbox", "--db", str(team.db), "show", line="nightly-report")  # still in the account

    # -- day 86: a leaked key, rotated now by a reviewed token ----------------------------------
    team.git("alice", "checkout", "-q", "main")
    team.git("alice", "pull", "-q")
    team.edit("alice", "segment-export: {expires_in: 90d, rotate_before: 14d}",
              "segment-export: {expires_in: 90d, rotate_before: 14d, rotate: SEC-42}")  # fmt: skip
    leak_pr = team.open_pull_request("alice", "rotate-seg", "SEC-42: rotate segment-export now")
    team.git("ci", "fetch", "-q", "origin")
    team.git("ci", "checkout", "-q", "--detach", "origin/rotate-seg")
    team.step("ci", "plan", line=f"+/- {SEG} will be rotated")
    leak_digest = team.ci_plan("rotate-seg", leak_pr)
    team.merge("alice", "rotate-seg", leak_pr)
    team.step(
        "ci", "apply", "--auto-approve", "--plan-digest", leak_digest, env=team.ci_on_main(),
        line="Apply complete: 1 rotated.",
    )  # fmt: skip
    team.step("ci", "state", "history", SEG, line="rotated")

    # -- day 87: the alias `prod` becomes `production` ------------------------------------------
    team.git("bob", "checkout", "-q", "main")
    team.git("bob", "pull", "-q")
    team.edit("bob", "  prod:\n", "  production:\n    previously: prod\n")
    alias_pr = team.open_pull_request("bob", "rename-alias", "prod is production")
    team.git("ci", "fetch", "-q", "origin")
    team.git("ci", "checkout", "-q", "--detach", "origin/rename-alias")
    moved = team.step(
        "ci", "plan", line=f"> production/account_passcode/segment-export has moved from {SEG}"
    )
    assert "will be created" not in moved and "will be deleted" not in moved
    alias_digest = team.ci_plan("rename-alias", alias_pr)
    team.merge("bob", "rename-alias", alias_pr)
    team.step(
        "ci", "apply", "--auto-approve", "--plan-digest", alias_digest, env=team.ci_on_main(),
        line="Apply complete:",
    )  # fmt: skip
    team.step("ci", "verify", line="production/account_passcode/segment-export")
    team.step("ci", "plan", "--detailed-exitcode", line="No changes.")

    # -- day 90: a clean-up PR is a mass delete, approved in the PR itself --------------------------
    team.git("alice", "checkout", "-q", "main")
    team.git("alice", "pull", "-q")
    for line in ("      braze-sync: {expires_in: forever}\n", "      looker: {expires_in: 180d}\n"):
        team.edit("alice", line, "")
    team.edit("alice", "      segment-export: {expires_in: 90d, rotate_before: 14d, rotate: SEC-42}\n",
              "      tableau: {expires_in: 90d}\n")  # fmt: skip
    team.edit("alice", "    user_passcodes:\n      alice@example.com: {validity: 365d}\n", "")
    cleanup_pr = team.open_pull_request("alice", "cleanup", "Segment, Braze and Looker are gone")
    team.git("ci", "fetch", "-q", "origin")
    team.git("ci", "checkout", "-q", "--detach", "origin/cleanup")
    approve = "to approve exactly these deletes, add to the config"
    refused = team.step("ci", "plan", "--detailed-exitcode", code=1, line=approve)
    gone = [
        f"production/{kind}/{name}"
        for kind, name in (
            ("account_passcode", "braze-sync"),
            ("account_passcode", "looker"),
            ("account_passcode", "segment-export"),
            ("user_passcode", "alice@example.com"),
        )
    ]
    assert all(f"- {address}" in refused for address in gone)
    approval = "".join(f"    - {address}\n" for address in gone)
    team.edit("alice", "accounts:\n", f"safety:\n  approve_deletes:\n{approval}accounts:\n")
    team.git("alice", "commit", "-q", "-am", "Approve exactly these deletes")
    team.git("alice", "push", "-q", "origin", "cleanup")
    cleanup_digest = team.ci_plan("cleanup", cleanup_pr)
    team.merge("alice", "cleanup", cleanup_pr)
    team.step(
        "ci", "apply", "--auto-approve", "--plan-digest", cleanup_digest, env=team.ci_on_main(),
        line="Apply complete: 1 created, 3 deleted, 1 revoked.",
    )  # fmt: skip

    secrets = [
        p.read_text()
        for p in (team.root / "ci" / ".ctconfig" / "secrets").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    ]
    assert secrets and not any(secret in output for secret in secrets for output in team.outputs)

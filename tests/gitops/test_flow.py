"""The GitOps review flow end to end, in a temporary git repository, through the installed command.

main is applied; a pull request (branch A) is validated and planned as CI would
(the digest taken from the markdown comment); A merges; `apply --plan-digest`
applies exactly the reviewed change, and `state diff` shows that change and
nothing else. A branch planned before A merged, whose change A's merge altered,
is refused at apply with a request to re-plan, as is a plan file saved before.
State is in PostgreSQL (the suite's own: tests/conftest.py `pg_dsn`).
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.gitops.conftest import ACCOUNT_ID, Workspace

PG_DSN_ENV = "CT_STATE_DSN"  # the variable the config names for the shared state
MARKER = "<!-- ctconfig-plan -->"
DIGEST_LINE = re.compile(r"^Plan digest: `(sha256:[0-9a-f]{64})`$", re.MULTILINE)
SEGMENT = "demo/account_passcode/segment-export"
LOOKER = "demo/account_passcode/looker"
TABLEAU = "demo/account_passcode/tableau"
COMMENT_LIMIT = 60_000
ZENDESK = {"zendesk": "forever"}  # keeps the branches' edits apart in the file, as in real configs


def _shared_sections(ws: Workspace, shared: Path, pg_dsn: str | None = None) -> dict[str, Any]:
    """Everything outside git: state (a shared backend), the accounts, the secret store."""
    if pg_dsn:
        ws.env[PG_DSN_ENV] = pg_dsn
        state: dict[str, Any] = {
            "backend": "postgres",
            "dsn_env": PG_DSN_ENV,
            "name": f"gitops-{uuid.uuid4().hex[:12]}",
        }
    else:
        state = {"backend": "local", "path": str(shared / "state.json")}
    return {
        "state": state,
        "provider": {"kind": "sandbox", "path": str(shared / "sandbox.db")},
        "secrets": {"sink": "file", "path": str(shared / "secrets")},
    }


def _passcodes(**expiries: str) -> dict[str, Any]:
    return {
        "demo": {"id": ACCOUNT_ID, "account_passcodes": {n: {"expires_in": e} for n, e in expiries.items()}}
    }


def ci_plan(ws: Workspace) -> str:
    """What the pull-request job does: validate, plan as markdown, read the digest from the comment."""
    ws.ct("validate")
    comment = ws.ct("plan", "--format", "markdown").stdout
    assert comment.startswith(MARKER)
    assert len(comment) < COMMENT_LIMIT
    found = DIGEST_LINE.findall(comment)
    assert len(found) == 1, comment
    return found[0]


def serial(ws: Workspace) -> int:
    history = ws.ct("state", "history").stdout.splitlines()
    return int(history[-1].split()[0])


def commit_config(ws: Workspace, sections: dict[str, Any], message: str, **expiries: str) -> None:
    ws.write_config(_passcodes(**expiries), **sections)
    ws.git("add", "ctconfig.yaml")
    ws.git("commit", "-q", "-m", message)


@pytest.mark.slow
@pytest.mark.process  # the installed command end to end
def test_reviewed_plan_is_applied_and_stale_reviews_are_refused(
    ws: Workspace, tmp_path: Path, pg_dsn: str
) -> None:
    shared = tmp_path / "shared"
    sections = _shared_sections(ws, shared, pg_dsn)
    ws.git("init", "-q", "-b", "main")
    commit_config(
        ws, sections, "prod passcodes", **{"braze-sync": "forever", "segment-export": "90d", **ZENDESK}
    )
    ws.ct("apply", "--auto-approve")
    applied = serial(ws)

    # Pull request A: add looker, extend segment-export. Branches B and C start from the same main.
    ws.git("checkout", "-q", "-b", "a")
    commit_config(
        ws, sections, "A", **{"braze-sync": "forever", "segment-export": "120d", **ZENDESK, "looker": "30d"}
    )
    digest_a = ci_plan(ws)

    ws.git("checkout", "-q", "-b", "b", "main")
    commit_config(ws, sections, "B", **{"braze-sync": "forever", "segment-export": "60d", **ZENDESK})
    digest_b = ci_plan(ws)
    ws.ct("plan", "-o", str(tmp_path / "b.plan"))

    ws.git("checkout", "-q", "-b", "c", "main")
    commit_config(
        ws, sections, "C", **{"tableau": "7d", "braze-sync": "forever", "segment-export": "90d", **ZENDESK}
    )
    digest_c = ci_plan(ws)

    # A merges; the push to main applies exactly what was reviewed.
    ws.git("checkout", "-q", "main")
    ws.git("merge", "-q", "--no-ff", "-m", "Merge A", "a")
    ws.ct("apply", "--auto-approve", "--plan-digest", digest_a)
    after_a = serial(ws)
    assert after_a == applied + 1

    diff = json.loads(ws.ct("state", "diff", str(applied), str(after_a), "--format", "json").stdout)
    assert diff["summary"] == {"added": 1, "changed": 1, "renamed": 0, "rotated": 0, "removed": 0}
    changes = {c["address"]: c for c in diff["changes"]}
    assert set(changes) == {LOOKER, SEGMENT}
    assert changes[LOOKER]["change"] == "added"
    assert changes[LOOKER]["after"]["expires_in"] == "30d"
    changed = {a["path"]: (a["before"], a["after"]) for a in changes[SEGMENT]["attributes"]}
    assert changed["expires_in"] == ("90d", "120d")
    assert set(changed) == {"expires_in", "expires_at"}  # the date follows the term
    assert diff["after"]["written"]["audit"]["plan_digest"] == digest_a

    # B merges after A, its conflict resolved to B's expiry: the change is now 120d -> 60d, not the
    # reviewed 90d -> 60d. Its digest and its saved plan are refused; nothing is changed.
    ws.git("merge", "-q", "--no-ff", "-X", "theirs", "-m", "Merge B", "b")
    refused = ws.ct("apply", "--auto-approve", "--plan-digest", digest_b, expect=1)
    assert "the plan changed since it was reviewed" in refused.stderr
    assert "Re-run `ctconfig plan`" in refused.stderr
    stale = ws.ct("apply", str(tmp_path / "b.plan"), expect=1)
    assert "stale" in stale.stderr.lower() or "serial" in stale.stderr.lower(), stale.stderr
    assert "ctconfig plan" in stale.stderr
    assert serial(ws) == after_a

    # Re-planned and reviewed again, B applies.
    digest_b2 = ci_plan(ws)
    assert digest_b2 != digest_b
    ws.ct("apply", "--auto-approve", "--plan-digest", digest_b2)
    diff = json.loads(ws.ct("state", "diff", str(after_a), str(serial(ws)), "--format", "json").stdout)
    assert [c["address"] for c in diff["changes"]] == [SEGMENT]

    # C's change never overlapped: its digest (what would be done) still holds after A and B.
    ws.git("merge", "-q", "--no-ff", "-m", "Merge C", "c")
    ws.ct("apply", "--auto-approve", "--plan-digest", digest_c)
    assert "tableau" in ws.ct("state", "list").stdout
    ws.assert_no_secret_printed(list(ws.secret_files(str(shared / "secrets")).values()))


def test_big_plan_comment_stays_under_the_limit(ws: Workspace, tmp_path: Path) -> None:
    ids = ["W9R-486-4W5Z", "8R5-4K6-5Z7Z", "TEST-R78-ZZK-955Z"]
    config = {
        f"team-{n}": {
            "id": account_id,
            "account_passcodes": {f"integration-{i:03d}": {"expires_in": f"{30 + i}d"} for i in range(100)},
            "user_passcodes": {f"user{i}@example.com": {"validity": "90d"} for i in range(20)},
        }
        for n, account_id in enumerate(ids)
    }
    ws.write_config(config, **_shared_sections(ws, tmp_path / "shared"))
    comment = ws.ct("plan", "--format", "markdown").stdout
    assert comment.startswith(MARKER)
    assert len(comment) < COMMENT_LIMIT
    assert len(DIGEST_LINE.findall(comment)) == 1
    assert "300 to create" in comment and "60 to grant" in comment

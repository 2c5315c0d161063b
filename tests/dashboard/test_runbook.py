"""`--format runbook`: every kind of action as dashboard steps, compared with a golden file, and
the same checklist from `plan` and from `show PLANFILE` (with or without the config at hand)."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from ctconfig.domain import Address
from ctconfig.plan import Plan
from ctconfig.planner import PlanOptions, make_plan
from ctconfig.render.runbook import RunbookAccount, render_runbook
from ctconfig.state.document import AccountPasscodeRecord, Origin, SettingsRecord, State, UserPasscodeRecord
from tests.dashboard.support import DashboardWorkspace
from tests.planner.helpers import NOW, config, grant, passcode, snapshot

GOLDEN = Path(__file__).parent / "golden" / "runbook.md"
PROD_ID, STAGE_ID = "W9R-486-4W5Z", "TEST-R78-ZZK-955Z"
ODD = "odd `name` *x*"


def every_kind_of_action() -> Plan:
    """A plan with a create (days, forever), rename, expiry edit, rotation (with overlap, and of a tainted
    passcode: deleted at once), delete, grant (finite, infinite), reset, revoke and grant again, revoke,
    the passcode mode — and a second account, so numbering runs on across accounts."""
    cfg = config(
        {
            "prod": {
                "id": PROD_ID,
                "region": "in1",
                "passcode_mode": "user",
                "account_passcodes": {
                    "new-export": {"expires_in": "90d"},
                    "braze-sync": {"expires_in": "forever"},
                    "segment-export": {"expires_in": "30d", "previously": "segment-old"},
                    "short-lived": {"expires_in": "60d"},
                    "rotate-me": {"expires_in": "30d", "rotate_before": "10d"},
                    "tainted-one": {"expires_in": "90d"},
                    ODD: {"expires_in": "7d"},
                },
                "user_passcodes": {
                    "alice@example.com": {"validity": "30d"},
                    "bob@example.com": {"validity": "infinite"},
                    "carol@example.com": {"validity": "30d", "reset_before": "10d"},
                    "erin@example.com": {"validity": "90d"},
                },
            },
            "stage": {"id": STAGE_ID, "account_passcodes": {"ci": {"expires_in": "14d"}}},
        }
    )
    observed = [
        passcode("p1", "segment-old", 30),
        passcode("p2", "short-lived", 90),
        passcode("p3", "rotate-me", 30, age_days=25),
        passcode("p4", "tainted-one", 90),
        passcode("p5", "gone", 90),
    ]
    grants = {
        "carol@example.com": grant("carol@example.com", 30, age_days=25),
        "erin@example.com": grant("erin@example.com", 30),
        "dave@example.com": grant("dave@example.com", 30),
    }
    resources: dict[Address, object] = {}
    for p in observed:
        record = AccountPasscodeRecord.observed(
            PROD_ID, p, origin=Origin.CREATED, fingerprint="sha256:000000000000"
        )
        resources[Address.account_passcode("prod", p.name)] = (
            replace(record, secret_fingerprint=None, tainted="secret sink failed") if p.id == "p4" else record
        )
    for email, g in grants.items():
        resources[Address.user_passcode("prod", email)] = UserPasscodeRecord.observed(
            PROD_ID, g, origin=Origin.CREATED
        )
    resources[Address.settings("prod")] = SettingsRecord(PROD_ID, "account")
    state = State(lineage="11111111-1111-1111-1111-111111111111", serial=3).with_resources(resources)  # type: ignore[arg-type]
    users = {e: grants.get(e) for e in ["alice@example.com", "bob@example.com", *grants]}
    seen = {"prod": snapshot(observed, users), "stage": replace(snapshot(), account_id=STAGE_ID)}
    return make_plan(cfg, state, seen, PlanOptions(NOW)).plan


ACCOUNTS = {"prod": RunbookAccount(PROD_ID, "in1"), "stage": RunbookAccount(STAGE_ID, "eu1")}


def test_every_action_in_the_dashboards_words_matches_the_golden_file() -> None:
    plan = every_kind_of_action()
    kinds = {(a.kind.value, type(a).__name__) for a in plan.actions}
    assert len(kinds) == 9 and len(plan.actions) == 15, sorted(kinds)
    text = render_runbook(plan, ACCOUNTS)
    if os.environ.get("CTCONFIG_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    numbered = [line.split(". [ ]")[0] for line in text.splitlines() if ". [ ] **" in line]
    assert numbered == [str(n) for n in range(1, len(plan.actions) + 1)]  # one tickable step per action


def test_names_from_configs_cannot_break_the_markdown() -> None:
    text = render_runbook(every_kind_of_action(), ACCOUNTS)
    assert "**Create account passcode ``odd `name` *x*``**" in text
    assert "Passcode Name: ``odd `name` *x*``" in text


def test_without_the_config_a_saved_plan_names_accounts_by_what_state_recorded() -> None:
    text = render_runbook(every_kind_of_action())
    assert f"## Account `prod` (`{PROD_ID}`)\n\n1. [ ]" in text  # no region known: no dashboard URL
    assert "## Account `stage`\n" in text and "dashboard.clevertap.com" not in text


def test_plan_and_show_write_the_same_runbook(dash: DashboardWorkspace, tmp_path: Path) -> None:
    dash.write_config(
        {"demo": {"id": dash.account_id, "region": "sg1", "account_passcodes": {"a": {"expires_in": "30d"}}}}
    )
    planned = dash.ct("plan", "-o", "plan.bin", "--format", "runbook").stdout
    assert planned.startswith("<!-- ctconfig-runbook -->\n# ctconfig runbook\n")
    assert f"Dashboard: <https://sg1.dashboard.clevertap.com/{dash.account_id}/>" in planned
    assert "1. [ ] **Create account passcode `a`** (`demo/account_passcode/a`)" in planned
    assert dash.ct("show", "plan.bin", "--format", "runbook").stdout == planned
    elsewhere = tmp_path / "elsewhere"  # no config here: the plan file alone
    elsewhere.mkdir()
    alone = dash.ct("show", str(dash.root / "plan.bin"), "--format", "runbook", cwd=elsewhere).stdout
    assert "1. [ ] **Create account passcode `a`** (`demo/account_passcode/a`)" in alone
    assert "## Account `demo`\n" in alone and "Dashboard:" not in alone


def test_expected_dates_follow_the_plan_clock() -> None:
    plan = every_kind_of_action()
    text = render_runbook(plan, ACCOUNTS)
    retire = (NOW + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")  # rotate-me expires in 5 days
    assert f"keeps working until `{retire}`; a later apply deletes it" in text


def test_as_commonmark_each_action_is_one_numbered_item_with_its_steps_nested() -> None:
    from markdown_it import MarkdownIt

    plan = every_kind_of_action()
    tokens = MarkdownIt("commonmark").parse(render_runbook(plan, ACCOUNTS))
    items = [t for t in tokens if t.type == "list_item_open" and t.level in (0, 1) and t.info]
    assert [int(t.info) for t in items] == list(range(1, len(plan.actions) + 1))
    nested = [t for t in tokens if t.type == "bullet_list_open" and t.level > 1]
    assert len(nested) == len(plan.actions)  # every step's clicks, expectations and checks inside it

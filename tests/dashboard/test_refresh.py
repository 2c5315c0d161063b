"""Refresh with the dashboard provider: what state knows, checked with CleverTap's credential check
against `ctconfig sandbox serve` over a real socket (3 in flight per account at most, 429s retried)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctconfig.render.plan_json import render_json
from ctconfig.render.plan_markdown import render_markdown
from ctconfig.secrets import fingerprint
from ctconfig.service.planning import PlanRequest, make_plan
from ctconfig.verify import verify
from tests.dashboard.support import DashboardWorkspace, Robot, ScriptedOperator, Server, StoreHands, serve
from tests.dashboard.test_guided import demo


def made(dash: DashboardWorkspace, names: list[str]) -> dict[str, str]:
    """Passcodes created through a guided apply; their keys."""
    dash.write_config(demo(dash, {n: {"expires_in": "90d"} for n in names}))
    operator = ScriptedOperator(Robot(StoreHands(dash.server.db)))
    report, _ = dash.apply(operator)
    assert report.result is not None and report.result.ok
    return operator.robot.keys


def test_deleted_outside_is_drift_and_unreadable_secrets_are_unchecked(dash: DashboardWorkspace) -> None:
    keys = made(dash, ["deleted", "unreadable", "swapped", "fine"])
    dash.ct("sandbox", "--db", str(dash.server.db), "passcode", "delete", dash.account_id, "deleted")
    (dash.secrets_dir / "demo" / "unreadable").unlink()
    shutil.copy(
        dash.secrets_dir / "demo" / "fine", dash.secrets_dir / "demo" / "swapped"
    )  # a live key, not its own
    text = dash.ct("plan", "--detailed-exitcode", expect=2).stdout
    drift = text.split("Changed outside ctconfig:")[1].split("ctconfig will perform")[0]
    assert drift.strip() == (
        "! demo/account_passcode/deleted: deleted, expired or revoked outside ctconfig "
        "(the credential check answered 401: Invalid credentials or URL)"
    )
    assert "+ demo/account_passcode/deleted will be created" in text
    warnings = text.split("Warnings:")[1]
    assert (
        "demo/account_passcode/unreadable: unchecked: the secret sink cannot give its secret back" in warnings
    )
    assert (
        "demo/account_passcode/swapped: unchecked: "
        "the secret sink holds another secret than the one ctconfig delivered" in warnings
    )
    assert "demo/account_passcode/fine" not in text
    plan = make_plan(dash.workspace(), PlanRequest()).plan
    as_json = json.loads(render_json(plan))
    assert [d["address"] for d in as_json["drift"]] == ["demo/account_passcode/deleted"]
    assert (
        "deleted, expired or revoked outside ctconfig"
        in render_markdown(plan).split("#### Changed outside ctconfig")[1]
    )
    dash.outputs += [render_json(plan), render_markdown(plan)]
    ws = dash.workspace()
    checks = {c.address: (c.status, c.where) for c in verify(ws.config, ws.read_state()[0], ws.sink())}
    assert checks["demo/account_passcode/fine"] == ("valid", f"{dash.server.url}/v1/connect?partner=ctconfig")
    assert checks["demo/account_passcode/deleted"][0] == "rejected"  # `ctconfig verify` asks the same check
    dash.assert_no_secret_leaked(set(keys.values()))


def test_a_sink_that_cannot_read_back_leaves_every_passcode_unchecked(dash: DashboardWorkspace) -> None:
    made(dash, ["one", "two"])
    config = demo(dash, {n: {"expires_in": "90d"} for n in ("one", "two")})
    dash.write_config(config, secrets={"sink": "command", "command": ["cat"]})
    plan = make_plan(dash.workspace(), PlanRequest()).plan
    assert plan.actions == () and plan.drift == ()
    assert sorted(w.subject for w in plan.warnings if w.message.startswith("unchecked:")) == [
        "demo/account_passcode/one",
        "demo/account_passcode/two",
    ]


@pytest.fixture
def busy_server(tmp_path: Path) -> Iterator[Server]:
    """A slow server that throttles a third of all requests and would accept 10 in flight."""
    options = (
        "--latency",
        "0.05",
        "--max-inflight",
        "10",
        "--throttle-rate",
        "0.3",
        "--retry-after",
        "0",
        "--seed",
        "3",
    )
    yield from serve(tmp_path / "busy" / "sandbox.db", *options)


@pytest.mark.slow
def test_checks_keep_three_in_flight_per_account_and_ride_out_429(
    tmp_path: Path, busy_server: Server
) -> None:
    root = tmp_path / "work"
    root.mkdir()
    dash = DashboardWorkspace(root, busy_server, "TEST-B01-ZZK-955Z")
    keys = made(dash, [f"p{n}" for n in range(8)])
    before = busy_server.stats()
    plan = make_plan(dash.workspace(), PlanRequest()).plan
    after = busy_server.stats()
    assert plan.drift == () and plan.actions == () and not plan.warnings
    assert after["requests"] - before["requests"] >= 8
    assert after["faults"]["throttle"] > before["faults"]["throttle"]  # 429s were answered, and retried
    assert 2 <= after["peak_inflight"] <= 3 and after["inflight_rejections"] == 0
    for name, key in keys.items():
        assert dash.state()["resources"][f"demo/account_passcode/{name}"][
            "secret_fingerprint"
        ] == fingerprint(key)


def test_the_credential_check_goes_to_the_regions_api_host_unless_base_url_says_otherwise() -> None:
    from ctconfig.config.spec import DashboardProviderConfig
    from ctconfig.domain import AccountTarget
    from ctconfig.providers.dashboard import DashboardProvider

    def url(region: str, base_url: str | None = None) -> str:
        config = DashboardProviderConfig(kind="dashboard", base_url=base_url)
        return DashboardProvider(config).credential_check_url(AccountTarget("a", "W9R-486-4W5Z", region))

    assert url("eu1") == "https://api.clevertap.com/v1/connect?partner=ctconfig"
    assert url("in1") == "https://in1.api.clevertap.com/v1/connect?partner=ctconfig"
    assert url("in1", "http://127.0.0.1:8400/") == "http://127.0.0.1:8400/v1/connect?partner=ctconfig"


def test_sandbox_passcode_add_shows_the_new_key_once_only_when_asked(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ctconfig.cli import cli
    from ctconfig.domain import passcode_shape_problem
    from ctconfig.sandbox.store import SandboxStore

    db = str(tmp_path / "sandbox.db")
    runner = CliRunner()
    base = ["sandbox", "--db", db, "passcode", "add", "TEST-R78-ZZK-955Z"]
    shown = runner.invoke(cli, [*base, "k", "--expires-in", "30d", "--show-key"])
    assert shown.exit_code == 0, shown.output
    key = shown.stdout.strip()
    assert shown.stdout == key + "\n" and passcode_shape_problem(key) is None
    assert "Its API Key is shown once, on stdout." in shown.stderr
    with SandboxStore(tmp_path / "sandbox.db") as store:
        found = store.authenticate("TEST-R78-ZZK-955Z", key)
    assert found is not None and found.name == "k"
    quiet = runner.invoke(cli, [*base, "q", "--expires-in", "forever"])
    assert quiet.exit_code == 0 and "discarded" in quiet.stdout and key not in quiet.stdout

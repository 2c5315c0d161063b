"""`ctconfig verify` through the installed command: sandbox store and a real `sandbox serve`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitops.conftest import ACCOUNT_ID, SandboxServer, Workspace
from tests.http.conftest import ServerFactory, serve_sandboxes

ACCOUNTS = {
    "demo": {
        "id": ACCOUNT_ID,
        "account_passcodes": {
            "segment-export": {"expires_in": "90d"},
            "nightly-report": {"expires_in": "30d"},
            "braze-sync": {"expires_in": "forever"},
        },
    }
}
SEGMENT = "demo/account_passcode/segment-export"
NIGHTLY = "demo/account_passcode/nightly-report"
BRAZE = "demo/account_passcode/braze-sync"


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """`sandbox serve` with fault knobs, as tests/http starts it; stopped even when a test fails."""
    yield from serve_sandboxes(tmp_path)


def statuses(stdout: str) -> dict[str, str]:
    """`address  status  where (detail)` lines → {address: status}."""
    found = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and "/account_passcode/" in parts[0]:
            found[parts[0]] = parts[1]
    return found


def test_sandbox_valid_then_expired_then_rejected(ws: Workspace) -> None:
    ws.write_config(ACCOUNTS)
    ws.ct("apply", "--auto-approve")
    secrets = list(ws.secret_files().values())

    done = ws.ct("verify")
    assert statuses(done.stdout) == {BRAZE: "valid", NIGHTLY: "valid", SEGMENT: "valid"}
    assert "sandbox .ctconfig/sandbox.db" in done.stdout
    assert "3 passcode(s): 3 valid" in done.stdout

    ws.ct("sandbox", "clock", "advance", "40d")
    done = ws.ct("verify", expect=1)
    assert statuses(done.stdout) == {BRAZE: "valid", NIGHTLY: "expired", SEGMENT: "valid"}

    ws.ct("sandbox", "passcode", "delete", ACCOUNT_ID, "segment-export")
    done = ws.ct("verify", expect=1)
    assert statuses(done.stdout)[SEGMENT] == "rejected"

    done = ws.ct("verify", "--target", "*/braze-*")
    assert statuses(done.stdout) == {BRAZE: "valid"}
    done = ws.ct("verify", "--exclude", SEGMENT, "--exclude", "*/nightly-*")  # the known-bad ones left out
    assert statuses(done.stdout) == {BRAZE: "valid"}
    done = ws.ct("verify", "--target", "demo", "--exclude", NIGHTLY, expect=1)
    assert set(statuses(done.stdout)) == {BRAZE, SEGMENT}
    ws.assert_no_secret_printed(secrets)


def test_sink_problems_are_named_and_command_sink_is_skipped(ws: Workspace) -> None:
    ws.write_config(ACCOUNTS, secrets={"sink": "env-file", "path": "out/secrets.env"})
    ws.ct("apply", "--auto-approve")
    env_file = ws.root / "out" / "secrets.env"
    lines = [line for line in env_file.read_text().splitlines() if not line.startswith("# ctconfig: ")]
    assert ws.ct("verify").returncode == 0

    # braze-sync's line removed, nightly-report's secret swapped for segment-export's
    by_key = dict(line.split("=", 1) for line in lines)
    by_key.pop("CT_DEMO_BRAZE_SYNC")
    by_key["CT_DEMO_NIGHTLY_REPORT"] = by_key["CT_DEMO_SEGMENT_EXPORT"]
    env_file.write_text("".join(f"{k}={v}\n" for k, v in by_key.items()))
    done = ws.ct("verify", "--format", "json", expect=1)
    checks = {c["address"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks[BRAZE]["status"] == "missing"
    assert checks[NIGHTLY]["status"] == "mismatch"
    assert checks[SEGMENT]["status"] == "valid"

    ws.write_config(ACCOUNTS, secrets={"sink": "command", "command": "cat > /dev/null"})
    done = ws.ct("verify")
    assert set(statuses(done.stdout).values()) == {"skipped"}
    assert done.stdout.count("the command sink cannot read secrets back") == 3
    ws.assert_no_secret_printed([line.split("=", 1)[1] for line in lines])


def test_nothing_to_verify(ws: Workspace) -> None:
    ws.write_config({"demo": {"id": ACCOUNT_ID}})
    assert "No managed account passcodes" in ws.ct("verify").stdout


def _http_workspace(ws: Workspace, server: SandboxServer) -> None:
    admin = ws.ct("sandbox", "admin-passcode", "--db", str(server.db), ACCOUNT_ID).stdout.strip()
    ws.env["CT_DEMO_ADMIN_PASSCODE"] = admin
    accounts = {"demo": {**ACCOUNTS["demo"], "credentials": {"passcode_env": "CT_DEMO_ADMIN_PASSCODE"}}}
    ws.write_config(accounts, provider={"kind": "clevertap", "base_url": server.url})
    ws.outputs.remove(admin + "\n")  # the one output that shows a secret, on purpose


def test_http_valid_expired_rejected_against_sandbox_serve(
    ws: Workspace, sandbox_server: SandboxServer
) -> None:
    _http_workspace(ws, sandbox_server)
    ws.ct("apply", "--auto-approve")
    secrets = list(ws.secret_files().values())
    url = f"{sandbox_server.url}/v1/connect?partner=ctconfig"

    done = ws.ct("--debug", "verify")  # debug logs of httpx included: still no secret anywhere
    assert statuses(done.stdout) == {BRAZE: "valid", NIGHTLY: "valid", SEGMENT: "valid"}
    assert done.stdout.count(url) == 3

    db = str(sandbox_server.db)
    ws.ct("sandbox", "--db", db, "clock", "advance", "100d")
    done = ws.ct("verify", expect=1)
    # CleverTap's 401 says only "Invalid credentials or URL", and by this machine's clock these have
    # not expired yet (only the sandbox's clock moved): rejected, which is all that can be known.
    assert statuses(done.stdout) == {BRAZE: "valid", NIGHTLY: "rejected", SEGMENT: "rejected"}

    ws.ct("sandbox", "--db", db, "passcode", "delete", ACCOUNT_ID, "braze-sync")
    done = ws.ct("verify", expect=1)
    assert statuses(done.stdout)[BRAZE] == "rejected"
    assert "401" in done.stdout

    # A 401 that does not say why: state's expiry (by this machine's clock) tells expired apart.
    state_file = ws.root / "ctconfig.state.json"
    state = json.loads(state_file.read_text())
    state["resources"][BRAZE]["expires_at"] = "2001-01-01T00:00:00Z"
    state_file.write_text(json.dumps(state))
    assert statuses(ws.ct("verify", expect=1).stdout)[BRAZE] == "expired"
    ws.assert_no_secret_printed([*secrets, ws.env["CT_DEMO_ADMIN_PASSCODE"]])


def test_http_unreachable(ws: Workspace, sandbox_server: SandboxServer, tmp_path: Path) -> None:
    _http_workspace(ws, sandbox_server)
    ws.ct("apply", "--auto-approve")
    closed = "http://127.0.0.1:9"  # discard port: nothing listens on loopback
    ws.write_config(
        {"demo": {**ACCOUNTS["demo"], "credentials": {"passcode_env": "CT_DEMO_ADMIN_PASSCODE"}}},
        provider={"kind": "clevertap", "base_url": closed, "retry_budget": 0.5, "max_retries": 2},
    )
    done = ws.ct("verify", "--timeout", "2", "--format", "json", expect=1)
    checks = json.loads(done.stdout)["checks"]
    assert {c["status"] for c in checks} == {"unreachable"}
    assert {c["where"] for c in checks} == {f"{closed}/v1/connect?partner=ctconfig"}
    assert all(c["detail"].startswith(f"cannot reach {closed}: ") for c in checks), checks


def test_http_mismatch_by_fingerprint_and_throttling_retried(
    ws: Workspace, start_server: ServerFactory
) -> None:
    """The credential check cannot say whose a secret is: a sibling's secret is caught by fingerprint.

    The server throttles 40% of requests and holds each for 0.1 s: verify keeps at most
    3 checks in flight for the account and retries every 429 until each has its answer.
    """
    served = start_server("--latency", "0.1", "--throttle-rate", "0.4", "--retry-after", "0", "--seed", "4")
    many = {f"job-{n}": {"expires_in": "30d"} for n in range(7)}
    accounts = {"demo": {"id": ACCOUNT_ID, "account_passcodes": many}}
    ws.env["CT_DEMO_ADMIN_PASSCODE"] = served.admin(ACCOUNT_ID)
    accounts["demo"]["credentials"] = {"passcode_env": "CT_DEMO_ADMIN_PASSCODE"}
    ws.write_config(accounts, provider={"kind": "clevertap", "base_url": served.url, "retry_budget": 30})
    ws.ct("apply", "--auto-approve")
    before = served.stats()

    done = ws.ct("verify")
    assert set(statuses(done.stdout).values()) == {"valid"} and len(statuses(done.stdout)) == 7
    after = served.stats()
    assert after["faults"]["throttle"] > before["faults"]["throttle"], "some checks were throttled"
    assert after["inflight_rejections"] == 0 and after["peak_inflight"] <= 3

    files = ws.secret_files()
    sibling = files["demo/job-1"]
    (ws.root / ".ctconfig" / "secrets" / "demo" / "job-0").write_text(sibling + "\n")
    requests = served.stats()["requests"]
    done = ws.ct("verify", "--target", "demo/account_passcode/job-0", expect=1)
    assert statuses(done.stdout) == {"demo/account_passcode/job-0": "mismatch"}
    assert "the sink holds a different secret" in done.stdout
    assert served.stats()["requests"] == requests, "a mismatch is decided without a request"
    ws.assert_no_secret_printed([*files.values(), ws.env["CT_DEMO_ADMIN_PASSCODE"]])

"""The management API contract is valid OpenAPI, and the served sandbox keeps to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from ruamel.yaml import YAML
from starlette.routing import Route

from ctconfig.sandbox.faults import ServerStats
from ctconfig.sandbox.server import SandboxApi
from ctconfig.sandbox.store import SandboxStore
from tests.http.conftest import ACCOUNT_ID, SandboxServer

CONTRACT = Path(__file__).parents[2] / "schemas" / "management-api.openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}
SERVER_API_TAG = "CleverTap's documented Server API (for rehearsal)"
SERVER_API_PATHS = {
    "/v1/connect",
    "/1/upload",
    "/1/profile.json",
    "/1/profiles.json",
    "/1/events.json",
    "/1/counts/events.json",
    "/1/counts/profiles.json",
}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in contract()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def contract() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(CONTRACT.read_text(encoding="utf-8"))
    return data


def test_contract_is_valid_openapi_3_1() -> None:
    spec = contract()
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_operation_documents_auth_throttling_and_server_trouble() -> None:
    for path, method, operation in operations():
        codes = set(operation["responses"])
        assert {"401", "429", "500", "503"} <= codes, (method, path)
        if path != "/1/account.json" and path not in SERVER_API_PATHS:
            assert "403" in codes, (method, path)
        if "requestBody" in operation:
            assert {"400", "413"} <= codes, (method, path)


def test_clevertaps_own_endpoints_are_kept_apart_under_their_own_tag() -> None:
    spec = contract()
    assert SERVER_API_TAG in [tag["name"] for tag in spec["tags"]]
    assert "publishes no passcode-management API" in next(
        tag["description"] for tag in spec["tags"] if tag["name"] == SERVER_API_TAG
    )
    for path, method, operation in operations():
        tagged = SERVER_API_TAG in operation["tags"]
        assert tagged == (path in SERVER_API_PATHS), (method, path)
        if tagged:
            assert operation["responses"]["401"] == {"$ref": "#/components/responses/InvalidCredentials"}


def test_server_routes_are_exactly_the_contract(tmp_path: Path) -> None:
    with SandboxStore(tmp_path / "s.db") as store:
        routes = [r for r in SandboxApi(store, ServerStats()).routes() if isinstance(r, Route)]
    served = {
        (route.path, method.lower())
        for route in routes
        if not route.path.startswith("/_sandbox/")
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {
        (path, method)
        for path, item in contract()["paths"].items()
        for method in item
        if method in METHODS
    }
    assert served == documented


@pytest.mark.slow
def test_schemathesis_finds_no_violation(server: SandboxServer, tmp_path: Path) -> None:
    """Property-based requests (positive and negative, stateful links) against a fault-free server.

    Strings are generated as ASCII: in ASCII the name pattern is exactly
    "printable, no '/'"; Unicode printability cannot be written as a JSON
    Schema pattern, and the contract says so in words.
    """
    admin = server.admin(users=("alice@example.com", "bob@example.com"))
    schemathesis = Path(sys.executable).with_name("schemathesis")
    done = subprocess.run(
        [
            str(schemathesis), "run", str(CONTRACT),
            "--url", server.url,
            "-H", f"X-CleverTap-Account-Id: {ACCOUNT_ID}",
            "-H", f"X-CleverTap-Passcode: {admin}",
            "--checks", "all",
            "--max-examples", "8",
            "--seed", "20240501",
            "--workers", "1",
            "--generation-codec", "ascii",
            "--generation-database", "none",
            "--no-color",
            "--report-dir", str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    stats = server.stats()
    assert stats["requests"] > 100
    assert not any(code.startswith("5") for code in stats["by_status"]), stats

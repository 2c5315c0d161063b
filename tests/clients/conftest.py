"""CleverTap's official Node client (`clevertap@1.3.0`), installed with npm, driven against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.external_tools import node_modules_or_skip
from tests.sandbox.conftest import serve, served  # noqa: F401  (the sandbox servers, as fixtures here)

DRIVER = Path(__file__).with_name("node_driver.js")


@dataclass(frozen=True)
class NodeClient:
    """`CleverTap.init(account, passcode)` pointed at a sandbox server; every call a real request."""

    modules: Path
    base_url: str
    account_id: str

    def calls(self, passcode: str, *calls: list[Any]) -> list[Any]:
        """Run the client's methods (`["events", query, {"batchSize": 5}]`, ...) at once; their results."""
        env = {
            **os.environ,
            "NODE_PATH": str(self.modules),
            "CT_ACCOUNT_ID": self.account_id,
            "CT_PASSCODE": passcode,
            "CT_BASE_URL": self.base_url,
        }
        done = subprocess.run(
            ["node", str(DRIVER)],
            input=json.dumps({"calls": list(calls)}),
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert passcode not in done.stdout + done.stderr
        results: list[Any] = json.loads(done.stdout)
        return results

    def call(self, passcode: str, method: str, *args: Any) -> Any:
        """One method of the client, and its result."""
        return self.calls(passcode, [method, *args])[0]


@pytest.fixture
def node_modules() -> Path:
    return node_modules_or_skip()

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunCtconfig
from tests.e2e.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path, run_ctconfig: RunCtconfig) -> Workspace:
    return Workspace(tmp_path, run_ctconfig)

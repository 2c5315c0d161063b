"""A fresh sandbox store per test, with one account seeded with two dashboard users."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctconfig.sandbox import SandboxStore

SEEDED_ACCOUNT = "W9R-486-4W5Z"
SEEDED_USERS = ("alice@example.com", "bob@example.com")
# Anything in the shape of an issued secret (domain.LETTER_GROUPS), anywhere in a text.
SECRET_SHAPED = re.compile(r"(?<![A-Za-z0-9])[A-Z]{3}-[A-Z]{3}-[A-Z]{3,4}(?![A-Za-z0-9])")


def shows_a_secret(text: str) -> bool:
    """Whether text holds something shaped like a sandbox secret (the sandbox issues no other)."""
    return SECRET_SHAPED.search(text) is not None


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A database path whose parent directory does not exist yet."""
    return tmp_path / "nested" / "sandbox.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SandboxStore]:
    """A store holding account W9R-486-4W5Z with alice@ and bob@example.com as members."""
    sandbox = SandboxStore(db_path)
    sandbox.ensure_account(SEEDED_ACCOUNT, SEEDED_USERS)
    yield sandbox
    sandbox.close()

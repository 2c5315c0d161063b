"""Issue 20, row 6: `ctconfig export`'s YAML reads back as exactly the data it describes.

Names come from the accounts, made by hand in the dashboard or sent by a hostile server. A name
with a carriage return (or any YAML line break) written into a comment used to end the comment
and write config keys of its own: an extra account, `unmanaged: delete`. Now a name a config can
hold is a key (quoted as YAML needs), any other is listed, made visible, in a comment.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ctconfig.config.loader import load_config
from ctconfig.config.spec import Config
from ctconfig.config.types import is_email
from ctconfig.domain import RETIRING_MARK, AccountSnapshot, ObservedGrant, ObservedPasscode, ObservedUser
from ctconfig.service.export_yaml import export_config
from tests.conftest import RunCtconfig
from tests.untrusted.scripted_http_server import scripted_server

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ACCOUNT_ID = "W9R-486-4W5Z"
ACCOUNT_KEYS = {"id", "region", "credentials", "passcode_mode", "account_passcodes", "user_passcodes"}
LINE_BREAKS = ["\r", "\n", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c"]
INJECTION = "\r  evil:\r    id: TEST-R78-ZZK-955Z\r    unmanaged: delete\r#"

FRAGMENTS = st.sampled_from(
    [*LINE_BREAKS, "#", ":", " ", "-", "?", "'", '"', "{", "}", "[", "]", "&", "*", "!", "|", ">", "%",
     "@", "`", ",", "\\", "\t", "\x00", "\x1b", "\u200e", "\ufeff", "\ud800", "é", "💥", RETIRING_MARK]
)  # fmt: skip
NAMES = st.lists(st.one_of(FRAGMENTS, st.characters()), min_size=1, max_size=24).map("".join)
TAILS = st.sampled_from(["", *LINE_BREAKS])
EMAILS = st.builds(lambda local, tail: f"{local}@example{tail}.com", NAMES, TAILS)


def writable(text: str) -> bool:
    return not any("\ud800" <= c <= "\udfff" for c in text)


def nameable(name: str) -> bool:
    """What the config itself accepts as a passcode name (and a UTF-8 file can hold)."""
    try:
        account = {"id": ACCOUNT_ID, "account_passcodes": {name: {"expires_in": 30}}}
        Config.model_validate({"version": 1, "accounts": {"p": account}})
    except ValueError:
        return False
    return writable(name)


def snapshot(names: list[str], emails: list[str]) -> AccountSnapshot:
    passcodes = tuple(ObservedPasscode(f"pc{i}", n, 30 + i, NOW, NOW) for i, n in enumerate(names))
    users = tuple(
        ObservedUser(email, "member", ObservedGrant(email, None if i % 2 else 90, NOW, NOW))
        for i, email in enumerate(emails)
    )
    return AccountSnapshot(ACCOUNT_ID, "account", NOW, passcodes, users)


@given(st.lists(NAMES, max_size=6, unique=True), st.lists(EMAILS, max_size=3, unique=True))
def test_the_export_reads_back_as_the_same_data(names: list[str], emails: list[str]) -> None:
    config = Config.model_validate({"version": 1, "accounts": {"prod": {"id": ACCOUNT_ID}}})
    text = export_config(config, {"prod": snapshot(names, emails)})
    data = YAML(typ="safe").load(text)
    assert set(data) == {"version", "state", "provider", "secrets", "defaults", "accounts"}
    assert list(data["accounts"]) == ["prod"]
    account = data["accounts"]["prod"]
    assert set(account) == ACCOUNT_KEYS
    exported = {n: f"{30 + i}d" for i, n in enumerate(names) if RETIRING_MARK not in n and nameable(n)}
    assert {n: spec["expires_in"] for n, spec in account["account_passcodes"].items()} == exported
    granted = {e: "infinite" if i % 2 else "90d" for i, e in enumerate(emails) if is_email(e) and writable(e)}
    assert {e: spec["validity"] for e, spec in account["user_passcodes"].items()} == granted
    for line in text.split("\n"):  # every comment stays on its one line: no YAML line break in it
        if line.lstrip(" ").startswith("#"):
            assert not any(mark in line for mark in ("\r", "\x85", "\u2028", "\u2029")), line


@given(st.lists(NAMES, min_size=1, max_size=4, unique=True))
def test_the_exported_config_loads_with_the_same_passcodes(names: list[str]) -> None:
    config = Config.model_validate({"version": 1, "accounts": {"prod": {"id": ACCOUNT_ID}}})
    text = export_config(config, {"prod": snapshot(names, [])})
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "ctconfig.yaml").write_text(text, encoding="utf-8")
        loaded = load_config(Path(root) / "ctconfig.yaml", environ={}).config
    expected = {n: 30 + i for i, n in enumerate(names) if RETIRING_MARK not in n and nameable(n)}
    assert {n: spec.expires_in for n, spec in loaded.accounts["prod"].account_passcodes.items()} == expected


def test_a_name_that_ends_a_comment_injects_nothing(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    """The issue's case, end to end: a rotated-out passcode whose name carries a config fragment."""
    passcodes = [
        {"id": "pc1", "name": "braze-sync", "expires_in_days": 30, "created_at": "2026-11-29T12:00:00Z",
         "expires_at": "2026-12-29T12:00:00Z"},
        {"id": "pc2", "name": f"old{RETIRING_MARK}1{INJECTION}", "expires_in_days": None,
         "created_at": "2026-11-29T12:00:00Z", "expires_at": None},
    ]  # fmt: skip
    with scripted_server() as server:
        listing = {"status": "success", "server_time": "2026-11-29T12:00:00Z", "passcodes": passcodes}
        server.paths["/1/passcodes.json"] = (200, json.dumps(listing).encode())
        server.paths["/1/users.json"] = (200, b'{"status": "success", "users": []}')
        mode = b'{"status": "success", "passcode_mode": "account"}'
        server.paths["/1/settings/passcode-mode.json"] = (200, mode)
        (tmp_path / "ctconfig.yaml").write_text(
            f'version: 1\nprovider: {{kind: clevertap, base_url: "{server.url}"}}\n'
            f"accounts:\n  prod:\n    id: {ACCOUNT_ID}\n"
            "    credentials: {passcode_env: CT_PROD_PASSCODE}\n",
            encoding="utf-8",
        )
        env = {"CT_PROD_PASSCODE": "AMA-AUE-YWUL", "CTCONFIG_ALLOWED_ENDPOINTS": server.url}
        result = run_ctconfig("export", env=env)
    assert result.returncode == 0, result.stderr
    data = YAML(typ="safe").load(result.stdout)
    assert list(data["accounts"]) == ["prod"]
    assert set(data["accounts"]["prod"]) == ACCOUNT_KEYS
    assert list(data["accounts"]["prod"]["account_passcodes"]) == ["braze-sync"]
    assert (
        "    # rotated out, deleted by ctconfig later: old~retiring-1\\x0d  evil:\\x0d    "
        "id: TEST-R78-ZZK-955Z\\x0d    unmanaged: delete\\x0d#\n" in result.stdout
    )

"""Issue 20, row 10: what the API returns as a secret reaches no sink unless it is a CleverTap
passcode, and an env file is safe to source whatever it holds.

The provider is a real HTTP server answering a create with a command in the secret; the env file
is sourced by a real `sh`.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctconfig.domain import Address
from ctconfig.secrets import Secret
from ctconfig.sinks.base import SecretRef
from ctconfig.sinks.env_file import EnvFileSink
from tests.conftest import RunCtconfig
from tests.untrusted.scripted_http_server import scripted_server

ACCOUNT_ID = "W9R-486-4W5Z"
NOW = "2026-11-29T12:00:00Z"
HOSTILE = "AMA-AUE-YWUL $(touch pwned)"


def created_answer(secret: str) -> bytes:
    passcode = {"id": "pc1", "name": "etl", "expires_in_days": 30, "created_at": NOW, "expires_at": None}
    return json.dumps({"status": "success", "passcode": passcode, "secret": secret}).encode()


def test_an_answer_that_is_not_a_passcode_is_tainted_never_delivered(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    with scripted_server() as server:
        listing = {"status": "success", "server_time": NOW, "passcodes": []}
        server.paths["GET /1/passcodes.json"] = (200, json.dumps(listing).encode())
        server.paths["/1/users.json"] = (200, b'{"status": "success", "users": []}')
        mode = b'{"status": "success", "passcode_mode": "account"}'
        server.paths["/1/settings/passcode-mode.json"] = (200, mode)
        server.paths["POST /1/passcodes.json"] = (201, created_answer(HOSTILE))
        (tmp_path / "ctconfig.yaml").write_text(
            f'version: 1\nprovider: {{kind: clevertap, base_url: "{server.url}"}}\n'
            "secrets: {sink: env-file, path: out/secrets.env}\n"
            f"accounts:\n  prod:\n    id: {ACCOUNT_ID}\n    credentials: {{passcode_env: CT_PROD_PASSCODE}}\n"
            "    account_passcodes:\n      etl: {expires_in: 30d}\n",
            encoding="utf-8",
        )
        env = {"CT_PROD_PASSCODE": "AMA-AUE-YWUL", "CTCONFIG_ALLOWED_ENDPOINTS": server.url}
        result = run_ctconfig("apply", "--auto-approve", env=env)
    assert result.returncode == 1
    assert (
        "TAINTED: prod/account_passcode/etl (create): secret lost: the API answered something else: "
        "a CleverTap passcode is upper-case letter groups such as AMA-AUE-YWUL or 32 hex characters; "
        "got 27 characters including lower-case letters and spaces or line breaks and punctuation "
        "other than '-'; the passcode is marked tainted and the next plan replaces it"
    ) in result.stderr.splitlines()
    assert HOSTILE not in result.stdout + result.stderr
    sink_file = tmp_path / "out" / "secrets.env"
    assert not sink_file.exists() or "touch" not in sink_file.read_text()
    state = json.loads((tmp_path / "ctconfig.state.json").read_text())
    record = state["resources"]["prod/account_passcode/etl"]
    assert record["tainted"].startswith("secret lost: the API answered something else")
    assert record.get("secret_fingerprint") is None


def source(env_file: Path, name: str) -> str:
    """What `sh` sees in `name` after sourcing the file (in the file's directory)."""
    done = subprocess.run(
        ["sh", "-c", f'. ./{env_file.name} && printf %s "${name}"'],
        cwd=env_file.parent,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return done.stdout


def env_sink(root: Path) -> tuple[EnvFileSink, SecretRef]:
    return EnvFileSink(root / "secrets.env"), SecretRef(Address.account_passcode("prod", "etl"), ACCOUNT_ID)


@pytest.mark.parametrize(
    "value",
    [HOSTILE, "`touch pwned`", "x; touch pwned", "$HOME", "a'b", "'", "\\", "*", "~root", "a b", "${x}"],
)
def test_sourcing_the_env_file_runs_nothing(tmp_path: Path, value: str) -> None:
    sink, ref = env_sink(tmp_path)
    sink.store(ref, Secret(value))
    assert source(sink.path, ref.env_name) == value
    assert not (tmp_path / "pwned").exists()
    assert sink.read(ref) == Secret(value)


ONE_LINE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00")


@given(st.text(ONE_LINE, min_size=1, max_size=30))
def test_any_one_line_value_reads_back_from_a_shell_as_itself(value: str) -> None:
    with tempfile.TemporaryDirectory() as root:
        sink, ref = env_sink(Path(root))
        sink.store(ref, Secret(value))
        assert sink.read(ref) == Secret(value)
        assert source(sink.path, ref.env_name) == value
        assert sorted(p.name for p in Path(root).iterdir()) == ["secrets.env"]


@pytest.mark.parametrize("value", ["AMA-AUE-YWUL", "0123456789abcdef0123456789ABCDEF"])
def test_a_passcode_stays_bare_for_docker_and_systemd(tmp_path: Path, value: str) -> None:
    sink, ref = env_sink(tmp_path)
    sink.store(ref, Secret(value))
    assert f"\n{ref.env_name}={value}\n" in sink.path.read_text()

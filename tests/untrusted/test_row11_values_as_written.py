"""Issue 20, row 11: `validate` shows a value interpolated from the environment as the file wrote it.

Before, `provider.kind`, `secrets.sink`, `base_url` (and the trust refusals) printed the value the
environment gave: `validate` promised `${VAR}` as written.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunCtconfig

MARK = "sekrit-7f3a"
CONFIG = """\
version: 1
provider: {kind: '${CT_KIND}', base_url: '${CT_URL}'}
secrets: {sink: '${CT_SINK}'}
accounts:
  prod:
    id: W9R-486-4W5Z
    credentials: {passcode_env: CT_PROD_PASSCODE}
    account_passcodes:
      a: {expires_in: 90d, previously: ['${CT_PREV}']}
"""


def test_interpolated_values_are_never_echoed(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    (tmp_path / "ctconfig.yaml").write_text(CONFIG)
    cases = [
        {"CT_KIND": f"{MARK}-kind", "CT_URL": f"no-url-{MARK}", "CT_SINK": f"{MARK}", "CT_PREV": f"a/{MARK}"},
        {"CT_KIND": "clevertap", "CT_URL": f"ftp://{MARK}", "CT_SINK": "file", "CT_PREV": "b"},
        {"CT_KIND": "clevertap", "CT_URL": f"https://{MARK}.example", "CT_SINK": "file", "CT_PREV": "b"},
    ]
    seen = []
    for env in cases:
        result = run_ctconfig("validate", env={**env, "CTCONFIG_ALLOWED_ENDPOINTS": ""})
        assert result.returncode == 1
        assert MARK not in result.stdout + result.stderr, result.stderr
        seen += result.stderr.splitlines()
    assert "ctconfig.yaml:2:18: kind: expected 'sandbox', 'clevertap' or 'dashboard', got '${CT_KIND}' " in (
        "\n".join(seen)
    )
    assert any(line.endswith("got '${CT_SINK}' (after interpolation)") for line in seen)
    assert any(
        "base_url: expected an http:// or https:// URL" in line and "'${CT_URL}'" in line for line in seen
    )
    assert any("provider.base_url: '${CT_URL}' (after interpolation) is not one of" in line for line in seen)

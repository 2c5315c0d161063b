"""The fault run through `ctconfig apply`: 300 passcodes and 50 grants across a hostile network
(30 % throttled, 10 % server errors, 10 % answers dropped) converge in ONE apply with the default
retry settings: exactly those resources, every secret in the sink, and a plan with no changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ctconfig.domain import Address
from ctconfig.sinks import SecretRef
from ctconfig.sinks.file import FileSink
from tests.conftest import RunCtconfig
from tests.http.conftest import ServerFactory

ACCOUNTS = [f"FLT-000-{n:04d}" for n in range(6)]
PASSCODES = 50
GRANTS = (9, 9, 8, 8, 8, 8)


def users_of(n: int) -> tuple[str, ...]:
    return tuple(f"user{i}@acct{n}.example.com" for i in range(GRANTS[n]))


@pytest.mark.slow
def test_apply_through_throttling_errors_and_dropped_answers(
    start_server: ServerFactory, run_ctconfig: RunCtconfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = start_server(
        "--throttle-rate",
        "0.3",
        "--error-rate",
        "0.1",
        "--drop-rate",
        "0.1",
        "--retry-after",
        "0",
        "--seed",
        "7",
    )
    env = {f"CT_ACCT{n}_PASSCODE": server.admin(account, users_of(n)) for n, account in enumerate(ACCOUNTS)}
    config = {
        "version": 1,
        "provider": {"kind": "clevertap", "base_url": server.url},  # the default retry budget
        "accounts": {
            f"acct{n}": {
                "id": account,
                "credentials": {"passcode_env": f"CT_ACCT{n}_PASSCODE"},
                "account_passcodes": {
                    f"integration-{i:03d}": {"expires_in": "90d"} for i in range(PASSCODES)
                },
                "user_passcodes": {email: {"validity": "180d"} for email in users_of(n)},
            }
            for n, account in enumerate(ACCOUNTS)
        },
    }
    with (tmp_path / "ctconfig.yaml").open("w") as handle:
        YAML().dump(config, handle)

    applied = run_ctconfig("apply", "--auto-approve", env=env, timeout=300)
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    assert "Apply complete: 300 created, 50 granted." in applied.stdout
    traffic = [line for line in applied.stderr.splitlines() if line.startswith("HTTP:")]

    sink = FileSink(tmp_path / ".ctconfig" / "secrets")
    secrets = {}
    for n, account in enumerate(ACCOUNTS):
        for i in range(PASSCODES):
            address = Address.account_passcode(f"acct{n}", f"integration-{i:03d}")
            held = sink.read(SecretRef(address, account))
            assert held is not None, f"{address}: no secret in the sink"
            secrets[address] = held.reveal()
    assert len(secrets) == 300 and len(set(secrets.values())) == 300
    with server.store() as store:
        for n, account in enumerate(ACCOUNTS):
            snapshot = store.read(account)
            assert sorted(p.name for p in snapshot.passcodes) == [
                f"integration-{i:03d}" for i in range(PASSCODES)
            ]
            assert all(snapshot.user(e).grant for e in users_of(n))  # type: ignore[union-attr]
        for address, secret in secrets.items():
            credential = store.authenticate(ACCOUNTS[int(address.account[-1])], secret)
            assert credential is not None and credential.name == address.name

    replanned = run_ctconfig("plan", "--detailed-exitcode", env=env, timeout=300)
    assert replanned.returncode == 0, replanned.stdout[-2000:] + replanned.stderr[-2000:]
    for text in (
        applied.stdout,
        applied.stderr,
        replanned.stdout,
        replanned.stderr,
        (tmp_path / "ctconfig.state.json").read_text(),
    ):
        assert not any(secret in text for secret in secrets.values())
    stats = server.stats()
    with capsys.disabled():
        print(f"\nfault apply: {traffic[0] if traffic else ''}; server: {stats['faults']}")
    assert stats["faults"]["drop"] > 0 and stats["faults"]["throttle"] > 0 and stats["faults"]["error"] > 0
    assert traffic and "retried" in traffic[0]

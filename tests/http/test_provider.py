"""The clevertap provider against a real `ctconfig sandbox serve`: every operation and error."""

from __future__ import annotations

import socket
import subprocess

import pytest

from ctconfig.domain import AccountTarget, passcode_shape_problem
from ctconfig.errors import (
    AuthError,
    ConflictError,
    LimitError,
    NotFoundError,
    ProviderError,
    UnavailableError,
)
from ctconfig.providers.base import CredentialCheck, CredentialStatus
from ctconfig.providers.clevertap import ClevertapProvider
from ctconfig.secrets import Secret
from tests.conftest import ctconfig_executable
from tests.http.conftest import ACCOUNT_ID, PASSCODE_ENV, SandboxServer, run, target

ALICE = "alice@example.com"
BOB = "bob@example.com"


def test_every_operation_round_trips(server: SandboxServer) -> None:
    secrets = {PASSCODE_ENV: server.admin(users=(ALICE, BOB))}
    prod = target()

    async def scenario() -> None:
        provider = server.provider(secrets)
        try:
            empty = await provider.read_account(prod)
            assert empty.account_id == ACCOUNT_ID
            assert empty.passcodes == ()
            assert empty.passcode_mode == "account"
            assert {u.email for u in empty.users} >= {ALICE, BOB}

            issued = await provider.create_passcode(prod, "segment-export", 90)
            assert issued.passcode.name == "segment-export"
            assert issued.passcode.expires_in_days == 90
            assert issued.passcode.expires_at is not None
            assert issued.secret.reveal()
            forever = await provider.create_passcode(prod, "braze-sync", None)
            assert forever.passcode.expires_at is None

            works = await provider.check_credential(prod, issued.secret)
            assert works.status == CredentialStatus.VALID

            renamed = await provider.update_passcode(
                prod, issued.passcode.id, name="segment-export-v2", expires_in_days=30
            )
            assert (renamed.id, renamed.name, renamed.expires_in_days) == (
                issued.passcode.id, "segment-export-v2", 30
            )
            await provider.delete_passcode(prod, forever.passcode.id)

            granted = await provider.grant_user_passcode(prod, ALICE, 365)
            assert (granted.email, granted.validity_days) == (ALICE, 365)
            infinite = await provider.grant_user_passcode(prod, "Bob@Example.com", None)
            assert infinite.validity_days is None
            reset = await provider.reset_user_passcode(prod, ALICE)
            assert reset.validity_days == 365 and reset.granted_at >= granted.granted_at
            await provider.revoke_user_passcode(prod, BOB)
            await provider.set_passcode_mode(prod, "user")

            after = await provider.read_account(prod)
            assert [(p.id, p.name) for p in after.passcodes] == [(issued.passcode.id, "segment-export-v2")]
            alice, bob = after.user(ALICE), after.user(BOB)
            assert alice is not None and alice.grant is not None and alice.grant.validity_days == 365
            assert bob is not None and bob.grant is None
            assert after.passcode_mode == "user"
            assert after.observed_at.tzinfo is not None
            assert provider.stats.requests >= 15 and provider.stats.retries == 0
        finally:
            await provider.aclose()

    run(scenario)


def test_user_mode_rejects_account_passcodes_for_api_calls(server: SandboxServer) -> None:
    admin = server.admin()
    secrets = {PASSCODE_ENV: admin}

    async def scenario() -> None:
        provider = server.provider(secrets)
        issued = await provider.create_passcode(target(), "etl", None)
        assert (await provider.check_credential(target(), issued.secret)).status == CredentialStatus.VALID
        await provider.set_passcode_mode(target(), "user")
        refused = await provider.check_credential(target(), issued.secret)
        assert refused == CredentialCheck(CredentialStatus.REJECTED, "401: Invalid credentials or URL")
        admin_check = await provider.check_credential(target(), Secret(admin))
        assert admin_check.status == CredentialStatus.VALID
        await provider.aclose()

    run(scenario)


def test_credential_check_is_the_documented_connect_call(server: SandboxServer) -> None:
    secrets = {PASSCODE_ENV: server.admin()}

    async def scenario() -> None:
        provider = server.provider(secrets)
        issued = await provider.create_passcode(target(), "etl", 1)
        assert provider.credential_check_url(target()) == f"{server.url}/v1/connect?partner=ctconfig"
        before = server.stats()["requests"]
        unknown = await provider.check_credential(target(), Secret("NOT-A-REAL-PASSCODE"))
        assert unknown == CredentialCheck(CredentialStatus.REJECTED, "401: Invalid credentials or URL")
        with server.store() as store:
            store.advance_clock(2 * 86400)
        expired = await provider.check_credential(target(), issued.secret)
        assert expired == CredentialCheck(CredentialStatus.REJECTED, "401: Invalid credentials or URL")
        assert server.stats()["requests"] == before + 2
        # A value that cannot be a header is refused without a request, and never quoted.
        broken = await provider.check_credential(target(), Secret("SECRETPART1\nSECRETPART2"))
        assert broken == CredentialCheck(
            CredentialStatus.REJECTED, "not a usable passcode: it contains a line break"
        )
        assert server.stats()["requests"] == before + 2
        await provider.aclose()

    run(scenario)


def test_rejected_credentials_say_which_variable_to_check(server: SandboxServer) -> None:
    server.admin()

    async def scenario() -> None:
        provider = server.provider({PASSCODE_ENV: "ctu_not-a-real-passcode-at-all"})
        with pytest.raises(AuthError) as caught:
            await provider.read_account(target())
        assert str(caught.value) == (
            "credentials for account `prod` were rejected; check CT_PROD_PASSCODE "
            "(it may have expired or been revoked)"
        )
        unknown = AccountTarget("ghost", "NOPE-000-0000", "eu1", PASSCODE_ENV)
        with pytest.raises(AuthError, match="account `ghost` were rejected"):
            await provider.create_passcode(unknown, "x", 1)
        await provider.aclose()

    run(scenario)


def test_a_member_or_account_passcode_is_not_an_admins(server: SandboxServer) -> None:
    admin = server.admin()
    with server.store() as store:
        member = store.issue_user_passcode(ACCOUNT_ID, "member@example.com", "member")
        _passcode, account_secret = store.create_passcode(ACCOUNT_ID, "ci", None, dashboard=True)

    async def scenario() -> None:
        for secret in (member, account_secret):
            provider = server.provider({PASSCODE_ENV: secret})
            with pytest.raises(AuthError) as caught:
                await provider.create_passcode(target(), "x", 1)
            assert str(caught.value) == (
                "the passcode in CT_PROD_PASSCODE for account `prod` is not an admin's passcode"
            )
            assert secret not in str(caught.value)
            await provider.aclose()
        ok = server.provider({PASSCODE_ENV: admin})
        assert (await ok.read_account(target())).passcode_named("ci") is not None
        await ok.aclose()

    run(scenario)


def test_missing_credentials_name_the_variable_and_account(server: SandboxServer) -> None:
    async def scenario() -> None:
        provider = server.provider({PASSCODE_ENV: "  "})
        with pytest.raises(AuthError) as caught:
            await provider.read_account(target())
        assert str(caught.value) == (
            "environment variable CT_PROD_PASSCODE (the admin passcode for account `prod`) "
            "is not set or empty"
        )
        no_env = AccountTarget("stage", ACCOUNT_ID, "eu1", None)
        with pytest.raises(AuthError, match=r"account `stage` has no credentials\.passcode_env"):
            await provider.read_account(no_env)
        assert provider.stats.requests == 0
        await provider.aclose()

    run(scenario)


def test_missing_things_conflicts_and_limits_are_named(server: SandboxServer) -> None:
    secrets = {PASSCODE_ENV: server.admin(users=(ALICE,))}

    async def scenario() -> None:
        provider = server.provider(secrets)
        prod = target()
        with pytest.raises(NotFoundError, match=r"account `prod`: passcode pc_missing does not exist"):
            await provider.delete_passcode(prod, "pc_missing")
        with pytest.raises(NotFoundError, match="pc_missing"):
            await provider.update_passcode(prod, "pc_missing", name="x", expires_in_days=None)
        with pytest.raises(NotFoundError, match=r"nobody@example\.com is not a dashboard user"):
            await provider.grant_user_passcode(prod, "nobody@example.com", 30)
        with pytest.raises(NotFoundError, match=f"{ALICE} has no user passcode"):
            await provider.reset_user_passcode(prod, ALICE)
        with pytest.raises(NotFoundError, match=f"{ALICE} has no user passcode"):
            await provider.revoke_user_passcode(prod, ALICE)

        await provider.create_passcode(prod, "dup", 10)
        with pytest.raises(ConflictError, match=r"account `prod`: .*dup"):
            await provider.create_passcode(prod, "DUP", 10)
        await provider.grant_user_passcode(prod, ALICE, 10)
        with pytest.raises(ConflictError, match="already has a user passcode"):
            await provider.grant_user_passcode(prod, ALICE, 10)
        with pytest.raises(LimitError, match="validity must be 1-365 days"):
            await provider.grant_user_passcode(prod, ALICE, 400)
        with pytest.raises(LimitError, match="1-64 characters"):
            await provider.create_passcode(prod, "x" * 65, 10)
        assert provider.stats.retries == 0
        await provider.aclose()

    run(scenario)


def test_the_100_passcode_limit_is_a_limit_error(server: SandboxServer) -> None:
    secrets = {PASSCODE_ENV: server.admin()}
    with server.store() as store:
        for n in range(100):
            store.create_passcode(ACCOUNT_ID, f"p{n}", None, dashboard=True)

    async def scenario() -> None:
        provider = server.provider(secrets)
        with pytest.raises(LimitError, match="already has 100 account passcodes"):
            await provider.create_passcode(target(), "one-too-many", None)
        await provider.aclose()

    run(scenario)


def test_an_unreachable_host_is_one_line(server: SandboxServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused

        async def scenario() -> None:
            provider = server.provider(
                {PASSCODE_ENV: "whatever-passcode"},
                base_url=f"http://127.0.0.1:{port}",
                max_retries=2,
                backoff_base=0.01,
            )
            with pytest.raises(UnavailableError) as caught:
                await provider.read_account(target())
            message = str(caught.value)
            assert message.startswith(f"cannot reach http://127.0.0.1:{port}: ")
            assert "\n" not in message and "after 3 attempts" in message
            assert provider.stats.retries >= 2
            await provider.aclose()

        run(scenario)


def test_region_hosts_and_base_url() -> None:
    from ctconfig.config.spec import ClevertapProviderConfig as Settings

    def url(region: str, base_url: str | None = None) -> str:
        config = Settings.model_validate({"kind": "clevertap", "base_url": base_url})
        provider = ClevertapProvider(config, {})
        return provider.credential_check_url(AccountTarget("a", ACCOUNT_ID, region))

    check = "/v1/connect?partner=ctconfig"
    assert url("eu1") == "https://api.clevertap.com" + check
    assert url("in1") == "https://in1.api.clevertap.com" + check
    assert url("sg1") == "https://sg1.api.clevertap.com" + check
    assert url("us1") == "https://us1.api.clevertap.com" + check
    assert url("aps3") == "https://aps3.api.clevertap.com" + check
    assert url("mec1") == "https://mec1.api.clevertap.com" + check
    assert url("in1", "http://127.0.0.1:9/") == "http://127.0.0.1:9" + check
    with pytest.raises(ProviderError, match=r"account `a`: unknown region 'xx1'"):
        url("xx1")  # never quietly another region's host


def test_admin_passcode_command_prints_a_working_secret_once(server: SandboxServer) -> None:
    done = subprocess.run(
        [*ctconfig_executable(), "sandbox", "--db", str(server.db), "admin-passcode", "TEST-R78-ZZK-955Z"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and passcode_shape_problem(lines[0]) is None

    async def scenario() -> None:
        provider = server.provider({"CT_TEST": lines[0]})
        test = AccountTarget("test", "TEST-R78-ZZK-955Z", "eu1", "CT_TEST")
        snapshot = await provider.read_account(test)
        admin = snapshot.user("admin@sandbox.local")
        assert admin is not None and admin.role == "admin" and admin.grant is not None
        await provider.aclose()

    run(scenario)


def test_the_admin_cannot_revoke_or_reset_the_passcode_it_calls_with(server: SandboxServer) -> None:
    secrets = {PASSCODE_ENV: server.admin()}

    async def scenario() -> None:
        provider = server.provider(secrets)
        for operation in (provider.revoke_user_passcode, provider.reset_user_passcode):
            with pytest.raises(ConflictError, match="authenticated with that user passcode"):
                await operation(target(), "Admin@Sandbox.local")
        assert (await provider.read_account(target())).user("admin@sandbox.local") is not None
        await provider.aclose()

    run(scenario)


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("ftp://127.0.0.1:9", "Request URL has an unsupported protocol 'ftp://'"),
        ("127.0.0.1:9", "Request URL is missing an 'http://' or 'https://' protocol"),
        ("http://[::1", "Invalid"),
    ],
)
def test_a_request_the_client_cannot_send_is_refused_at_once(base_url: str, reason: str) -> None:
    from ctconfig.config.spec import ClevertapProviderConfig as Settings

    config = Settings.model_validate({"kind": "clevertap", "base_url": base_url})
    provider = ClevertapProvider(config, {PASSCODE_ENV: "AMA-AUE-YWUL"})

    async def scenario() -> None:
        with pytest.raises(ProviderError) as caught:
            await provider.read_account(target())
        assert not isinstance(caught.value, UnavailableError)  # not worth retrying, so not retried
        assert str(caught.value).startswith("account `prod`: cannot send the request to ")
        assert reason in str(caught.value)
        assert provider.stats.retries == 0
        await provider.aclose()

    run(scenario)

"""Shared set-up of the sink tests: references, secrets that must never leak, AWS sinks on moto."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ctconfig.domain import Address
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SecretSink
from tests.conftest import _moto_server

ACCOUNT_ID = "TEST-R78-ZZK-955Z"
MakeRef = Callable[..., SecretRef]


def ref(account: str, name: str, account_id: str = ACCOUNT_ID) -> SecretRef:
    """The reference of account passcode `name` of `account`."""
    return SecretRef(Address.account_passcode(account, name), account_id)


def secret_for(name: str) -> Secret:
    """A recognisable secret, unique per name, that tests can scan for."""
    return Secret(f"SECRET-{uuid.uuid5(uuid.NAMESPACE_OID, name).hex[:20]}")


def assert_no_secret(text: str, *secrets: Secret) -> None:
    """`text` (a message, an output) shows none of `secrets`."""
    assert secrets
    for secret in secrets:
        assert secret.reveal() not in text


def store_ok(sink: SecretSink, *pairs: tuple[SecretRef, Secret]) -> list[str]:
    """Store a batch that must fully succeed; where each went."""
    outcomes = sink.store_many(list(pairs))
    assert [o.ref for o in outcomes] == [r for r, _ in pairs]
    return [o.result() for o in outcomes]


@pytest.fixture
def aws_sink_env(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Dummy credentials only from the environment; no instance metadata lookups, no config files."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        monkeypatch.delenv(name, raising=False)
    return aws_env


@pytest.fixture
def prefix() -> str:
    """A fresh prefix per test, so tests sharing the moto server never see each other's slots."""
    return f"t{uuid.uuid4().hex[:10]}/"


@pytest.fixture(scope="session")
def moto_iam_endpoint() -> Iterator[str]:
    """A moto server that enforces IAM policies after the 3 calls that set up a limited user."""
    yield from _moto_server({"INITIAL_NO_AUTH_ACTION_COUNT": "3"})


@pytest.fixture(scope="session")
def limited_user(moto_iam_endpoint: str) -> dict[str, str]:
    """Keys of an IAM user that may do nothing with secrets (the server's 3 unchecked calls)."""
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=moto_iam_endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    iam.create_user(UserName="ci")
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    iam.put_user_policy(
        UserName="ci",
        PolicyName="nothing-with-secrets",
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": "sts:GetCallerIdentity", "Resource": "*"}]}',
    )
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def aws_config(kind: str, endpoint: str, prefix: str, **extra: Any) -> dict[str, Any]:
    """The `secrets:` section of an AWS sink on `endpoint` under `prefix`."""
    path = "/" + prefix if kind == "aws-ssm" else prefix
    return {"sink": kind, "prefix": path, "region": "us-east-1", "endpoint_url": endpoint, **extra}


NOBODY = 65534


def unprivileged(action: Callable[[], str]) -> str:
    """Run `action` where file permissions apply: directly, or as `nobody` in a forked child when
    the tests run as root (who may read and write anything). Returns what `action` returned."""
    if os.geteuid() != 0:
        return action()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = action()
        except BaseException as exc:
            result, code = f"{type(exc).__name__}: {exc}", 1
        os.write(write_end, result.encode())
        os.close(write_end)
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        result = pipe.read().decode()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, result
    return result


def open_to_all(path: Path) -> Path:
    """Make the parents of `path` traversable by another user (for `unprivileged` tests)."""
    for folder in path.parents:
        if folder == Path("/"):
            break
        os.chmod(folder, os.stat(folder).st_mode | 0o711)
    return path

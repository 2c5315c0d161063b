"""The AWS Secrets Manager and SSM Parameter Store sinks, against moto's real server."""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from pydantic import TypeAdapter

from ctconfig.config.spec import SecretsConfig
from ctconfig.secret_slots import slot_name
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretSink, SinkError, open_sink
from ctconfig.sinks.aws import AwsSink
from ctconfig.sinks.aws_secrets_manager import AwsSecretsManagerSink
from ctconfig.sinks.aws_ssm import AwsSsmSink
from tests.sinks.conftest import assert_no_secret, aws_config, ref, secret_for

KINDS = ["aws-secrets-manager", "aws-ssm"]
SinkFactory = Callable[..., AwsSink]


def secrets_config(data: dict[str, Any]) -> Any:
    return TypeAdapter(SecretsConfig).validate_python(data)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_sink(kind: str, moto_endpoint: str, prefix: str, aws_sink_env: dict[str, str]) -> SinkFactory:
    def make(endpoint: str = moto_endpoint, **extra: Any) -> AwsSink:
        sink = open_sink(secrets_config(aws_config(kind, endpoint, prefix, **extra)))
        assert isinstance(sink, AwsSink)
        return sink

    return make


@pytest.fixture
def sink(make_sink: SinkFactory) -> AwsSink:
    return make_sink()


def client_of(sink: AwsSink) -> Any:
    """A plain boto3 client on the same server, to look at what the sink wrote."""
    service = "secretsmanager" if isinstance(sink, AwsSecretsManagerSink) else "ssm"
    return boto3.client(service, endpoint_url=sink.client.meta.endpoint_url, region_name="us-east-1")


def tags_of(sink: AwsSink, name: str) -> dict[str, str]:
    client = client_of(sink)
    if isinstance(sink, AwsSecretsManagerSink):
        tags = client.describe_secret(SecretId=name)["Tags"]
    else:
        tags = client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    return {t["Key"]: t["Value"] for t in tags}


def plant(sink: AwsSink, name: str, value: str, tags: dict[str, str]) -> None:
    """A slot made by someone else (with `tags`), as it might already exist."""
    client, tag_list = client_of(sink), [{"Key": k, "Value": v} for k, v in tags.items()]
    if isinstance(sink, AwsSecretsManagerSink):
        client.create_secret(Name=name, SecretString=value, **({"Tags": tag_list} if tag_list else {}))
    else:
        client.put_parameter(
            Name=name, Value=value, Type="SecureString", **({"Tags": tag_list} if tag_list else {})
        )


def test_store_then_read_is_exact_and_tagged(sink: AwsSink, prefix: str) -> None:
    value = " AMA-AUE-YWUL\n"
    where = sink.store(ref("prod", "braze sync"), Secret(value))
    name = sink.slot(ref("prod", "braze sync"))
    assert name.endswith(f"{prefix}prod/braze_sync")
    assert where == sink.location(ref("prod", "braze sync")) and name in where
    assert sink.read(ref("prod", "braze sync")) == Secret(value)
    assert tags_of(sink, name) == {
        "ctconfig:address": "prod/account_passcode/braze sync",
        "ctconfig:account-id": "TEST-R78-ZZK-955Z",
    }
    if isinstance(sink, AwsSsmSink):
        [parameter] = client_of(sink).describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": [name]}]
        )["Parameters"]
        assert parameter["Type"] == "SecureString"


def test_the_kms_key_is_used(make_sink: SinkFactory) -> None:
    sink = make_sink(kms_key_id="alias/ctconfig")
    sink.store(ref("prod", "a"), secret_for("a"))
    name = sink.slot(ref("prod", "a"))
    client = client_of(sink)
    if isinstance(sink, AwsSecretsManagerSink):
        assert client.describe_secret(SecretId=name)["KmsKeyId"] == "alias/ctconfig"
    else:
        [parameter] = client.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])[
            "Parameters"
        ]
        assert parameter["KeyId"] == "alias/ctconfig"


def test_rotation_overwrites_only_the_owners_slot(sink: AwsSink) -> None:
    owner = ref("prod-eu", "braze sync")
    sink.store(owner, Secret("first-secret"))
    sink.store(owner, Secret("rotated-secret"))
    assert sink.read(owner) == Secret("rotated-secret")
    intruder = ref("prod-eu", "braze_sync")
    assert sink.slot(intruder) == sink.slot(owner)
    with pytest.raises(SinkError) as refused:
        sink.store(intruder, Secret("other-secret"))
    message = str(refused.value)
    assert "holds the secret of prod-eu/account_passcode/braze sync; refusing to overwrite it" in message
    assert_no_secret(message, Secret("rotated-secret"), Secret("other-secret"))
    assert sink.read(owner) == Secret("rotated-secret")
    assert sink.read(intruder) is None


def test_a_slot_not_made_by_ctconfig_is_neither_overwritten_nor_read(sink: AwsSink) -> None:
    plant(sink, sink.slot(ref("prod", "a")), "theirs", {})
    with pytest.raises(SinkError, match="was not made by ctconfig"):
        sink.store(ref("prod", "a"), secret_for("a"))
    assert sink.read(ref("prod", "a")) is None
    plant(sink, sink.slot(ref("prod", "b")), "theirs", {"ctconfig:address": "other/account_passcode/b"})
    with pytest.raises(SinkError, match="holds the secret of other/account_passcode/b"):
        sink.store(ref("prod", "b"), secret_for("b"))


def test_an_address_outside_the_tag_alphabet_round_trips(sink: AwsSink) -> None:
    odd = ref("prod", "caf\u00e9 #1 \\ x")
    sink.store(odd, secret_for("odd"))
    assert tags_of(sink, sink.slot(odd))["ctconfig:address"].startswith("b64:")
    assert sink.read(odd) == secret_for("odd")


def test_a_batch_of_many_secrets(sink: AwsSink) -> None:
    items = [(ref(f"a{i % 4}", f"p{i}"), secret_for(f"p{i}")) for i in range(40)]
    items.append((ref("a1", "p1"), secret_for("again")))  # the same address twice: the last wins
    outcomes = sink.store_many(items)
    assert [o.ref for o in outcomes] == [r for r, _ in items]
    assert [o.error for o in outcomes] == [None] * len(items)
    assert sink.read(ref("a1", "p1")) == secret_for("again")
    assert all(sink.read(r) == s for r, s in items[2:-1])


def test_a_batch_with_two_addresses_for_one_slot_is_decided_in_order(sink: AwsSink) -> None:
    first, second = ref("prod", "a b"), ref("prod", "a_b")
    assert sink.slot(first) == sink.slot(second)
    outcomes = sink.store_many(
        [(first, Secret("one")), (ref("x", "y"), Secret("y")), (second, Secret("two"))]
    )
    assert [o.stored for o in outcomes] == [True, True, False]
    assert "holds the secret of prod/account_passcode/a b" in str(outcomes[2].error)
    assert sink.read(first) == Secret("one")


@pytest.mark.parametrize("kind", ["aws-secrets-manager"])  # only Secrets Manager schedules deletions
def test_a_secret_scheduled_for_deletion_is_restored_for_its_owner(make_sink: SinkFactory) -> None:
    sink = make_sink()
    sink.store(ref("prod", "a"), Secret("old"))
    client_of(sink).delete_secret(SecretId=sink.slot(ref("prod", "a")), RecoveryWindowInDays=7)
    assert sink.read(ref("prod", "a")) is None
    sink.store(ref("prod", "a"), Secret("new"))
    assert sink.read(ref("prod", "a")) == Secret("new")


def test_reading_nothing_there(sink: AwsSink) -> None:
    assert sink.read(ref("prod", "never-stored")) is None


# -- failures: one line, the target named, never the secret -------------------------------------


def expect_failure(sink: SecretSink, contains: str) -> None:
    outcome = sink.store_many([(ref("prod", "a"), secret_for("a"))])[0]
    assert outcome.error is not None
    message = str(outcome.error)
    assert contains in message and "\n" not in message, message
    assert sink.location(ref("prod", "a")) in message
    assert_no_secret(message, secret_for("a"))
    with pytest.raises(SinkError, match=contains):
        sink.read(ref("prod", "a"))


def test_no_credentials(make_sink: SinkFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    sink = make_sink()
    with pytest.raises(SinkError, match="has no AWS credentials: set AWS_ACCESS_KEY_ID"):
        sink.preflight([ref("prod", "a")])
    expect_failure(sink, "no AWS credentials")


def test_refused_credentials(make_sink: SinkFactory, moto_endpoint_checking_credentials: str) -> None:
    sink = make_sink(moto_endpoint_checking_credentials)
    with pytest.raises(SinkError, match="AWS refused the credentials"):
        sink.preflight([ref("prod", "a")])  # credentials are there; its read of the slot asks the server
    expect_failure(sink, "AWS refused the credentials")


@pytest.fixture
def denied_sink(
    make_sink: SinkFactory,
    moto_iam_endpoint: str,
    limited_user: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> AwsSink:
    """A sink whose credentials IAM allows nothing with secrets."""
    for name, value in limited_user.items():
        monkeypatch.setenv(name, value)
    return make_sink(moto_iam_endpoint)


def test_access_denied(denied_sink: AwsSink) -> None:
    expect_failure(denied_sink, "access denied")


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])  # bound, never listening: connections are refused


def test_unreachable_endpoint(kind: str, prefix: str, closed_port: int, aws_sink_env: dict[str, str]) -> None:
    config = secrets_config(aws_config(kind, f"http://127.0.0.1:{closed_port}", prefix))
    sink_class = AwsSecretsManagerSink if kind == "aws-secrets-manager" else AwsSsmSink
    expect_failure(sink_class.from_config(config, attempts=1), f"cannot reach http://127.0.0.1:{closed_port}")


def test_missing_extra_and_missing_region(
    kind: str, prefix: str, aws_sink_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = secrets_config({"sink": kind})
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(SinkError, match=f"the {kind} sink needs an AWS region"):
        open_sink(config)
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(
        SinkError, match=f"the {kind} sink: The config profile \\(no-such-profile\\) could not be found"
    ):
        open_sink(config)
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(SinkError) as failed:
        open_sink(config)
    assert str(failed.value) == f"the {kind} sink needs boto3: pip install 'ctconfig[aws]'"


def test_botocore_debug_logs_never_show_the_secret(sink: AwsSink, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sink.store(ref("prod", "logged"), secret_for("logged"))
    assert sink.read(ref("prod", "logged")) == secret_for("logged")
    assert any(r.name.startswith("botocore") for r in caplog.records)  # it did log
    assert_no_secret(caplog.text, secret_for("logged"))


@pytest.mark.parametrize("name", ["braze-sync", "braze sync", "a+b=c@d", "caf\u00e9", "x\\y", ".."])
def test_each_sink_names_its_slot_as_slots_py_does(make_sink: SinkFactory, kind: str, name: str) -> None:
    sink = make_sink()
    config = secrets_config({"sink": kind, "prefix": sink.prefix})
    assert sink.slot(ref("prod-eu", name)) == slot_name(config, ref("prod-eu", name).address)


def test_a_move_copies_to_the_new_slot_tagged_as_its_owner_then_deletes_the_old(sink: AwsSink) -> None:
    old, new, secret = ref("prod", "old-name"), ref("prod-eu", "new-name"), secret_for("moved")
    sink.store(old, secret)
    where = sink.move(old, new)
    assert where == sink.location(new)
    assert sink.read(new) == secret and sink.read(old) is None
    assert tags_of(sink, sink.slot(new))["ctconfig:address"] == str(new.address)
    with pytest.raises(SinkError, match="holds no secret of prod/account_passcode/old-name to move"):
        sink.move(old, new)  # nothing left behind to move again
    sink.store(old, secret_for("someone else"))
    sink.store(ref("prod", "a_b"), secret_for("taken"))
    with pytest.raises(SinkError, match="holds the secret of prod/account_passcode/a_b") as refused:
        sink.move(old, ref("prod", "a b"))  # the same slot as a_b's
    assert_no_secret(str(refused.value), secret_for("someone else"), secret_for("taken"))
    assert sink.read(old) == secret_for("someone else")  # a refused move leaves the secret where it was


def test_a_move_between_addresses_that_share_a_slot_only_changes_its_owner(sink: AwsSink) -> None:
    old, new, secret = ref("prod", "braze sync"), ref("prod", "braze_sync"), secret_for("one slot")
    assert sink.slot(old) == sink.slot(new)
    sink.store(old, secret)
    assert sink.move(old, new) == sink.location(new)
    assert sink.read(new) == secret and sink.read(old) is None

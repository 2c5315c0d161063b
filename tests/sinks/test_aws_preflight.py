"""The AWS sinks' preflight against moto's real server: credentials load, and one read per slot
proves access and reachability — a missing slot is fine, an untagged or foreign one is refused —
a few reads at a time, and never a write."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from ctconfig.sinks import SinkError
from ctconfig.sinks.aws import AwsSink
from ctconfig.sinks.aws_secrets_manager import AwsSecretsManagerSink
from ctconfig.sinks.aws_ssm import AwsSsmSink
from tests.sinks import test_aws_sinks as aws
from tests.sinks.conftest import aws_config, ref, secret_for
from tests.sinks.test_aws_sinks import SinkFactory, client_of, plant, secrets_config

# The AWS sink tests' fixtures, shared: a sink of each kind on moto, one IAM denies, a closed port.
kind, make_sink, sink, denied_sink, closed_port = (
    aws.kind,
    aws.make_sink,
    aws.sink,
    aws.denied_sink,
    aws.closed_port,
)

REFS = [ref("prod", "a"), ref("prod", "b"), ref("stage", "c")]


def refusal(sink: AwsSink, refs: list[Any] = REFS) -> str:
    with pytest.raises(SinkError) as refused:
        sink.preflight(refs)
    message = str(refused.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def slots_under(sink: AwsSink) -> list[str]:
    """Every slot under the sink's prefix: what a preflight must leave as it found it."""
    client = client_of(sink)
    if isinstance(sink, AwsSecretsManagerSink):
        found = client.list_secrets(Filters=[{"Key": "name", "Values": [sink.prefix]}])["SecretList"]
        return sorted(s["Name"] for s in found)
    paginator = client.get_paginator("get_parameters_by_path")
    pages = paginator.paginate(Path=sink.prefix.rstrip("/"), Recursive=True)
    return sorted(p["Name"] for page in pages for p in page["Parameters"])


def test_missing_and_own_slots_pass_and_nothing_is_written(sink: AwsSink) -> None:
    sink.preflight(REFS)
    assert slots_under(sink) == []
    sink.store(REFS[0], secret_for("a"))  # tagged as its own: overwriting it is fine
    sink.preflight(REFS)
    assert slots_under(sink) == [sink.slot(REFS[0])]
    assert sink.read(REFS[0]) == secret_for("a")


def test_an_untagged_slot_is_refused(sink: AwsSink) -> None:
    plant(sink, sink.slot(REFS[1]), "someone else's", {})
    assert refusal(sink) == (
        f"{sink.location(REFS[1])} exists but was not made by ctconfig (no ctconfig:address tag); "
        "refusing to overwrite it"
    )


def test_a_slot_of_another_address_is_refused(sink: AwsSink) -> None:
    plant(sink, sink.slot(REFS[2]), "x", {"ctconfig:address": "other/account_passcode/c"})
    assert f"{sink.location(REFS[2])} holds the secret of other/account_passcode/c" in refusal(sink)


def test_no_credentials(make_sink: SinkFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    assert "has no AWS credentials: set AWS_ACCESS_KEY_ID" in refusal(make_sink())


def test_access_denied(denied_sink: AwsSink) -> None:
    assert refusal(denied_sink).startswith(
        f"the {denied_sink.label} sink could not check {denied_sink.location(REFS[0])}: access denied"
    )


def test_unreachable_endpoint(
    kind: str,
    prefix: str,
    closed_port: int,
    aws_sink_env: dict[str, str],
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    config = secrets_config(aws_config(kind, endpoint, prefix))
    sink_class = AwsSecretsManagerSink if kind == "aws-secrets-manager" else AwsSsmSink
    sink = sink_class.from_config(config, attempts=1)
    expected = f"the {kind} sink could not check {sink.location(REFS[0])}: cannot reach {endpoint}"
    assert refusal(sink).rstrip("/") == expected


def test_reads_each_slot_a_few_at_a_time_and_names_the_first_refusal(make_sink: SinkFactory) -> None:
    sink = make_sink(max_inflight=3)
    refs = [ref("prod", f"p{i:02d}") for i in range(24)]
    plant(sink, sink.slot(refs[20]), "x", {})
    plant(sink, sink.slot(refs[9]), "x", {})
    method = "describe_secret" if isinstance(sink, AwsSecretsManagerSink) else "list_tags_for_resource"
    real = getattr(sink.client, method)
    lock, in_flight, peak, calls = threading.Lock(), [0], [0], [0]

    def counted(**kwargs: Any) -> Any:
        with lock:
            in_flight[0] += 1
            calls[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            time.sleep(0.01)  # long enough for the pool's other reads to overlap
            return real(**kwargs)
        finally:
            with lock:
                in_flight[0] -= 1

    setattr(sink.client, method, counted)
    assert sink.location(refs[9]) in refusal(sink, refs)  # the first in the order asked
    assert peak[0] == 3
    assert 10 <= calls[0] <= len(refs)

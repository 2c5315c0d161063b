"""Issue 10.6: an S3 store that ignores conditional writes is refused before it is trusted with the lock.

The store that ignores them is real: moto's S3 server behind a loopback proxy
(tests/s3/proxy.py) that strips `If-None-Match` / `If-Match`, as the `s3rver`
package the issue was found with does. moto itself honours them, which is why
every other s3 test passes the probe.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ctconfig.config.spec import S3StateConfig
from ctconfig.state.document import State
from ctconfig.state.s3 import S3Backend
from ctconfig.state.s3_probe import ConditionalWritesRefusedError
from tests.s3.proxy import S3Proxy, running
from tests.s3.test_s3_backend import passcode_state
from tests.s3.test_s3_cli import seed, write_config


@pytest.fixture
def ignoring(moto_endpoint: str) -> Iterator[S3Proxy]:
    """An S3 endpoint that ignores conditional writes."""
    with running(S3Proxy(moto_endpoint, strip_conditions=True)) as proxy:
        yield proxy


def through(proxy: S3Proxy, s3_config: dict[str, Any]) -> S3Backend:
    return S3Backend(S3StateConfig.model_validate({**s3_config, "endpoint_url": proxy.url}))


def exists(s3_client: Any, bucket: str, key: str) -> bool:
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix=key)
    return any(item["Key"] == key for item in listed.get("Contents", []))


def test_the_ignoring_store_really_ignores_conditions(
    ignoring: S3Proxy, s3_config: dict[str, Any], s3_client: Any
) -> None:
    """The premise: through the proxy, a second create-only PUT overwrites (moto alone refuses it)."""
    import boto3

    client = boto3.client("s3", endpoint_url=ignoring.url, region_name="us-east-1")
    bucket = s3_config["bucket"]
    client.put_object(Bucket=bucket, Key="k", Body=b"first", IfNoneMatch="*")
    client.put_object(Bucket=bucket, Key="k", Body=b"second", IfNoneMatch="*")
    assert s3_client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"


def test_lock_is_refused_naming_the_endpoint_and_why(
    ignoring: S3Proxy, s3_config: dict[str, Any], s3_client: Any
) -> None:
    store = through(ignoring, s3_config)
    with pytest.raises(ConditionalWritesRefusedError) as caught:
        store.lock("apply")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"refusing the S3 store at {ignoring.url} (bucket {s3_config['bucket']})")
    assert "ignores conditional writes" in message and "412 Precondition Failed" in message
    assert "two runs could both hold the lock" in message
    assert not exists(s3_client, store.bucket, store.lock_key)  # refused before taking it


def test_write_is_refused_too_and_nothing_is_written(
    ignoring: S3Proxy, s3_config: dict[str, Any], s3_client: Any
) -> None:
    store = through(ignoring, s3_config)
    with pytest.raises(ConditionalWritesRefusedError, match="could both hold the lock"):
        store.write(passcode_state(State.new(), "a").next_version(), None)
    assert not exists(s3_client, store.bucket, store.key)


def test_a_store_that_rejects_the_headers_is_refused(
    moto_endpoint: str, s3_config: dict[str, Any]
) -> None:
    refusing = running(S3Proxy(moto_endpoint, refuse_conditions=True))
    with refusing as proxy, pytest.raises(ConditionalWritesRefusedError, match="it answered NotImplemented"):
        through(proxy, s3_config).lock("apply")


def test_the_probe_runs_once_per_bucket_and_process(
    moto_endpoint: str, s3_config: dict[str, Any]
) -> None:
    """First probe: create the probe object, then two PUTs that must fail; later locks: none."""
    with running(S3Proxy(moto_endpoint)) as proxy:
        first = through(proxy, s3_config)
        first.unlock(first.lock("apply"))
        probes = proxy.requests_to("PUT", ".probe")
        assert [sorted(k for k in p.headers if k.startswith("if-")) for p in probes] == [
            ["if-none-match"],
            ["if-none-match"],
            ["if-match"],
        ]
        second = through(proxy, s3_config)
        second.unlock(second.lock("apply"))
        second.write(State.new().next_version(), None)
        assert len(proxy.requests_to("PUT", ".probe")) == 3


def test_the_command_stops_with_one_line_and_leaves_the_state_alone(
    tmp_path: Path,
    ignoring: S3Proxy,
    s3_config: dict[str, Any],
    subprocess_env: dict[str, str],
    run_ctconfig: Any,
) -> None:
    seed(S3Backend(S3StateConfig.model_validate(s3_config)))
    before = S3Backend(S3StateConfig.model_validate(s3_config)).read()
    write_config(tmp_path, {**s3_config, "endpoint_url": ignoring.url})
    result = run_ctconfig("state", "rm", "prod/account_passcode/a", env=subprocess_env)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: refusing the S3 store at {ignoring.url}")
    assert "two runs could both hold the lock" in line
    after = S3Backend(S3StateConfig.model_validate(s3_config)).read()
    assert before is not None and after is not None and after.token == before.token

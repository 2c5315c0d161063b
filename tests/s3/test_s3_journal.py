"""What only the S3 journal promises: its failures and bounds (the contract is in tests/state)."""

from __future__ import annotations

from typing import Any

import pytest

from ctconfig.config.spec import S3StateConfig
from ctconfig.state import s3_journal
from ctconfig.state.document import StateError
from ctconfig.state.journal_store import JournalWriteError
from ctconfig.state.s3 import S3Backend
from tests.s3.proxy import S3Proxy, running


def journal(s3_config: dict[str, Any], **overrides: Any) -> s3_journal.S3JournalStore:
    return S3Backend(S3StateConfig.model_validate({**s3_config, **overrides})).journal()


def test_a_stopped_endpoint_is_a_journal_write_error_naming_the_prefix(
    moto_endpoint: str, s3_config: dict[str, Any]
) -> None:
    with running(S3Proxy(moto_endpoint)) as proxy:
        store = journal(s3_config, endpoint_url=proxy.url)
        store.append([{"n": 1}])
        proxy.stop()
        with pytest.raises(JournalWriteError) as caught:
            store.append([{"n": 2}])
    where = f"s3://{s3_config['bucket']}/{s3_config['key']}.journal/"
    assert caught.value.where == where
    assert caught.value.reason.startswith(f"cannot reach {proxy.url} for s3://")
    message = str(caught.value)
    assert message.startswith(f"cannot write the journal {where}: ") and "\n" not in message
    assert journal(s3_config).entries() == [{"n": 1}]  # the failed batch left nothing behind


def test_an_object_ctconfig_did_not_write_is_refused(s3_config: dict[str, Any], s3_client: Any) -> None:
    store = journal(s3_config)
    store.append([{"n": 1}])
    stray = f"{s3_config['key']}.journal/notes.txt"
    s3_client.put_object(Bucket=s3_config["bucket"], Key=stray, Body=b"hello")
    with pytest.raises(StateError, match=f"s3://{s3_config['bucket']}/{stray} is not a journal object"):
        store.entries()
    store.clear()  # clearing removes it with the rest
    assert store.entries() == []


def test_a_truncated_object_is_refused(s3_config: dict[str, Any], s3_client: Any) -> None:
    key = f"{s3_config['key']}.journal/0000000001-0badc0de.jsonl"
    s3_client.put_object(Bucket=s3_config["bucket"], Key=key, Body=b'{"n": 1}\n{"n": 2')
    with pytest.raises(StateError, match="is truncated"):
        journal(s3_config).entries()


def test_too_many_objects_are_refused_unread(
    s3_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = journal(s3_config)
    for n in range(4):
        store.append([{"n": n}])
    monkeypatch.setattr(s3_journal, "MAX_JOURNAL_OBJECTS", 3)
    with pytest.raises(StateError, match="holds more than 3 objects"):
        store.entries()


def test_an_oversized_batch_is_refused_before_it_is_sent(
    s3_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_journal, "MAX_BATCH_BYTES", 100)
    store = journal(s3_config)
    with pytest.raises(JournalWriteError, match="more than the 100 one append stores"):
        store.append([{"pad": "x" * 200}])
    assert store.entries() == []


class _Stopped(BaseException):
    """The process died here (a failpoint raised it)."""


def test_a_compaction_stopped_before_its_deletes_is_already_in_force(
    s3_config: dict[str, Any], s3_client: Any
) -> None:
    """The base object is the compaction; the objects it supersedes are read no more, and the next
    compaction deletes them."""
    from ctconfig import failpoints

    store = journal(s3_config)
    for n in range(1, 4):
        store.append([{"n": n}])

    def stop(name: str, where: str) -> None:
        raise _Stopped()

    stopped = failpoints.Failpoints([failpoints.Target("s3.delete_objects", 1, stop)])
    with failpoints.armed(stopped), pytest.raises(_Stopped):
        store.replace([{"n": 10}])
    prefix = f"{s3_config['key']}.journal/"
    listed = s3_client.list_objects_v2(Bucket=s3_config["bucket"], Prefix=prefix)["Contents"]
    assert len(listed) == 4 and listed[-1]["Key"].endswith(".base.jsonl")  # three superseded, one base
    assert journal(s3_config).entries() == [{"n": 10}]
    journal(s3_config).append([{"n": 11}])
    assert journal(s3_config).entries() == [{"n": 10}, {"n": 11}]
    journal(s3_config).clear()
    assert "Contents" not in s3_client.list_objects_v2(Bucket=s3_config["bucket"], Prefix=prefix)
    assert journal(s3_config).entries() == []


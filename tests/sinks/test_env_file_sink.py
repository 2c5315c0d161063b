"""The env-file sink: owner comments, one rewrite per batch, foreign lines kept, every failure a SinkError."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ctconfig.secrets import Secret
from ctconfig.sinks import SinkError
from ctconfig.sinks import env_file as env_file_module
from ctconfig.sinks.env_file import EnvFileSink
from tests.sinks.conftest import assert_no_secret, open_to_all, ref, secret_for, store_ok, unprivileged


@pytest.fixture
def sink(tmp_path: Path) -> EnvFileSink:
    return EnvFileSink(tmp_path / "out" / "secrets.env")


def test_each_variable_is_preceded_by_its_owner(sink: EnvFileSink) -> None:
    where = store_ok(
        sink, (ref("prod", "segment-export"), Secret("AMA-AUE-YWUL")), (ref("dev", "x"), Secret("X"))
    )
    assert where == [
        f"env-file {sink.path} (CT_PROD_SEGMENT_EXPORT)",
        f"env-file {sink.path} (CT_DEV_X)",
    ]
    assert sink.path.read_text() == (
        "# ctconfig: prod/account_passcode/segment-export\n"
        "CT_PROD_SEGMENT_EXPORT=AMA-AUE-YWUL\n"
        "# ctconfig: dev/account_passcode/x\n"
        "CT_DEV_X=X\n"
    )
    assert stat.S_IMODE(os.stat(sink.path).st_mode) == 0o600


@pytest.mark.parametrize("value", ["AMA-AUE-YWUL", " padded\t", "a=b=c", "# not a comment", "caf\u00e9"])
def test_store_then_read_is_exact(sink: EnvFileSink, value: str) -> None:
    sink.store(ref("prod", "a"), Secret(value))
    assert sink.read(ref("prod", "a")) == Secret(value)


def test_the_issue_collisions_are_refused_and_the_first_secret_survives(sink: EnvFileSink) -> None:
    first = ref("prod-eu", "braze-sync")
    sink.store(first, Secret("first-secret"))
    for alias, name in [("prod_eu", "braze_sync"), ("prod-eu", "braze sync"), ("prod_eu", "braze.sync")]:
        outcome = sink.store_many([(ref(alias, name), Secret("other-secret"))])[0]
        assert outcome.error is not None
        message = str(outcome.error)
        assert message.startswith(f"env-file {sink.path} (CT_PROD_EU_BRAZE_SYNC) holds the secret of ")
        assert "prod-eu/account_passcode/braze-sync; refusing to overwrite it" in message
        assert_no_secret(message, Secret("first-secret"), Secret("other-secret"))
        assert sink.read(ref(alias, name)) is None
    assert sink.read(first) == Secret("first-secret")
    assert sink.path.read_text().count("CT_PROD_EU_BRAZE_SYNC=") == 1


def test_rotation_replaces_the_line_in_place_and_keeps_foreign_lines(sink: EnvFileSink) -> None:
    sink.path.parent.mkdir()
    sink.path.write_text("# my settings\nOTHER=1\nexport NOT_OURS=2\n\n")
    store_ok(sink, (ref("prod", "a"), Secret("one")), (ref("prod", "b"), Secret("two")))
    store_ok(sink, (ref("prod", "a"), Secret("three")))
    assert sink.path.read_text() == (
        "# my settings\nOTHER=1\nexport NOT_OURS=2\n\n"
        "# ctconfig: prod/account_passcode/a\nCT_PROD_A=three\n"
        "# ctconfig: prod/account_passcode/b\nCT_PROD_B=two\n"
    )


def test_variables_from_before_owners_are_taken_over(sink: EnvFileSink) -> None:
    sink.path.parent.mkdir()
    sink.path.write_text("CT_PROD_A=old\nX=1\nCT_PROD_A=older-duplicate\n")
    assert sink.read(ref("prod", "a")) == Secret("older-duplicate")  # the last one, as a shell sees it
    sink.store(ref("prod", "a"), Secret("new"))
    assert sink.path.read_text() == "# ctconfig: prod/account_passcode/a\nCT_PROD_A=new\nX=1\n"
    with pytest.raises(SinkError, match="holds the secret of prod/account_passcode/a"):
        sink.store(ref("PROD", "A"), Secret("x"))


def test_one_rewrite_per_batch_and_one_bad_item_spares_the_others(
    sink: EnvFileSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[Path] = []
    real = env_file_module.write_atomically

    def counting(path: Path, data: bytes, **kwargs: object) -> None:
        writes.append(path)
        real(path, data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(env_file_module, "write_atomically", counting)
    items = [(ref("prod", f"p{i}"), secret_for(f"p{i}")) for i in range(50)]
    items.insert(7, (ref("prod", "two-lines"), Secret("a\nCT_PROD_P0=injected")))
    items.insert(9, (ref("prod", "P3"), secret_for("dup")))  # same variable as p3, another address
    outcomes = sink.store_many(items)
    assert writes == [sink.path]
    assert [o.stored for o in outcomes].count(False) == 2
    assert "line break" in str(outcomes[7].error)
    assert "holds the secret of prod/account_passcode/p3; refusing" in str(outcomes[9].error)
    assert all(
        sink.read(ref("prod", f"p{i}")) == secret_for(f"p{i}") for i in range(50) if i != 3
    ) and sink.read(ref("prod", "p3")) == secret_for("p3")
    assert "injected" not in sink.path.read_text()


def test_a_failed_write_fails_every_item_of_the_batch(sink: EnvFileSink) -> None:
    sink.path.mkdir(parents=True)  # a directory where the file should be
    outcomes = sink.store_many([(ref("prod", "a"), secret_for("a")), (ref("prod", "b"), secret_for("b"))])
    assert [o.stored for o in outcomes] == [False, False]
    assert str(outcomes[0].error) == f"could not read the env file {sink.path}: Is a directory"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"CT_PROD_A=\xff\xfe\n", "it is not UTF-8 text"),
        (b"X" * (16 << 20) + b"Y", "it holds more than 16777216 bytes"),
    ],
    ids=["not-utf8", "huge"],
)
def test_read_and_store_failures_are_sink_errors(sink: EnvFileSink, content: bytes, expected: str) -> None:
    sink.path.parent.mkdir()
    sink.path.write_bytes(content)
    with pytest.raises(SinkError) as failed:
        sink.read(ref("prod", "a"))
    assert str(failed.value) == f"could not read the env file {sink.path}: {expected}"
    outcome = sink.store_many([(ref("prod", "b"), secret_for("b"))])[0]
    assert str(outcome.error) == f"could not read the env file {sink.path}: {expected}"
    assert sink.path.read_bytes() == content  # untouched
    with pytest.raises(SinkError):
        sink.preflight([ref("prod", "a")])


def test_read_nothing_there(sink: EnvFileSink) -> None:
    assert sink.read(ref("prod", "a")) is None
    sink.path.parent.mkdir()
    sink.path.write_text("CT_PROD_A=\n")
    assert sink.read(ref("prod", "a")) is None


def test_an_unreadable_env_file_is_a_sink_error(tmp_path: Path) -> None:
    shared = open_to_all(tmp_path / "shared")
    shared.mkdir()
    os.chmod(shared, 0o777)
    sink = EnvFileSink(shared / "secrets.env")

    def as_another_user() -> str:
        sink.store(ref("prod", "a"), secret_for("a"))
        os.chmod(sink.path, 0o000)
        messages = []
        try:
            sink.read(ref("prod", "a"))
        except SinkError as exc:
            messages.append(str(exc))
        messages.append(str(sink.store_many([(ref("prod", "b"), secret_for("b"))])[0].error))
        return "\n".join(messages)

    assert (
        unprivileged(as_another_user).split("\n")
        == [f"could not read the env file {sink.path}: Permission denied"] * 2
    )

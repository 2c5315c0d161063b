"""The file sink: exact round trips, owner-only modes, owners recorded, every failure a SinkError."""

from __future__ import annotations

import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ctconfig.secrets import Secret
from ctconfig.sinks import SinkError
from ctconfig.sinks.file import FileSink
from tests.sinks.conftest import (
    NOBODY,
    assert_no_secret,
    open_to_all,
    ref,
    secret_for,
    store_ok,
    unprivileged,
)


@pytest.fixture
def sink(tmp_path: Path) -> FileSink:
    return FileSink(tmp_path / "secrets")


@pytest.mark.parametrize("value", ["AMA-AUE-YWUL", " padded \t", "ends-with-newline\n", "caf\u00e9 \u2603"])
def test_store_then_read_is_exact(sink: FileSink, value: str) -> None:
    where = sink.store(ref("prod", "segment-export"), Secret(value))
    path = sink.directory / "prod" / "segment-export"
    assert where == f"file {path}"
    assert path.read_bytes() == value.encode()
    assert sink.read(ref("prod", "segment-export")) == Secret(value)


def test_directories_it_makes_are_owner_only_and_files_0600(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "deep" / "secrets")
    sink.store(ref("prod", "a"), secret_for("a"))
    for made in (tmp_path / "deep", sink.directory, sink.directory / "prod"):
        assert stat.S_IMODE(os.stat(made).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(sink.directory / "prod" / "a").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(sink.directory / ".prod~owners.log").st_mode) == 0o600
    assert sorted(p.name for p in (sink.directory / "prod").iterdir()) == ["a"]  # no temp file left


def test_an_existing_directory_keeps_its_mode(sink: FileSink) -> None:
    """A sink under a shared directory (the system's temporary directory) must not take its sticky bit."""
    (sink.directory / "prod").mkdir(parents=True)
    os.chmod(sink.directory, 0o1777)
    os.chmod(sink.directory / "prod", 0o755)
    sink.store(ref("prod", "a"), secret_for("a"))
    sink.store(ref("dev", "b"), secret_for("b"))
    assert stat.S_IMODE(os.stat(sink.directory).st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(sink.directory / "prod").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(sink.directory / "dev").st_mode) == 0o700  # made by the sink


def test_a_file_of_another_address_is_never_overwritten(sink: FileSink) -> None:
    first, second = ref("prod", "a\\b"), ref("prod", "a_b")
    sink.store(first, Secret("first-secret"))
    with pytest.raises(SinkError) as refused:
        sink.store(second, Secret("second-secret"))
    message = str(refused.value)
    assert "holds the secret of prod/account_passcode/a\\b" in message and "a_b's" in message
    assert_no_secret(message, Secret("first-secret"), Secret("second-secret"))
    assert sink.read(first) == Secret("first-secret")
    assert sink.read(second) is None  # the slot holds nothing for the second address
    sink.store(first, Secret("rotated"))  # the owner itself may replace its secret
    assert sink.read(first) == Secret("rotated")


def claims(sink: FileSink, account: str) -> dict[str, str]:
    lines = (sink.directory / f".{account}~owners.log").read_text().splitlines()
    return {claim["slot"]: claim["address"] for claim in map(json.loads, lines)}


def test_owners_are_recorded_beside_the_account_directory(sink: FileSink) -> None:
    store_ok(sink, (ref("prod", "Braze"), secret_for("b")), (ref("dev", "x"), secret_for("x")))
    assert claims(sink, "prod") == {"braze": "prod/account_passcode/Braze"}
    assert claims(sink, "dev") == {"x": "dev/account_passcode/x"}


def test_a_batch_appends_its_claims_and_never_rewrites_the_record(sink: FileSink) -> None:
    store_ok(sink, *((ref("prod", f"p{i}"), secret_for(f"p{i}")) for i in range(3)))
    record = sink.directory / ".prod~owners.log"
    before = record.read_bytes()
    inode = record.stat().st_ino
    store_ok(sink, (ref("prod", "p0"), secret_for("again")), (ref("prod", "p3"), secret_for("p3")))
    assert record.stat().st_ino == inode  # the same file, appended to (no temp file and rename)
    after = record.read_bytes()
    assert after.startswith(before) and after[len(before) :].count(b"\n") == 1  # only p3 is new
    assert sink.read(ref("prod", "p0")) == secret_for("again")


def test_the_record_of_earlier_versions_is_read_and_kept(sink: FileSink) -> None:
    """Sinks written by earlier versions hold `.<account>~owners.json`: its claims still hold."""
    (sink.directory / "prod").mkdir(parents=True)
    (sink.directory / "prod" / "a_b").write_bytes(b"OLD-SEC-RET")
    legacy = {"format": 1, "owners": {"a_b": "prod/account_passcode/a\\b"}}
    (sink.directory / ".prod~owners.json").write_text(json.dumps(legacy))
    assert sink.read(ref("prod", "a\\b")) == Secret("OLD-SEC-RET")
    assert sink.read(ref("prod", "a_b")) is None
    with pytest.raises(SinkError, match="holds the secret of prod/account_passcode/a"):
        sink.store(ref("prod", "a_b"), Secret("other"))
    sink.store(ref("prod", "new"), secret_for("new"))
    assert json.loads((sink.directory / ".prod~owners.json").read_text()) == legacy  # never rewritten
    assert claims(sink, "prod") == {"new": "prod/account_passcode/new"}


def test_a_torn_last_claim_is_not_a_claim_and_the_next_one_starts_a_line(sink: FileSink) -> None:
    sink.store(ref("prod", "a"), secret_for("a"))
    record = sink.directory / ".prod~owners.log"
    with record.open("ab") as torn:  # a crash in the middle of an append
        torn.write(b'{"slot": "b", "address": "prod/account_pas')
    assert sink.read(ref("prod", "b")) is None
    sink.store(ref("prod", "b"), secret_for("b"))
    assert sink.read(ref("prod", "b")) == secret_for("b")
    fresh = FileSink(sink.directory)  # another process reads the record from disk
    assert fresh.read(ref("prod", "b")) == secret_for("b")


def test_files_from_before_owners_are_taken_over_and_read_without_their_newline(sink: FileSink) -> None:
    legacy = sink.directory / "prod" / "old"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("AMA-AUE-YWUL\n")  # what the sink used to write
    assert sink.read(ref("prod", "old")) == Secret("AMA-AUE-YWUL")
    sink.store(ref("prod", "old"), Secret("NEW-SEC-RET\n"))
    assert sink.read(ref("prod", "old")) == Secret("NEW-SEC-RET\n")  # recorded now: exact
    with pytest.raises(SinkError, match="holds the secret of prod/account_passcode/old"):
        sink.store(ref("prod", "OLD"), Secret("x"))


def test_a_batch_is_group_committed_and_one_failure_spares_the_others(sink: FileSink) -> None:
    (sink.directory / "prod" / "blocked").mkdir(parents=True)  # a directory where a file should go
    items = [
        (ref("prod", "p1"), secret_for("p1")),
        (ref("prod", "blocked"), secret_for("blocked")),
        (ref("prod", "P1"), secret_for("P1")),  # same file as p1, another address
        (ref("prod", "empty"), Secret("")),
        (ref("dev", "p2"), secret_for("p2")),
        (ref("prod", "big"), Secret("x" * 5000)),
    ]
    outcomes = sink.store_many(items)
    assert [o.ref for o in outcomes] == [r for r, _ in items]
    assert [o.stored for o in outcomes] == [True, False, False, False, True, False]
    errors = [str(o.error) for o in outcomes if o.error]
    assert f"could not write the secret file {sink.directory / 'prod' / 'blocked'}" in errors[0]
    assert "holds the secret of prod/account_passcode/p1" in errors[1]
    assert "empty secret" in errors[2] and "5000 bytes" in errors[3]
    assert all("\n" not in e for e in errors)
    assert_no_secret(" ".join(errors), *(s for _, s in items[:3]))
    assert sink.read(ref("prod", "p1")) == secret_for("p1")
    assert sink.read(ref("dev", "p2")) == secret_for("p2")
    assert [p.name for p in (sink.directory / "prod").iterdir() if p.name.endswith(".tmp")] == []


def test_concurrent_stores_keep_every_secret(sink: FileSink) -> None:
    refs = [ref(f"a{i % 3}", f"p{i}") for i in range(60)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda r: sink.store(r, secret_for(r.name)), refs))
    assert all(sink.read(r) == secret_for(r.name) for r in refs)
    for account in ("a0", "a1", "a2"):
        assert len(claims(sink, account)) == 20


# -- reading: None for "nothing there", SinkError for "could not look" ----------------------


def test_read_nothing_there(sink: FileSink) -> None:
    assert sink.read(ref("prod", "nope")) is None
    sink.store(ref("prod", "a"), secret_for("a"))
    assert sink.read(ref("prod", "nope")) is None
    (sink.directory / "prod" / "empty").write_bytes(b"")
    assert sink.read(ref("prod", "empty")) is None


@pytest.mark.parametrize(
    ("arrange", "expected"),
    [
        (lambda p: p.write_bytes(b"\xff\xfe secret"), "not UTF-8"),
        (lambda p: p.mkdir(), "Is a directory"),
        (lambda p: p.write_bytes(b"x" * 10_000), "more than 4097 bytes"),
        (lambda p: p.symlink_to(p.parent / "elsewhere"), "could not read"),
        (lambda p: os.mkfifo(p), "not a regular file"),
    ],
    ids=["not-utf8", "directory", "huge", "symlink", "fifo"],
)
def test_read_failures_are_sink_errors(sink: FileSink, arrange: object, expected: str) -> None:
    path = sink.directory / "prod" / "x"
    path.parent.mkdir(parents=True)
    (path.parent / "elsewhere").write_text("not-for-you")
    assert callable(arrange)
    arrange(path)
    with pytest.raises(SinkError) as failed:
        sink.read(ref("prod", "x"))
    assert expected in str(failed.value) and str(path) in str(failed.value)


def test_read_through_a_file_where_the_account_directory_should_be(sink: FileSink) -> None:
    sink.directory.mkdir()
    (sink.directory / "prod").write_text("a file")
    with pytest.raises(SinkError, match="Not a directory"):
        sink.read(ref("prod", "x"))
    outcome = sink.store_many([(ref("prod", "x"), secret_for("x"))])[0]
    assert outcome.error is not None and str(sink.directory / "prod") in str(outcome.error)


def test_malformed_owner_record_is_a_sink_error(sink: FileSink) -> None:
    sink.store(ref("prod", "a"), secret_for("a"))
    (sink.directory / ".prod~owners.json").write_text("{not json")
    with pytest.raises(SinkError, match="malformed"):
        sink.read(ref("prod", "a"))
    with pytest.raises(SinkError, match="malformed"):
        sink.store(ref("prod", "b"), secret_for("b"))
    (sink.directory / ".prod~owners.json").unlink()
    with (sink.directory / ".prod~owners.log").open("ab") as log:
        log.write(b"[1, 2]\n")
    with pytest.raises(SinkError, match=r"malformed \(line 2\)"):
        FileSink(sink.directory).read(ref("prod", "a"))


def test_an_unreadable_file_is_a_sink_error(tmp_path: Path) -> None:
    shared = open_to_all(tmp_path / "shared")
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    sink = FileSink(shared / "secrets")

    def as_another_user() -> str:
        sink.store(ref("prod", "a"), secret_for("a"))
        os.chmod(sink.directory / "prod" / "a", 0o000)
        try:
            sink.read(ref("prod", "a"))
        except SinkError as exc:
            return str(exc)
        return "no error"

    message = unprivileged(as_another_user)
    assert message == f"could not read the secret file {sink.directory / 'prod' / 'a'}: Permission denied"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a directory owned by another user")
def test_a_directory_of_another_user_is_a_sink_error(tmp_path: Path) -> None:
    sink = FileSink(open_to_all(tmp_path / "secrets"))
    (sink.directory / "prod").mkdir(parents=True, mode=0o755)
    os.chown(sink.directory, NOBODY, NOBODY)  # the sink's own directory; `prod` stays root's

    def as_another_user() -> str:
        outcome = sink.store_many([(ref("prod", "b"), secret_for("b"))])[0]
        return str(outcome.error)

    message = unprivileged(as_another_user)  # its mode is not changed: writing in it is refused
    assert message == f"could not write the secret file {sink.directory / 'prod' / 'b'}: Permission denied"


def test_preflight_names_a_directory_it_cannot_use(tmp_path: Path) -> None:
    locked = open_to_all(tmp_path / "locked")
    locked.mkdir(mode=0o555)

    def preflight() -> str:
        try:
            FileSink(locked / "secrets").preflight([ref("prod", "a")])
        except SinkError as exc:
            return str(exc)
        return "no error"

    assert (
        unprivileged(preflight)
        == f"cannot write secret files in {locked / 'secrets'}: {locked} is not writable"
    )
    FileSink(tmp_path / "fine").preflight([ref("prod", "a")])
    assert not (tmp_path / "fine").exists()  # a preflight only looks: `plan` writes nothing


def test_secrets_with_nul_or_invalid_unicode_are_refused(sink: FileSink) -> None:
    for value in ("a\0b", "\ud800"):
        with pytest.raises(SinkError, match=r"NUL|Unicode"):
            sink.store(ref("prod", "a"), Secret(value))


def test_a_path_the_system_cannot_take_is_a_sink_error(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "bad\0dir")
    with pytest.raises(SinkError, match="cannot write secret files in"):
        sink.preflight([ref("prod", "a")])
    [outcome] = sink.store_many([(ref("prod", "a"), secret_for("a"))])
    assert outcome.error is not None and "could not prepare the secrets directory" in str(outcome.error)
    with pytest.raises(SinkError, match="could not read"):
        sink.read(ref("prod", "a"))

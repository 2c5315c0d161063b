"""Every sink's preflight: it refuses (one line, no secret) what `store` would fail on, before any
secret exists, and it only looks — `plan` calls it, and `plan` writes nothing.

File and env-file sinks run on real directories; as root (who may write anything) a read-only
directory is checked as the `nobody` user, and a path below a regular file refuses for anyone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ctconfig.secret_slots import owners_file
from ctconfig.sinks import SinkError
from ctconfig.sinks.command import CommandSink
from ctconfig.sinks.env_file import EnvFileSink
from ctconfig.sinks.file import FileSink
from tests.sinks.conftest import NOBODY, open_to_all, ref, secret_for, unprivileged

REFS = [ref("prod", "a"), ref("prod", "b"), ref("stage", "c")]


def refusal(sink: object, refs: list = REFS) -> str:  # type: ignore[type-arg]
    """The preflight's one-line refusal (failing the test if it accepts)."""
    with pytest.raises(SinkError) as refused:
        sink.preflight(refs)  # type: ignore[attr-defined]
    message = str(refused.value)
    assert "\n" not in message
    return message


def refusal_as_nobody(sink: object) -> str:
    """The preflight's refusal where file permissions apply (as `nobody` when the tests run as root)."""

    def preflight() -> str:
        try:
            sink.preflight(REFS)  # type: ignore[attr-defined]
        except SinkError as exc:
            return str(exc)
        return "accepted"

    return unprivileged(preflight)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under `root` with its mode and modification time: what a preflight must not change."""
    return {
        str(p.relative_to(root)): (p.lstat().st_mode, p.lstat().st_mtime_ns)
        for p in [root, *root.rglob("*")]
        if p.exists() or p.is_symlink()
    }


# ---- the file sink ------------------------------------------------------------------------------


def test_file_sink_below_a_regular_file_is_refused_for_anyone(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("not a directory")
    sink = FileSink(tmp_path / "blocker" / "secrets")
    assert refusal(sink) == (
        f"cannot write secret files in {sink.directory}: {tmp_path / 'blocker'} is not a directory"
    )
    assert [o.error is not None for o in sink.store_many([(REFS[0], secret_for("a"))])] == [True]


def test_file_sink_in_place_of_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secrets").write_text("")
    assert refusal(FileSink(tmp_path / "secrets")) == (
        f"cannot write secret files in {tmp_path / 'secrets'}: {tmp_path / 'secrets'} is not a directory"
    )


def test_file_sink_in_a_read_only_directory_is_refused(tmp_path: Path) -> None:
    sink = FileSink(open_to_all(tmp_path / "secrets"))
    (sink.directory / "prod").mkdir(parents=True)
    os.chmod(sink.directory / "prod", 0o500)  # chmod does not stop root: checked as `nobody`
    if os.geteuid() == 0:
        os.chown(sink.directory, NOBODY, NOBODY)
        os.chown(sink.directory / "prod", NOBODY, NOBODY)

    folder = sink.directory / "prod"
    assert refusal_as_nobody(sink) == f"cannot write secret files in {folder}: {folder} is not writable"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a directory owned by another user")
def test_file_sink_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    sink = FileSink(open_to_all(tmp_path / "secrets"))
    (sink.directory / "prod").mkdir(parents=True)
    os.chmod(sink.directory / "prod", 0o777)
    os.chown(sink.directory, NOBODY, NOBODY)  # the sink's own directory; `prod` stays root's

    # `store` would fail to make it 0700 ("Operation not permitted"): the preflight says so first.
    folder = sink.directory / "prod"
    assert (
        refusal_as_nobody(sink)
        == f"cannot write secret files in {folder}: {folder} belongs to another user (uid 0)"
    )


def test_file_sink_slot_of_another_address_is_refused_as_store_would(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "secrets")
    sink.store(ref("prod", "b"), secret_for("b"))
    other = ref("prod", "B")  # the same file on a case-insensitive comparison of slots
    message = refusal(sink, [REFS[0], other])
    [stored] = sink.store_many([(other, secret_for("B"))])
    assert message == str(stored.error)
    assert "holds the secret of prod/account_passcode/b" in message


def test_file_sink_target_that_is_not_a_file_is_refused(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "secrets")
    target = sink.path_for(REFS[1])
    target.mkdir(parents=True)
    expected = f"cannot write the secret file of {REFS[1].address}: {target} is not a regular file"
    assert refusal(sink) == expected


def test_file_sink_malformed_owner_record_is_refused(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "secrets")
    sink.store(REFS[0], secret_for("a"))
    (sink.directory / owners_file("prod")).write_text("{not json\n")  # a whole line, not a torn one
    assert "is malformed" in refusal(sink)


def test_file_sink_preflight_changes_nothing(tmp_path: Path) -> None:
    FileSink(tmp_path / "fresh" / "secrets").preflight(REFS)
    assert list(tmp_path.iterdir()) == []  # no directory made, not even the parent
    sink = FileSink(tmp_path / "secrets")
    sink.store(REFS[0], secret_for("a"))
    os.chmod(sink.directory, 0o755)  # `store` would set it back to 0700; a preflight leaves it
    before = tree(tmp_path)
    sink.preflight(REFS)
    assert tree(tmp_path) == before
    lines = (sink.directory / owners_file("prod")).read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"slot": "a", "address": "prod/account_passcode/a"}]


# ---- the env-file sink --------------------------------------------------------------------------


def test_env_file_below_a_regular_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("")
    sink = EnvFileSink(tmp_path / "blocker" / "ct" / "secrets.env")
    assert refusal(sink) == (
        f"cannot write the env file {sink.path}: {tmp_path / 'blocker'} is not a directory"
    )


def test_env_file_in_a_read_only_directory_is_refused(tmp_path: Path) -> None:
    folder = open_to_all(tmp_path / "ro")
    folder.mkdir(mode=0o555)
    sink = EnvFileSink(folder / "secrets.env")

    assert refusal_as_nobody(sink) == f"cannot write the env file {sink.path}: {folder} is not writable"


def test_env_file_that_cannot_be_read_or_replaced_is_refused(tmp_path: Path) -> None:
    sink = EnvFileSink(tmp_path / "secrets.env")
    sink.path.mkdir()
    assert refusal(sink) == f"cannot write the env file {sink.path}: {sink.path} is not a regular file"
    sink.path.rmdir()
    sink.path.write_bytes(b"CT_OLD=\xff\xfe\n")
    assert refusal(sink) == f"cannot use the env file {sink.path}: it is not UTF-8 text"


def test_env_file_variable_of_another_address_is_refused_as_store_would(tmp_path: Path) -> None:
    sink = EnvFileSink(tmp_path / "secrets.env")
    sink.store(ref("prod-eu", "braze-sync"), secret_for("x"))
    other = ref("prod_eu", "braze sync")  # both CT_PROD_EU_BRAZE_SYNC
    message = refusal(sink, [REFS[0], other])
    [stored] = sink.store_many([(other, secret_for("y"))])
    assert (
        message == str(stored.error) and "holds the secret of prod-eu/account_passcode/braze-sync" in message
    )


def test_env_file_preflight_changes_nothing(tmp_path: Path) -> None:
    EnvFileSink(tmp_path / "ct" / "secrets.env").preflight(REFS)
    assert list(tmp_path.iterdir()) == []
    sink = EnvFileSink(tmp_path / "secrets.env")
    sink.store(REFS[0], secret_for("a"))
    before = tree(tmp_path)
    sink.preflight(REFS)
    assert tree(tmp_path) == before


# ---- the command sink ---------------------------------------------------------------------------


@pytest.fixture
def program(tmp_path: Path) -> Path:
    """A secret command that leaves a mark whenever it runs (a preflight must never run it)."""
    script = tmp_path / "store-secret"
    script.write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran'}\ncat >/dev/null\n")
    script.chmod(0o755)
    return script


def test_command_sink_missing_program_is_refused(tmp_path: Path, program: Path) -> None:
    missing = tmp_path / "no-such-program"
    assert refusal(CommandSink([str(missing)])) == (
        f"the secret command {str(missing)!r} was not found or is not executable"
    )
    assert refusal(CommandSink("FOO=1 no-such-program --put")) == (
        "the secret command 'no-such-program' was not found or is not executable"
    )
    assert refusal(CommandSink(f"sh {tmp_path / 'missing.sh'}")) == (
        f"the secret command's script {str(tmp_path / 'missing.sh')!r} was not found or is not readable"
    )
    program.chmod(0o644)
    assert "is not executable" in refusal(CommandSink([str(program)]))
    assert not (tmp_path / "ran").exists()


def test_command_sink_preflight_accepts_without_running_it(tmp_path: Path, program: Path) -> None:
    for command in (
        [str(program), "--put"],
        f"{program} --put",
        f'set -e; {program} > "$CTCONFIG_SECRET_NAME.log"',
        f"sh {program}",
        'cat > "$HOME/x"',
        "if true; then cat >/dev/null; fi",
    ):
        CommandSink(command).preflight(REFS)
    assert not (tmp_path / "ran").exists()

"""Moving a secret to another address's slot (a rename, an account alias moved): file and env-file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctconfig.sinks import MovesSecrets, SinkError
from ctconfig.sinks.command import CommandSink
from ctconfig.sinks.env_file import EnvFileSink
from ctconfig.sinks.file import FileSink
from tests.sinks.conftest import assert_no_secret, ref, secret_for


def test_the_file_sink_moves_the_file_and_its_owner_entry(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "secrets")
    old, new, secret = ref("prod", "old"), ref("prod-eu", "new"), secret_for("file")
    sink.store(old, secret)
    assert sink.move(old, new) == f"file {tmp_path / 'secrets' / 'prod-eu' / 'new'}"
    assert sink.read(new) == secret and sink.read(old) is None
    assert not (tmp_path / "secrets" / "prod" / "old").exists()
    lines = (tmp_path / "secrets" / ".prod~owners.log").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"slot": "old", "address": "prod/account_passcode/old"},
        {"slot": "old", "address": None},  # released: appended, the record is never rewritten
    ]
    moved = (tmp_path / "secrets" / ".prod-eu~owners.log").read_text().splitlines()
    claim = {"slot": "new", "address": "prod-eu/account_passcode/new"}
    assert [json.loads(line) for line in moved] == [claim]
    assert FileSink(tmp_path / "secrets").read(old) is None  # read from disk by another process
    assert (tmp_path / "secrets" / "prod-eu" / "new").stat().st_mode & 0o777 == 0o600


def test_the_file_sink_refuses_a_slot_another_address_owns_and_keeps_the_secret(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    old, taken, same_file = ref("prod", "old"), ref("prod", "a_b"), ref("prod", "a/b")
    sink.store(old, secret_for("old"))
    sink.store(taken, secret_for("taken"))
    with pytest.raises(SinkError) as refused:
        sink.move(old, same_file)
    assert "holds the secret of prod/account_passcode/a_b" in str(refused.value)
    assert_no_secret(str(refused.value), secret_for("old"), secret_for("taken"))
    assert sink.read(old) == secret_for("old") and sink.read(taken) == secret_for("taken")
    with pytest.raises(SinkError, match="holds no secret of prod/account_passcode/gone to move"):
        sink.move(ref("prod", "gone"), ref("prod", "anywhere"))


def test_the_file_sink_hands_a_shared_file_to_its_new_address(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    old, new, secret = ref("prod", "a/b"), ref("prod", "a_b"), secret_for("shared")
    assert sink.path_for(old) == sink.path_for(new)
    sink.store(old, secret)
    sink.move(old, new)
    assert sink.read(new) == secret and sink.read(old) is None


def test_the_env_file_sink_renames_the_variable_in_one_rewrite_keeping_other_lines(tmp_path: Path) -> None:
    path = tmp_path / "ct.env"
    path.write_text("# mine\nOTHER=1\n")
    sink = EnvFileSink(path)
    old, new, secret = ref("prod", "old"), ref("prod", "new"), secret_for("env")
    sink.store(old, secret)
    assert sink.move(old, new) == f"env-file {path} (CT_PROD_NEW)"
    assert path.read_text() == (
        f"# mine\nOTHER=1\n# ctconfig: prod/account_passcode/new\nCT_PROD_NEW={secret.reveal()}\n"
    )
    assert sink.read(new) == secret and sink.read(old) is None
    sink.store(old, secret_for("again"))
    sink.store(ref("prod", "a_b"), secret_for("taken"))
    with pytest.raises(SinkError, match="holds the secret of prod/account_passcode/a_b"):
        sink.move(old, ref("prod", "a-b"))  # CT_PROD_A_B too
    assert sink.read(old) == secret_for("again")


def test_the_env_file_sink_hands_a_shared_variable_to_its_new_address(tmp_path: Path) -> None:
    sink = EnvFileSink(tmp_path / "ct.env")
    old, new, secret = ref("prod", "braze sync"), ref("prod", "braze-sync"), secret_for("shared")
    sink.store(old, secret)
    sink.move(old, new)
    assert (tmp_path / "ct.env").read_text() == (
        f"# ctconfig: prod/account_passcode/braze-sync\nCT_PROD_BRAZE_SYNC={secret.reveal()}\n"
    )


def test_which_sinks_can_move(tmp_path: Path) -> None:
    assert isinstance(FileSink(tmp_path), MovesSecrets)
    assert isinstance(EnvFileSink(tmp_path / "x.env"), MovesSecrets)
    assert not isinstance(CommandSink("true"), MovesSecrets)

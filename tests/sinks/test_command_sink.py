"""The command sink: one process per secret, the secret exactly on stdin, failures as one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ctconfig.secrets import Secret
from ctconfig.sinks import SinkError
from ctconfig.sinks.command import CommandSink
from tests.sinks.conftest import assert_no_secret, ref, secret_for

RECORD = """
import json, os, sys
data = sys.stdin.buffer.read()
names = ("CTCONFIG_ADDRESS", "CTCONFIG_ACCOUNT", "CTCONFIG_ACCOUNT_ID", "CTCONFIG_NAME",
         "CTCONFIG_SECRET_NAME")
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({"stdin": data.decode(), **{n: os.environ[n] for n in names}}) + "\\n")
if b"fail" in data:
    print("a progress line", file=sys.stderr)
    print("could not store " + data.decode().strip() + " for you", file=sys.stderr)
    sys.exit(3)
"""


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[CommandSink, Path]:
    script, record = tmp_path / "record.py", tmp_path / "record.jsonl"
    script.write_text(RECORD)
    return CommandSink([sys.executable, str(script), str(record)]), record


def test_each_secret_is_piped_exactly_with_its_names(recorder: tuple[CommandSink, Path]) -> None:
    sink, record = recorder
    items = [
        (ref("prod-eu", "braze sync"), Secret(" AMA-AUE-YWUL\n")),
        (ref("dev", "x"), Secret("caf\u00e9")),
    ]
    assert [o.result() for o in sink.store_many(items)] == [
        "command sink (CT_PROD_EU_BRAZE_SYNC)",
        "command sink (CT_DEV_X)",
    ]
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert calls == [
        {
            "stdin": " AMA-AUE-YWUL\n",
            "CTCONFIG_ADDRESS": "prod-eu/account_passcode/braze sync",
            "CTCONFIG_ACCOUNT": "prod-eu",
            "CTCONFIG_ACCOUNT_ID": "TEST-R78-ZZK-955Z",
            "CTCONFIG_NAME": "braze sync",
            "CTCONFIG_SECRET_NAME": "CT_PROD_EU_BRAZE_SYNC",
        },
        {
            "stdin": "caf\u00e9",
            "CTCONFIG_ADDRESS": "dev/account_passcode/x",
            "CTCONFIG_ACCOUNT": "dev",
            "CTCONFIG_ACCOUNT_ID": "TEST-R78-ZZK-955Z",
            "CTCONFIG_NAME": "x",
            "CTCONFIG_SECRET_NAME": "CT_DEV_X",
        },
    ]


def test_a_failing_item_spares_the_others_and_its_reason_hides_the_secret(
    recorder: tuple[CommandSink, Path],
) -> None:
    sink, record = recorder
    failing = Secret("fail-SECRET-123")
    items = [(ref("p", "a"), secret_for("a")), (ref("p", "b"), failing), (ref("p", "c"), secret_for("c"))]
    outcomes = sink.store_many(items)
    assert [o.stored for o in outcomes] == [True, False, True]
    assert str(outcomes[1].error) == (
        f"secret command {sys.executable} for CT_P_B exited with status 3: could not store <redacted> for you"
    )
    assert len(record.read_text().splitlines()) == 3
    with pytest.raises(SinkError):
        sink.store(ref("p", "b"), failing)


def test_a_shell_command_string(tmp_path: Path) -> None:
    sink = CommandSink(f'cat > "{tmp_path}/$CTCONFIG_SECRET_NAME"')
    sink.store(ref("prod", "a"), Secret("exact\t"))
    assert (tmp_path / "CT_PROD_A").read_text() == "exact\t"
    assert sink.read(ref("prod", "a")) is None and sink.can_read_back is False


def test_a_missing_command_is_a_sink_error(tmp_path: Path) -> None:
    sink = CommandSink([str(tmp_path / "nope")])
    with pytest.raises(SinkError, match="was not found"):
        sink.preflight([ref("prod", "a")])
    with pytest.raises(SinkError, match="No such file or directory"):
        sink.store(ref("prod", "a"), secret_for("a"))
    CommandSink(["sh", "-c", "true"]).preflight([ref("prod", "a")])


def test_a_command_that_hangs_is_stopped() -> None:
    sink = CommandSink(["sleep", "30"], timeout=0.2)
    with pytest.raises(SinkError, match=r"did not finish in 0\.2s"):
        sink.store(ref("prod", "a"), secret_for("a"))


def test_a_command_that_prints_the_secret_is_redacted(tmp_path: Path) -> None:
    sink = CommandSink('secret=$(cat); echo "$secret"; echo "rejected $secret" >&2; exit 1')
    with pytest.raises(SinkError) as failed:
        sink.store(ref("prod", "a"), secret_for("a"))
    assert str(failed.value).endswith("exited with status 1: rejected <redacted>")
    assert_no_secret(str(failed.value), secret_for("a"))

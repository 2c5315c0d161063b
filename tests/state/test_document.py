"""The state document: typed records, strict validation of every read, and format 1 still loading."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ctconfig.domain import Address
from ctconfig.schema_files import render
from ctconfig.state.document import (
    AccountPasscodeRecord,
    Origin,
    SettingsRecord,
    State,
    StateError,
    UserPasscodeRecord,
    state_json_schema,
)
from tests.records import grant, passcode, settings, state

ROOT = Path(__file__).parents[2]
FORMAT_1 = ROOT / "tests" / "fixtures" / "state-format-1.json"


def from_data(data: dict[str, Any], source: str) -> State:
    return State.from_json(data, source)


def from_text(data: dict[str, Any], source: str) -> State:
    """`loads` validates a current document straight from its text: it must refuse alike."""
    return State.loads(json.dumps(data), source)


READERS = pytest.mark.parametrize("read", [from_data, from_text], ids=["from_json", "loads"])


def document(**changes: Any) -> dict[str, Any]:
    data = state({"prod/account_passcode/a": passcode("a"), "prod/settings": settings()}, serial=4).to_json()
    data.update(changes)
    return data


def test_a_state_written_by_ctconfig_0_1_loads_as_typed_records() -> None:
    """The fixture is a real 0.1 state (apply, a rotation, a hand-made passcode adopted, a taint)."""
    loaded = State.loads(FORMAT_1.read_text(), "fixture")
    records = {str(a): r for a, r in loaded.resources.items()}
    braze = records["demo/account_passcode/braze-sync"]
    assert isinstance(braze, AccountPasscodeRecord)
    assert (braze.expires_in, braze.origin, braze.secret_known) == (None, Origin.CREATED, True)
    retiring = records["demo/account_passcode/braze-sync~retiring-20261129"]
    assert isinstance(retiring, AccountPasscodeRecord)
    assert retiring.retire_after == datetime(2026, 12, 6, 20, 16, 7, tzinfo=UTC)
    manual = records["demo/account_passcode/manual"]
    assert isinstance(manual, AccountPasscodeRecord)
    assert (manual.origin, manual.secret_fingerprint) == (Origin.ADOPTED, None)
    tainted = records["demo/account_passcode/nightly-report"]
    assert isinstance(tainted, AccountPasscodeRecord)
    assert tainted.tainted and tainted.tainted.startswith("secret sink failed") and not tainted.secret_known
    segment = records["demo/account_passcode/segment-export"]
    assert isinstance(segment, AccountPasscodeRecord) and segment.prevent_destroy and segment.expires_in == 90
    alice = records["demo/user_passcode/alice@example.com"]
    assert isinstance(alice, UserPasscodeRecord) and alice.validity == 365
    assert records["demo/settings"] == SettingsRecord("TEST-R78-ZZK-955Z", "account")
    rewritten = json.loads(loaded.dumps())
    assert (
        rewritten["format_version"] == 2
        and rewritten["lineage"] == json.loads(FORMAT_1.read_text())["lineage"]
    )
    assert State.loads(loaded.dumps()) == loaded


def test_the_document_round_trips_and_is_canonical() -> None:
    original = state(
        {"prod/account_passcode/a": passcode("a"), "prod/user_passcode/b@example.com": grant("b@example.com")}
    )
    text = original.dumps()
    assert State.loads(text) == original
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"serial": -7}, "serial: Input should be greater than or equal to 0"),
        ({"serial": 4.9}, "serial: Input should be a valid integer"),
        ({"serial": True}, "serial: Input should be a valid integer"),
        ({"serial": "4"}, "serial: Input should be a valid integer"),
        ({"lineage": "not-a-uuid"}, "lineage: String should match pattern"),
        ({"format_version": 7}, "format_version 7 is not one this ctconfig reads"),
        ({"extra": 1}, "extra: Unexpected keyword argument"),
    ],
)
@READERS
def test_a_hand_edited_document_is_refused_naming_the_field(
    changes: dict[str, Any], problem: str, read: Any
) -> None:
    with pytest.raises(StateError) as caught:
        read(document(**changes), "ctconfig.state.json")
    message = str(caught.value)
    assert message.startswith("ctconfig.state.json: ") and problem in message
    assert "\n" not in message


def test_missing_resources_is_refused_rather_than_dropping_every_fingerprint() -> None:
    data = document()
    del data["resources"]
    with pytest.raises(StateError, match="resources: Field required"):
        State.from_json(data, "s.json")


@pytest.mark.parametrize(
    ("address", "record", "problem"),
    [
        ("prod/account_passcode/a", {"kind": "account_passcode"}, "Field required"),
        (
            "prod/account_passcode/a",
            {**passcode("a").__dict__, "expires_in": "soon"},
            "expected a number of days",
        ),
        ("prod/settings", {"kind": "settings", "account_id": "X", "passcode_mode": "both"}, "passcode_mode"),
        ("prod/settings", {"kind": "nonsense"}, "does not match any of the expected tags"),
        ("prod/user_passcode/x@example.com", settings().__dict__, "a settings record under this address"),
        ("no address", settings().__dict__, "is not a resource address"),
    ],
)
@READERS
def test_a_malformed_record_is_refused(address: str, record: dict[str, Any], problem: str, read: Any) -> None:
    data = document()
    data["resources"] = {address: json.loads(json.dumps(record, default=str))}
    with pytest.raises(StateError, match=problem):
        read(data, "s.json")


def test_reading_the_text_and_reading_the_data_give_the_same_state() -> None:
    """Every record kind and optional field, names beyond ASCII, and times in other zones."""
    data = state(
        {
            "prod/account_passcode/ünïcode-export": passcode("ünïcode-export"),
            "prod/account_passcode/gone": passcode("gone"),
            "prod/user_passcode/b@example.com": grant("b@example.com"),
            "prod/settings": settings(),
        },
        serial=9,
    ).to_json()
    data["resources"]["prod/account_passcode/gone"].update(
        tainted="secret sink failed", retire_after="2026-12-06T21:16:07+01:00", secret_fingerprint=None
    )
    from_text_ = State.loads(json.dumps(data, ensure_ascii=False).encode(), "s.json")
    assert from_text_ == State.from_json(data, "s.json")
    gone = from_text_.resources[Address.parse("prod/account_passcode/gone")]
    assert isinstance(gone, AccountPasscodeRecord)
    assert gone.retire_after == datetime(2026, 12, 6, 20, 16, 7, tzinfo=UTC)
    assert gone.retire_after.tzinfo is UTC


def test_odd_json_is_one_clear_error() -> None:
    for text in ("[]", "null", '"x"', "{", "\xff"):
        with pytest.raises(StateError, match=r"s\.json: not"):
            State.loads(text.encode("latin-1") if text == "\xff" else text, "s.json")


def test_the_state_schema_is_generated_and_describes_real_documents() -> None:
    committed = json.loads((ROOT / "schemas" / "state.schema.json").read_text())
    assert committed == json.loads(render("state.schema.json"))
    assert committed == json.loads(json.dumps(state_json_schema()))
    jsonschema.validate(json.loads(State.loads(FORMAT_1.read_text()).dumps()), committed)


def test_the_records_keep_their_address_type() -> None:
    loaded = State.loads(document()["resources"] and json.dumps(document()))
    assert all(isinstance(a, Address) for a in loaded.resources)

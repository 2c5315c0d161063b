"""slots.py names every sink's slots; validate's collision check and the sinks agree on them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from ctconfig.config.spec import SecretsConfig
from ctconfig.domain import Address
from ctconfig.secret_slots import (
    address_tag,
    collisions,
    env_name,
    problems,
    slot_name,
    slot_of,
    tag_address,
)
from ctconfig.secrets import Secret
from ctconfig.sinks.env_file import EnvFileSink
from ctconfig.sinks.file import FileSink
from tests.sinks.conftest import ref

SINKS: dict[str, dict[str, Any]] = {
    "file": {"sink": "file", "path": "secrets"},
    "env-file": {"sink": "env-file", "path": "secrets.env"},
    "command": {"sink": "command", "command": "cat"},
    "aws-secrets-manager": {"sink": "aws-secrets-manager", "prefix": "ctconfig/"},
    "aws-ssm": {"sink": "aws-ssm", "prefix": "/ctconfig/"},
}


def config(kind: str, **extra: Any) -> Any:
    return TypeAdapter(SecretsConfig).validate_python({**SINKS[kind], **extra})


def pc(account: str, name: str) -> Address:
    return Address.account_passcode(account, name)


def test_the_issue_examples_share_one_env_slot() -> None:
    names = ["braze-sync", "braze_sync", "braze sync", "braze.sync"]
    addresses = [pc(alias, name) for alias in ("prod-eu", "prod_eu") for name in names]
    assert {env_name(a) for a in addresses} == {"CT_PROD_EU_BRAZE_SYNC"}
    for kind in ("env-file", "command"):
        found = collisions(config(kind), addresses)
        assert [(first, second) for first, second, _ in found] == [(addresses[0], a) for a in addresses[1:]]
        assert {slot for _, _, slot in found} == {"CT_PROD_EU_BRAZE_SYNC"}


def test_file_slots_collide_on_backslash_and_case() -> None:
    found = collisions(
        config("file"), [pc("prod", "a\\b"), pc("prod", "a_b"), pc("prod", "A_B"), pc("x", "y")]
    )
    assert [(str(f.name), str(s.name), slot) for f, s, slot in found] == [
        ("a\\b", "a_b", "prod/a_b"),
        ("a\\b", "A_B", "prod/A_B"),
    ]
    # a name that is the same text in NFC and NFD is one file on macOS
    assert collisions(config("file"), [pc("p", "caf\u00e9"), pc("p", "cafe\u0301")])
    assert not collisions(config("file"), [pc("p", "a-b"), pc("p", "a.b"), pc("p", "a b")])


@pytest.mark.parametrize(
    ("kind", "prefix", "name", "expected"),
    [
        ("aws-secrets-manager", "ctconfig/", "braze sync!", "ctconfig/prod/braze_sync_"),
        ("aws-secrets-manager", "", "a+b=c@d.e-f", "prod/a+b=c@d.e-f"),
        ("aws-ssm", "/ctconfig/", "a+b=c@d.e-f", "/ctconfig/prod/a_b_c_d.e-f"),
        ("aws-ssm", "/team/ct/", "\u00fcber", "/team/ct/prod/_ber"),
        ("file", None, "../x\\y", "prod/.._x_y"),
        ("file", None, "..", "prod/_.."),
        ("env-file", None, "stra\u00dfe-1", "CT_PROD_STRASSE_1"),
    ],
)
def test_slot_names(kind: str, prefix: str | None, name: str, expected: str) -> None:
    extra = {"prefix": prefix} if prefix is not None else {}
    assert slot_name(config(kind, **extra), pc("prod", name)) == expected


def test_aws_slots_keep_what_aws_allows_apart() -> None:
    addresses = [pc("prod", "a@b"), pc("prod", "a+b"), pc("prod", "a b")]
    assert not collisions(config("aws-secrets-manager"), addresses)
    found = collisions(config("aws-ssm"), addresses)  # SSM allows neither '@' nor '+'
    assert [slot for _, _, slot in found] == ["/ctconfig/prod/a_b", "/ctconfig/prod/a_b"]


def test_problems_name_what_a_sink_cannot_hold() -> None:
    long_alias = "a" * 600
    assert problems(config("aws-secrets-manager"), [pc("prod", "x")]) == []
    [(address, why)] = problems(config("aws-secrets-manager"), [pc(long_alias, "x"), pc("prod", "x")])
    assert address.account == long_alias and "longer than 512" in why
    [(_, why)] = problems(config("aws-ssm", prefix="/"), [pc("ssm-team", "x")])
    assert "reserves" in why
    assert problems(config("aws-ssm", prefix="/ct/"), [pc("ssm-team", "x")]) == []
    [(_, why)] = problems(config("file"), [pc("prod", "\U0001f600" * 64)])
    assert "255" in why
    [(_, why)] = problems(config("aws-ssm"), [pc("p", "\u00e9" * 64), pc("p" * 200, "x" * 64)])
    assert "tag" in why
    assert problems(config("env-file"), [pc(long_alias, "x")]) == []


def test_address_tags_round_trip() -> None:
    plain, odd = pc("prod", "braze sync"), pc("prod", "a\\b#c\u00e9")
    assert address_tag(plain) == "prod/account_passcode/braze sync"
    assert address_tag(odd).startswith("b64:")
    assert set(address_tag(odd)[4:]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
    )
    assert tag_address(address_tag(odd)) == str(odd)
    assert tag_address("b64:!!") == "b64:!!"


NAMES = st.text(alphabet=st.sampled_from(list("abAB_-. \\\u00e9\u00c9e\u0301/")), min_size=1, max_size=6).map(
    lambda s: s.replace("/", "_")
)


@given(first=NAMES, second=NAMES)
def test_file_and_env_sinks_refuse_exactly_what_slots_calls_a_collision(first: str, second: str) -> None:
    """Whatever two names are, the sink stores both iff slots.py gives them different slots."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sinks = {"file": FileSink(root / "secrets"), "env-file": EnvFileSink(root / "secrets.env")}
        for kind, sink in sinks.items():
            refs = [ref("prod", first), ref("prod", second)]
            secrets = [Secret("s-one"), Secret("s-two")]
            outcomes = [sink.store_many([(r, s)])[0] for r, s in zip(refs, secrets, strict=True)]
            shared = slot_of(config(kind), refs[0].address) == slot_of(config(kind), refs[1].address)
            same_address = refs[0] == refs[1]
            assert outcomes[0].stored
            assert outcomes[1].stored == (same_address or not shared), (kind, first, second)
            if kind == "file":
                written = os.path.join(root, "secrets", slot_name(config(kind), refs[0].address))
                assert os.path.isfile(written)
            if not shared:
                assert [sink.read(r) for r in refs] == secrets

"""Secrets look like CleverTap's, the shape is known in one place, and no secret is issued twice."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from ctconfig import domain
from ctconfig.domain import PASSCODE_SHAPES, passcode_shape_problem
from ctconfig.sandbox import SandboxStore, rules, schema

ACCOUNT = "W9R-486-4W5Z"


@pytest.mark.parametrize("text", ["AMA-AUE-YWUL", "AMA-AUE-YWU", "0123456789abcdef0123456789ABCDEF"])
def test_both_shapes_seen_in_the_wild_are_accepted(text: str) -> None:
    assert passcode_shape_problem(text) is None


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("ama-aue-ywul", "12 characters including lower-case letters"),
        (" QXK-RMB-TWAZ\n", "14 characters including spaces or line breaks"),
        ("QXK_RMB_TWAZ", "12 characters including punctuation other than '-'"),
        ("QXK-RMB", "7 characters"),
        ("0123456789abcdef0123456789abcde", "31 characters including lower-case letters"),
        ("", "nothing"),
    ],
)
def test_anything_else_is_refused_in_words_without_quoting_it(text: str, described: str) -> None:
    problem = passcode_shape_problem(text)
    assert problem == (
        "a CleverTap passcode is upper-case letter groups such as AMA-AUE-YWUL or 32 hex "
        f"characters; got {described}"
    )
    if text.strip():
        assert text.strip() not in problem


def test_the_store_issues_the_letter_shape_for_account_and_user_passcodes(
    store: SandboxStore,
) -> None:
    _, account_secret = store.create_passcode(ACCOUNT, "api", 30)
    admin_secret = store.issue_admin_passcode(ACCOUNT)
    store.grant_user_passcode(ACCOUNT, "alice@example.com", 30)
    shape = "-".join(f"[A-Z]{{{size}}}" for size in domain.LETTER_GROUPS)
    for secret in (account_secret, admin_secret):
        assert re.fullmatch(shape, secret)
        assert passcode_shape_problem(secret) is None
    assert domain.LETTER_GROUPS == (3, 3, 4)  # AMA-AUE-YWUL
    assert set(PASSCODE_SHAPES) == {"upper-case letter groups such as AMA-AUE-YWUL", "32 hex characters"}


def test_every_letter_is_equally_likely() -> None:
    """Letters are drawn from bytes below 234 (9 x 26). A plain `byte % 26` would give W-Z
    8.6 % fewer draws than fair; the bound below is 5 % (7 standard deviations)."""
    drawn = Counter(ch for _ in range(50_000) for ch in rules.new_secret() if ch != "-")
    expected = 50_000 * sum(domain.LETTER_GROUPS) / 26  # ~19,230 each; sd ~136
    assert set(drawn) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert all(abs(count - expected) < 0.05 * expected for count in drawn.values()), drawn


def test_a_drawn_secret_the_store_already_holds_is_drawn_again(
    store: SandboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, taken = store.create_passcode(ACCOUNT, "first", 30)
    admin = store.issue_admin_passcode(ACCOUNT)
    draws = iter([taken, admin, taken, "QQQ-RRR-SSSS"])
    monkeypatch.setattr(rules, "new_secret", lambda: next(draws))
    _, fresh = store.create_passcode(ACCOUNT, "second", 30)
    assert fresh == "QQQ-RRR-SSSS"
    assert store.authenticate(ACCOUNT, taken).name == "first"  # type: ignore[union-attr]


def test_a_broken_random_source_fails_loudly_instead_of_sharing_a_secret(
    store: SandboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, taken = store.create_passcode(ACCOUNT, "first", 30)
    monkeypatch.setattr(rules, "new_secret", lambda: taken)
    with pytest.raises(RuntimeError, match=f"drew {schema.SECRET_DRAWS} secrets"):
        store.create_passcode(ACCOUNT, "second", 30)
    assert [p.name for p in store.read(ACCOUNT).passcodes] == ["first"]


def test_secrets_are_unique_across_accounts_too(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SandboxStore(db_path) as store:
        store.ensure_account("OTHER-1")
        store.ensure_account(ACCOUNT)
        _, taken = store.create_passcode("OTHER-1", "p", 30)
        draws = iter([taken, "QQQ-RRR-SSSS"])
        monkeypatch.setattr(rules, "new_secret", lambda: next(draws))
        _, fresh = store.create_passcode(ACCOUNT, "p", 30)
    assert fresh == "QQQ-RRR-SSSS"

"""One duration grammar: `ctconfig.durations`, and everything that reads durations through it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ctconfig import domain, durations
from ctconfig.cli import cli
from ctconfig.config.loader import load_config
from ctconfig.durations import DurationError, days_pattern, format_days, parse_days, parse_seconds


@pytest.mark.parametrize(
    ("text", "days"),
    [("90d", 90), ("90D", 90), ("90", 90), (90, 90), ("0090d", 90), ("0", 0), ("36500d", 36500)],
)
def test_days_in_every_spelling(text: object, days: int) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize("word", ["forever", "Forever", "FOREVER"])
def test_the_unbounded_word_in_any_case(word: str) -> None:
    assert parse_days(word, "forever") is None
    with pytest.raises(DurationError, match="expected a number of days such as 90d or 'infinite'"):
        parse_days(word, "infinite")


@pytest.mark.parametrize(
    "value",
    ["90 d", " 90d", "90days", "9.5d", "-1", "-1d", "d", "", "1e3", True, 9.0, None, [90], "\u0669\u0660d"],
)
def test_anything_else_is_refused_saying_what_is_expected(value: object) -> None:
    with pytest.raises(DurationError, match=r"^expected "):
        parse_days(value, "forever")


def test_bounds_are_checked_without_converting_huge_numbers() -> None:
    with pytest.raises(DurationError, match="expected 1 to 365 days, or 'infinite'"):
        parse_days("366d", "infinite", minimum=1, maximum=365)
    with pytest.raises(DurationError, match="expected 0 to 36500 days"):
        parse_days("9" * 50_000 + "d")  # longer than int() may convert
    with pytest.raises(DurationError, match="expected 0 to 36500 days"):
        parse_days(10**100)
    assert parse_days("99999999d", maximum=None) == 99_999_999


def test_formatting_is_the_canonical_spelling() -> None:
    assert format_days(90) == "90d"
    assert format_days(None) == "forever"
    assert format_days(None, "infinite") == "infinite"
    for days in (0, 1, 90, 36500):
        assert parse_days(format_days(days)) == days


def test_domain_delegates_to_durations() -> None:
    assert domain.format_days(30, "infinite") == "30d"
    assert domain.parse_days_text("infinite") is None and domain.parse_days_text("forever") is None
    assert domain.parse_days_text("90d") == 90
    assert domain.parse_days_text("400000d") == 400_000  # an account's report is read back unbounded
    with pytest.raises(ValueError, match="expected a number of days"):
        domain.parse_days_text("soon")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("30", 30),
        ("30s", 30),
        ("2m", 120),
        ("1h", 3600),
        ("1d", 86400),
        ("1D12H", 129600),
        ("1.5m", 90),
    ],
)
def test_seconds_in_every_spelling(text: object, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("value", ["", "s", "-1s", "1w", "1e999", "nan", "inf", True, float("inf"), "1 h"])
def test_seconds_refuse_anything_else(value: object) -> None:
    with pytest.raises(DurationError, match=r"^expected a duration"):
        parse_seconds(value)


def test_seconds_are_bounded() -> None:
    with pytest.raises(DurationError, match="expected a duration from 0 to 1d"):
        parse_seconds("25h", maximum=86400)


@pytest.mark.parametrize(
    ("minimum", "maximum", "word"),
    [(0, 36500, None), (1, 36500, "forever"), (1, 365, "infinite"), (7, 1234, None)],
)
def test_the_schema_pattern_accepts_exactly_what_parse_days_accepts(
    minimum: int, maximum: int, word: str | None
) -> None:
    pattern = re.compile(days_pattern(minimum, maximum, word))
    texts = [f"{n}{suffix}" for n in range(0, 40_000) for suffix in ("", "d")[: 1 + (n % 7 == 0)]]
    texts += ["0090D", "00", "forever", "Infinite", "INFINITE", "90 d", "d", "", "-5", "1e3"]
    for text in texts:
        try:
            parse_days(text, word, minimum=minimum, maximum=maximum)
            accepted = True
        except DurationError:
            accepted = False
        assert bool(pattern.match(text)) is accepted, text


def test_config_types_use_the_one_grammar(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\ndefaults: {rotation_overlap: 3D}\naccounts:\n  p:\n    id: W9R-486-4W5Z\n"
        "    account_passcodes: {a: {expires_in: FOREVER}, b: {expires_in: 0030d, rotate_before: 7D}}\n"
        "    user_passcodes: {x@example.com: {validity: Infinite}}\n"
    )
    config = load_config(path, environ={}).config
    account = config.accounts["p"]
    assert config.defaults.rotation_overlap == 3
    assert account.account_passcodes["a"].expires_in is None
    assert (account.account_passcodes["b"].expires_in, account.account_passcodes["b"].rotate_before) == (
        30,
        7,
    )
    assert account.user_passcodes["x@example.com"].validity is None


def test_click_parameters_use_the_one_grammar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("ctconfig.yaml").write_text("version: 1\n")
    runner = CliRunner()
    bad_timeout = runner.invoke(cli, ["apply", "--lock-timeout", "2 weeks"])
    assert bad_timeout.exit_code == 2
    assert "'2 weeks' is not a duration such as 30s, 2m, 1h or 1d" in bad_timeout.output
    too_long = runner.invoke(cli, ["apply", "--lock-timeout", "2d"])
    assert too_long.exit_code == 2 and "'2d' is not a duration from 0 to 1d" in too_long.output
    advanced = runner.invoke(cli, ["sandbox", "clock", "advance", "1D12H"])
    assert advanced.exit_code == 0, advanced.output
    assert "(1d 12h 0m ahead of real time)" in advanced.output
    bad_days = runner.invoke(cli, ["sandbox", "passcode", "add", "prod", "x", "--expires-in", "soon"])
    assert bad_days.exit_code == 2
    assert "'soon' is not a number of days such as 90d or 'forever'" in bad_days.output


def test_the_module_names_its_words_once() -> None:
    assert durations.UNBOUNDED_WORDS == (durations.FOREVER, durations.INFINITE) == ("forever", "infinite")

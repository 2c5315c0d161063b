"""`ctconfig fmt` through the installed command: canonical layout, comments kept, --check."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunCtconfig

REPO = Path(__file__).resolve().parents[2]

MESSY = """\
# yaml-language-server: $schema=../schemas/ctconfig.schema.json
accounts:
    prod:   # production
        account_passcodes:
            export: {rotate_before: 14, expires_in: 90}   # for the warehouse
            sync:
                prevent_destroy: true
                expires_in: Forever
        id: W9R-486-4W5Z
        user_passcodes:
            alice@example.com: {reset_before: 30, validity: INFINITE}
        region: in1
version: 1
state: {path: s.json, backend: local}
"""

CANONICAL = """\
# yaml-language-server: $schema=../schemas/ctconfig.schema.json
version: 1
state: {backend: local, path: s.json}
accounts:
  prod:     # production
    id: W9R-486-4W5Z
    region: in1
    account_passcodes:
      export: {expires_in: 90d, rotate_before: 14d}       # for the warehouse
      sync:
        expires_in: forever
        prevent_destroy: true
    user_passcodes:
      alice@example.com: {validity: infinite, reset_before: 30d}
"""


def test_fmt_rewrites_to_canonical_form_keeping_comments(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    (tmp_path / "ctconfig.yaml").write_text(MESSY)
    before = run_ctconfig("validate")
    result = run_ctconfig("fmt")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "reformatted ctconfig.yaml\n"
    assert (tmp_path / "ctconfig.yaml").read_text() == CANONICAL
    after = run_ctconfig("validate")
    assert before.returncode == after.returncode == 0 and before.stdout == after.stdout


def test_fmt_is_idempotent(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    (tmp_path / "ctconfig.yaml").write_text(MESSY)
    run_ctconfig("fmt")
    second = run_ctconfig("fmt")
    assert second.returncode == 0
    assert second.stdout == "1 file already formatted\n"
    assert (tmp_path / "ctconfig.yaml").read_text() == CANONICAL


def test_fmt_check_exit_codes_and_no_writes(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    (tmp_path / "messy.yaml").write_text(MESSY)
    (tmp_path / "tidy.yaml").write_text(CANONICAL)
    dirty = run_ctconfig("fmt", "--check", "messy.yaml", "tidy.yaml")
    assert dirty.returncode == 1
    assert dirty.stdout == "would reformat messy.yaml\n"
    assert dirty.stderr == "Error: 1 file would be reformatted; run `ctconfig fmt` to fix\n"
    assert (tmp_path / "messy.yaml").read_text() == MESSY
    clean = run_ctconfig("fmt", "--check", "tidy.yaml")
    assert clean.returncode == 0


def test_fmt_directory_and_examples_are_canonical(run_ctconfig: RunCtconfig) -> None:
    result = run_ctconfig(
        "fmt", "--check", str(REPO / "examples" / "multi-account"), str(REPO / "examples" / "quickstart")
    )
    assert result.returncode == 0, result.stdout


def test_fmt_reports_yaml_errors_located(run_ctconfig: RunCtconfig, tmp_path: Path) -> None:
    (tmp_path / "ctconfig.yaml").write_text("version: 1\naccounts: [\n")
    result = run_ctconfig("fmt")
    assert result.returncode == 1
    assert result.stderr.startswith("ctconfig.yaml:3:1: invalid YAML:")
    assert "Traceback" not in result.stderr


def test_fmt_spells_durations_with_the_one_grammar() -> None:
    from ctconfig.config.fmt import format_text

    text = (
        "version: 1\naccounts:\n  p:\n    id: W9R-486-4W5Z\n    account_passcodes:\n"
        "      a: {expires_in: 090D, rotate_before: '14'}\n      b: {expires_in: FOREVER}\n"
        "      c: {expires_in: '${CT_DAYS:-90}'}\n      d: {expires_in: 90 d}\n      e: {expires_in: -5}\n"
        "    user_passcodes:\n      x@example.com: {validity: Infinite, reset_before: true}\n"
    )
    formatted = format_text(text, "c.yaml")
    for line in (
        "a: {expires_in: 90d, rotate_before: '14d'}",  # quotes kept, as written
        "b: {expires_in: forever}",
        "c: {expires_in: '${CT_DAYS:-90}'}",  # validate decides what it becomes
        "d: {expires_in: 90 d}",  # not a duration: left for validate to refuse
        "e: {expires_in: -5}",
        "x@example.com: {validity: infinite, reset_before: true}",
    ):
        assert line in formatted, line


def test_fmt_orders_templates_removed_and_tokens_keeping_anchors_above_their_aliases(
    run_ctconfig: RunCtconfig, tmp_path: Path
) -> None:
    (tmp_path / "ctconfig.yaml").write_text(
        "removed: [old/*]\n"
        "version: 1\n"
        "x-std: &std {rotate: SEC-1, expires_in: 90}\n"
        "templates:\n  team:\n    account_passcodes:\n      seg: *std\n"
        "accounts:\n  prod: {use: team, previously: prod-old, id: W9R-486-4W5Z}\n"
        "safety: {approve_deletes: [prod/account_passcode/gone]}\n"
    )
    before = run_ctconfig("validate")
    assert run_ctconfig("fmt").returncode == 0
    assert (tmp_path / "ctconfig.yaml").read_text() == (
        "version: 1\n"
        "x-std: &std {expires_in: 90d, rotate: SEC-1}\n"
        "safety: {approve_deletes: [prod/account_passcode/gone]}\n"
        "templates:\n  team:\n    account_passcodes:\n      seg: *std\n"
        "accounts:\n  prod: {id: W9R-486-4W5Z, previously: prod-old, use: team}\n"
        "removed: [old/*]\n"
    )
    after = run_ctconfig("validate")
    assert before.returncode == after.returncode == 0 and before.stdout == after.stdout

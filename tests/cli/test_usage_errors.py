"""Usage errors exit 1 with one line and the hint (issue 14.3): 2 means "changes present"."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from ctconfig.cli import cli
from tests.cli.conftest import Run
from tests.cli.test_startup import command_paths
from tests.conftest import RunCtconfig


@pytest.mark.parametrize(
    ("args", "error", "command"),
    [
        (["plan", "--frmat", "json"], "No such option '--frmat'. Did you mean '--format'?", "plan"),
        (
            ["plan", "--format", "yaml"],
            "Invalid value for '--format': 'yaml' is not one of 'text', 'markdown', 'json', 'runbook'.",
            "plan",
        ),
        (
            ["plan", "--refresh=maybe"],
            "Invalid value for '--refresh': 'maybe' is not true or false "
            "(also accepted: yes/no, on/off, 1/0)",
            "plan",
        ),
        (["show"], "Missing argument 'PLANFILE'.", "show"),
        (["state", "mv", "a"], "Missing argument 'NEW'.", "state mv"),
        (["init", "--from", "old.yaml"], "--from is only used with --migrate-state", "init"),
        (["nosuch"], "No such command 'nosuch'.", ""),
        (["aply"], "No such command 'aply'; did you mean apply?", ""),
        (["state", "lsit"], "No such command 'lsit'; did you mean list?", "state"),
    ],
    ids=[
        "unknown-option",
        "bad-choice",
        "bad-boolean",
        "missing-argument",
        "nested",
        "raised",
        "command",
        "command-typo",
        "subcommand-typo",
    ],
)
def test_a_usage_error_is_one_line_and_the_hint_and_exits_1(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], error: str, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    done = run(*args)
    assert done.code == 1
    assert done.out == ""
    path = f"ctconfig {command}".strip()
    assert done.err.splitlines() == [f"Error: {error}", f"Try '{path} --help' for help."]


def test_a_bad_boolean_no_longer_offers_an_empty_value(run: Run) -> None:
    done = run("plan", "--refresh=maybe")
    assert "Recognized values: ," not in done.err and "''" not in done.err


@pytest.mark.parametrize("value", ["true", "FALSE", "yes", "off", "1", "0"])
def test_the_boolean_words_are_still_accepted(value: str) -> None:
    from ctconfig.cli.params import Boolean

    assert Boolean().convert(value, None, None) is (value.lower() in ("true", "yes", "1"))


def test_no_command_prints_the_help_and_exits_1(run: Run) -> None:
    for args in ([], ["state"]):
        done = run(*args)
        assert done.code == 1
        assert "Usage: ctconfig" in done.err and "Commands:" in done.err


def test_the_nightly_drift_job_never_mistakes_a_typo_for_drift(
    run_ctconfig: RunCtconfig, tmp_path: Path
) -> None:
    """The installed command: `--detailed-exitcode` reserves 2 for changes; a typo exits 1."""
    (tmp_path / "ctconfig.yaml").write_text("version: 1\n")
    typo = run_ctconfig("plan", "--detailed-exitcode", "--formt", "markdown")
    assert typo.returncode == 1, typo.stderr
    first, hint = typo.stderr.splitlines()
    assert first.startswith("Error: No such option '--formt'.") and "'--format'" in first
    assert hint == "Try 'ctconfig plan --help' for help."
    clean = run_ctconfig("plan", "--detailed-exitcode")
    assert clean.returncode == 0, clean.stderr


def test_every_format_option_has_help_and_shows_its_default() -> None:
    formats = []
    for path in command_paths(cli):
        command: click.Command = cli
        for word in path:
            assert isinstance(command, click.Group)
            found = command.get_command(click.Context(command), word)
            assert found is not None
            command = found
        for param in command.params:
            if isinstance(param, click.Option) and "--format" in param.opts:
                formats.append(" ".join(path))
                assert param.help, path
                assert param.show_default is True and param.default is not None, path
    assert {"plan", "show", "verify", "state history", "state diff", "sandbox show"} <= set(formats)


def test_the_state_diff_formats_are_the_renderers(run: Run) -> None:
    from ctconfig.cli.state import DIFF_FORMATS
    from ctconfig.render.state_diff import FORMATS

    assert DIFF_FORMATS == FORMATS

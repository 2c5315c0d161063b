"""Start-up (issue 13): commands load lazily, and `--help`/`--version` import nothing heavy.

The time itself is measured by `bench/startup.py` (no wall-clock bound here: a
loaded machine would break it); these tests pin what makes start-up fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import click
import pytest
from click.testing import CliRunner

from ctconfig.cli import cli
from ctconfig.cli.base import COMMANDS
from ctconfig.cli.lazy import LazyGroup
from tests.conftest import RunCtconfig

HEAVY = ("pydantic", "pydantic_core", "ruamel", "httpx", "httpcore", "asyncio", "ssl", "sqlite3", "orjson")
HEAVY += ("deepdiff", "starlette", "uvicorn", "psycopg", "boto3")


def loaded_after(code: str) -> dict[str, list[str]]:
    """Run `code` in a fresh interpreter; which heavy and which ctconfig modules did it load?"""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
        ours = sorted(m for m in sys.modules if m.startswith("ctconfig"))
        print(json.dumps({{"heavy": heavy, "ctconfig": ours}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_importing_the_cli_loads_no_heavy_dependency_and_no_command() -> None:
    loaded = loaded_after("import ctconfig.cli")
    assert loaded["heavy"] == []
    assert not [
        m for m in loaded["ctconfig"] if m.removeprefix("ctconfig.cli.") in ("core", "state", "sandbox")
    ]


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_import_no_command_module(option: str) -> None:
    loaded = loaded_after(
        f"""
        import contextlib, io
        from ctconfig.cli import run_cli
        with contextlib.redirect_stdout(io.StringIO()):
            assert run_cli([{option!r}]) == 0
        """
    )
    assert loaded["heavy"] == []
    commands = {target.partition(":")[0] for target, _ in COMMANDS.values()}
    assert not commands & set(loaded["ctconfig"]), loaded["ctconfig"]


@pytest.mark.parametrize("option", ["--help", "--version"])
@pytest.mark.process  # the installed script's own imports
def test_the_installed_command_imports_nothing_heavy_to_answer(
    option: str, run_ctconfig: RunCtconfig
) -> None:
    """`python -X importtime` of the console script itself: every module it imported, by name."""
    done = run_ctconfig(option, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr
    imported = {
        line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    }
    assert "ctconfig.cli.base" in imported and "click" in imported  # the log is what it claims
    assert not {name.split(".")[0] for name in imported} & set(HEAVY)
    assert not {target.partition(":")[0] for target, _ in COMMANDS.values()} & imported


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under `group`, as the words that name it."""
    ctx = click.Context(group)
    paths: list[tuple[str, ...]] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
    return paths


def test_every_commands_help_imports_no_heavy_dependency() -> None:
    """Command modules keep pydantic, YAML, HTTP and the event loop inside the commands."""
    paths = [list(path) for path in command_paths(cli)]
    assert len(paths) > 30
    loaded = loaded_after(
        f"""
        import contextlib, io
        from ctconfig.cli import run_cli
        for path in {paths!r}:
            with contextlib.redirect_stdout(io.StringIO()):
                assert run_cli([*path, "--help"]) == 0, path
        """
    )
    assert loaded["heavy"] == []


def test_help_lists_every_command_with_the_summary_of_its_own_docstring() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for group in (cli, cli.get_command(click.Context(cli), "sandbox")):
        assert isinstance(group, LazyGroup)
        for name, lazy in group.lazy_commands.items():
            command = group.get_command(click.Context(group), name)
            assert command is not None and command.help is not None
            first_paragraph = " ".join(command.help.partition("\n\n")[0].split())
            assert lazy.summary == first_paragraph, f"{name}: update its summary in the command table"
    listed = result.output.split("Commands:\n")[1]
    assert [line.split()[0] for line in listed.splitlines() if line.strip()] == sorted(COMMANDS)


def test_help_is_the_same_before_and_after_the_commands_are_loaded() -> None:
    """The summaries stand in for the commands exactly: loading them changes no line of --help."""
    loaded = loaded_after(
        """
        import contextlib, io, click
        from ctconfig.cli import cli, run_cli

        def help_text():
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                run_cli(["--help"])
            return out.getvalue()

        before = help_text()
        for name in cli.list_commands(click.Context(cli)):
            cli.get_command(click.Context(cli), name)
        assert help_text() == before, (before, help_text())
        """
    )
    assert "ctconfig.cli.core" in loaded["ctconfig"]  # the commands were loaded in between


def test_a_table_entry_that_names_the_wrong_command_is_refused() -> None:
    group = LazyGroup(lazy_commands={"plan": COMMANDS["show"]})
    with pytest.raises(RuntimeError, match="is not the click command 'plan'"):
        group.get_command(click.Context(group), "plan")


def test_every_subcommand_help_works_and_lists_each_of_its_options() -> None:
    runner = CliRunner()
    for path in command_paths(cli):
        result = runner.invoke(cli, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        command: click.Command = cli
        for word in path:
            assert isinstance(command, click.Group)
            found = command.get_command(click.Context(command), word)
            assert found is not None
            command = found
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.opts[-1] in result.output, (path, param.opts)
        for option in ("-c, --config PATH", "--debug", "-h, --help"):
            assert option in result.output, (path, option)


def test_the_console_entry_point_collects_cycles_less_often() -> None:
    """Import-time collections found nothing and cost ~8 % of a small plan (bench/peers.py)."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import atexit, gc, sys\n"
            "atexit.register(lambda: print(gc.get_threshold(), gc.isenabled()))\n"
            "sys.argv = ['ctconfig', '--version']\n"
            "from ctconfig.cli import main\n"
            "main()\n",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    threshold, enabled = loaded.stdout.splitlines()[-1].rsplit(" ", 1)
    assert threshold.startswith("(50000, ") and enabled == "True"

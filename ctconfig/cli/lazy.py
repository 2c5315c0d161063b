"""A click group that imports a command's module only when that command is used.

`ctconfig --help` and `ctconfig --version` must start in a fraction of a second,
so no command module (nor pydantic, ruamel.yaml, httpx or asyncio behind them)
is imported until a command is asked for by name. The group's help lists each
command by the summary written beside its name (`LazyCommand.summary`, the first
paragraph of the command's docstring; tests/cli checks that the two agree).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click

from ctconfig.cli.context import add_global_options


class LazyCommand(NamedTuple):
    """Where a command lives (`module:attribute`) and the first paragraph of its docstring."""

    target: str
    summary: str


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use; each also takes the global options."""

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, LazyCommand] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, LazyCommand] = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            command = self.commands[cmd_name] = self._load(cmd_name)
        return None if command is None else _with_global_options(command)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """click's lookup; an unknown command name gets the closest ones offered (`aply`: `apply`)."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            import difflib  # only when a command name is wrong

            name = args[0] if args else ""
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            if not close or name.startswith("-"):
                raise
            offered = " or ".join(close)
            raise click.UsageError(f"No such command '{name}'; did you mean {offered}?", ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, with a command not loaded yet shown by its summary (not imported)."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None and name in self.lazy_commands:
                command = click.Command(name, help=self.lazy_commands[name].summary)  # stands in for help
            elif command is None:
                continue
            if not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])

    def _load(self, cmd_name: str) -> click.Command:
        module_name, _, attribute = self.lazy_commands[cmd_name].target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise RuntimeError(f"{module_name}:{attribute} is not the click command {cmd_name!r}")
        return command


def _with_global_options(command: click.Command) -> click.Command:
    """The command with the global options, and so are a plain (already loaded) group's commands."""
    add_global_options(command)
    if isinstance(command, click.Group) and not isinstance(command, LazyGroup):
        for sub in command.commands.values():
            _with_global_options(sub)
    return command

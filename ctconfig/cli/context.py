"""What every command receives (`Context`), and the global options that fill it.

`-c/--config`, `--debug` and `--version` are accepted before the subcommand
(`ctconfig -c infra/ctconfig.yaml validate`) and after it (`ctconfig validate
-c infra/ctconfig.yaml`), so a pre-commit hook's `args` can point at a nested
config. The root group declares them; `lazy.LazyGroup` adds a copy to every
subcommand it hands out. The later one on the command line wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click

CONFIG_HELP = "Config file or directory (default: $CTCONFIG_CONFIG, ./ctconfig.yaml, ./ctconfig/)."
DEBUG_HELP = "Show tracebacks and debug logs (secrets stay redacted)."


@dataclass
class Context:
    """What every command receives: global flags, resolved lazily."""

    config_path: str | None = None
    debug: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


pass_context = click.make_pass_decorator(Context, ensure=True)


def _set_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).config_path = value


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    context = ctx.ensure_object(Context)
    if value and not context.debug:  # once, even when given before and after the subcommand
        context.debug = True
        from ctconfig.redaction import configure_debug_logging

        configure_debug_logging()


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from ctconfig.version import describe_version

        click.echo(f"ctconfig, version {describe_version()}")
        ctx.exit()


def global_options(*, root: bool) -> list[click.Option]:
    """Fresh `-c/--config`, `--debug` and `--version` options (the root's reads $CTCONFIG_CONFIG)."""
    return [
        click.Option(
            ["--version"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            hidden=not root,  # after a subcommand it works, but each command's help need not say so
            callback=_show_version,
            help="Show the version and exit.",
        ),
        click.Option(
            ["-c", "--config", "config_path"],
            metavar="PATH",
            envvar="CTCONFIG_CONFIG" if root else None,
            expose_value=False,
            callback=_set_config,
            help=CONFIG_HELP if root else "Config file or directory (as before the command).",
        ),
        click.Option(
            ["--debug"],
            is_flag=True,
            expose_value=False,
            callback=_set_debug,
            help=DEBUG_HELP,
        ),
    ]


def add_global_options(command: click.Command) -> click.Command:
    """Give `command` the global options it does not have yet (each name is checked, so once)."""
    taken = {opt for param in command.params for opt in param.opts}
    for option in global_options(root=False):
        if not taken.intersection(option.opts):
            command.params.append(option)
    return command

"""`validate`, `schema`, `init` and `fmt`: commands about the config itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ctconfig.cli.base import Context, format_option, lock_timeout_option, pass_context
from ctconfig.config.errors import ConfigError, ConfigNotFoundError, Problem
from ctconfig.errors import CtconfigError


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@format_option(
    "text", "json", help="text: a summary line, problems as file:line:col lines; json: counts or problems."
)
@pass_context
def validate(obj: Context, paths: tuple[Path, ...], fmt: str) -> None:
    """Check the config: YAML, keys, types and CleverTap's limits; print a summary.

    PATHS, if given, are config files or directories to check instead of the discovered
    config; a file inside a directory named `ctconfig` stands for its whole directory, so a
    pre-commit hook can pass the files that changed, wherever the config lives.
    """
    from ctconfig.config.loader import load_config, load_from_cli
    from ctconfig.config.summary import counts, summarize

    problems: list[Problem] = []
    valid: list[dict[str, object]] = []
    for target in configs_of(paths) if paths else [None]:
        try:
            loaded = load_config(target) if target is not None else load_from_cli(obj.config_path)
        except ConfigError as exc:
            problems += exc.problems
            continue
        if fmt == "json":
            where = target if target is not None else (loaded.files[0] if len(loaded.files) == 1 else "")
            valid.append({"config": str(where), **counts(loaded.config)})
        elif target is None:
            click.echo(f"Config valid: {summarize(loaded.config)}.")
        else:
            click.echo(f"Config {target} valid: {summarize(loaded.config)}.")
    if fmt == "json":
        found = [{"file": p.path, "line": p.line, "column": p.column, "message": p.message} for p in problems]
        click.echo(json.dumps({"valid": not problems, "configs": valid, "problems": found}, indent=2))
        if problems:
            sys.exit(1)
    elif problems:
        raise ConfigError(problems)


def configs_of(paths: tuple[Path, ...]) -> list[Path]:
    """The configs that `paths` belong to, once each, in order (see `validate`)."""
    from ctconfig.config.loader import CONFIG_DIR

    configs: dict[Path, None] = {}
    for path in paths:
        in_directory = path.is_file() and path.parent.name == CONFIG_DIR
        configs.setdefault(path.parent if in_directory else path, None)
    return list(configs)


@click.command()
def schema() -> None:
    """Print the config's JSON Schema (for editors: yaml-language-server)."""
    from ctconfig.config.schema import schema_text

    click.echo(schema_text(), nl=False)


@click.command()
@click.option(
    "--migrate-state",
    is_flag=True,
    help="Instead of a starter: copy the state (with history) from OLD_CONFIG's backend to this config's.",
)
@click.option(
    "--from",
    "old_config",
    metavar="OLD_CONFIG",
    help="With --migrate-state: the config whose state backend to copy from.",
)
@lock_timeout_option
@pass_context
def init(obj: Context, migrate_state: bool, old_config: str | None, lock_timeout: float) -> None:
    """Write a commented starter ctconfig.yaml (on the sandbox) in the current directory."""
    if migrate_state:
        if not old_config:
            raise click.UsageError("--migrate-state needs --from OLD_CONFIG")
        _migrate(obj, old_config, lock_timeout)
        return
    if old_config:
        raise click.UsageError("--from is only used with --migrate-state")
    from ctconfig.config.loader import CONFIG_FILE
    from ctconfig.config.starter import STARTER

    target = Path(CONFIG_FILE)
    if target.exists():
        raise CtconfigError(f"{CONFIG_FILE} already exists; not overwriting it (move it away first)")
    target.write_text(STARTER, encoding="utf-8")
    click.echo(f"Wrote {CONFIG_FILE}. Next: ctconfig validate, then ctconfig plan.")


def _migrate(obj: Context, old_config: str, lock_timeout: float) -> None:
    from ctconfig.config.loader import load_config, load_from_cli
    from ctconfig.state.backends import open_backend
    from ctconfig.state.migrate import migrate_state

    old_path = Path(old_config)
    if not old_path.exists():
        raise ConfigNotFoundError(f"config {old_config!r} (given by --from) does not exist")
    source = load_config(old_path).config.state
    destination = load_from_cli(obj.config_path).config.state
    report = migrate_state(open_backend(source), open_backend(destination), lock_timeout=lock_timeout)
    click.echo(str(report))


@click.command()
@click.option("--check", is_flag=True, help="Change nothing; exit 1 and list files that would change.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@pass_context
def fmt(obj: Context, check: bool, paths: tuple[Path, ...]) -> None:
    """Rewrite config files in canonical layout, keeping comments (default: the discovered config)."""
    from ctconfig.config.fmt import FormatCheckError, files_to_format, format_file
    from ctconfig.config.loader import discover_config
    from ctconfig.visible import visible

    targets = list(paths) or [discover_config(obj.config_path)]
    files = [  # a directory's files stay inside it; a file stays beside itself
        (file, target if target.is_dir() else None) for target in targets for file in files_to_format(target)
    ]
    changed = [file for file, tree in files if format_file(file, write=not check, tree=tree)]
    for file in changed:  # a config directory's file names come with the pull request
        click.echo(f"{'would reformat' if check else 'reformatted'} {visible(str(file))}")
    if check and changed:
        count = f"{len(changed)} file{'' if len(changed) == 1 else 's'}"
        raise FormatCheckError(f"{count} would be reformatted; run `ctconfig fmt` to fix")
    if not changed:
        click.echo(f"{len(files)} file{'' if len(files) == 1 else 's'} already formatted")

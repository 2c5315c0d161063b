"""The root click group, shared options and the one place errors become exit codes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import click

from ctconfig import __version__
from ctconfig.cli.params import Seconds
from ctconfig.config.errors import ConfigError
from ctconfig.errors import CtconfigError
from ctconfig.redaction import print_exception, redact

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class LockTimeout(Seconds):
    """How long to wait for the state lock: `0`, `30s`, `2m`, `1h` (at most a day)."""

    def __init__(self) -> None:
        super().__init__(maximum=86400.0)


lock_timeout_option = click.option(
    "--lock-timeout",
    type=LockTimeout(),
    default="0",
    show_default=True,
    metavar="DURATION",
    help="How long to wait for the state lock (e.g. 30s, 2m).",
)


@dataclass
class Context:
    """What every command receives: global flags, resolved lazily."""

    config_path: str | None = None
    debug: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="ctconfig")
@click.option(
    "-c",
    "--config",
    "config_path",
    metavar="PATH",
    envvar="CTCONFIG_CONFIG",
    help="Config file or directory (default: $CTCONFIG_CONFIG, ./ctconfig.yaml, ./ctconfig/).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs (secrets stay redacted).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, debug: bool) -> None:
    """Manage CleverTap API passcodes as code: validate, plan, apply, audit."""
    ctx.obj = Context(config_path=config_path, debug=debug)
    if debug:
        from ctconfig.redaction import configure_debug_logging

        configure_debug_logging()


def run_cli(argv: list[str]) -> int:
    """Run the CLI and map every outcome to an exit code; user errors never show a traceback."""
    debug = "--debug" in argv
    try:
        # Without standalone mode click returns (not raises) the code of `ctx.exit(code)`.
        result = cli.main(args=argv, prog_name="ctconfig", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:
        return _report_error(exc, debug)
    return result if isinstance(result, int) else 0


def _report_error(exc: Exception, debug: bool) -> int:
    """One line for an error a user can cause; a bug says so, with the traceback only under --debug."""
    if debug:  # the traceback, with every known secret and passcode header redacted
        print_exception(exc)
    if isinstance(exc, CtconfigError):
        message = redact("; ".join([str(exc), *getattr(exc, "__notes__", ())]))
        located = isinstance(exc, ConfigError)  # `file:line:col: message` lines stand on their own
        click.echo(message if located or message.startswith("Error") else f"Error: {message}", err=True)
        return exc.exit_code
    if isinstance(exc, OSError):
        click.echo(redact(f"Error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")), err=True)
        return EXIT_ERROR
    if not debug:
        click.echo(
            f"Error: internal error ({type(exc).__name__}); rerun with --debug for details and report it.",
            err=True,
        )
        logging.getLogger("ctconfig").debug("internal error", exc_info=exc)
    return EXIT_ERROR

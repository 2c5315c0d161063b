"""The root click group, its table of commands, shared options, and where errors become exit codes.

Commands are registered by name in `COMMANDS` and imported only when used
(`lazy.LazyGroup`): `ctconfig --help` and `--version` import no command's
dependencies. Exit codes: 0 done, 1 any error (a usage error too: 2 is what
`plan --detailed-exitcode` says about changes), 2 changes (that flag only),
130 interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from ctconfig.cli.context import Context, global_options, pass_context
from ctconfig.cli.lazy import LazyCommand, LazyGroup
from ctconfig.cli.params import Seconds
from ctconfig.errors import CtconfigError, Terminated

F = TypeVar("F", bound=Callable[..., object])
EXIT_ERROR = 1
EXIT_USAGE = 1  # like Terraform: 2 stays "changes present" for `plan --detailed-exitcode`
EXIT_INTERRUPTED = 130

COMMANDS = {
    "validate": LazyCommand(
        "ctconfig.cli.config_cmds:validate",
        "Check the config: YAML, keys, types and CleverTap's limits; print a summary.",
    ),
    "schema": LazyCommand(
        "ctconfig.cli.config_cmds:schema",
        "Print the config's JSON Schema (for editors: yaml-language-server).",
    ),
    "init": LazyCommand(
        "ctconfig.cli.config_cmds:init",
        "Write a commented starter ctconfig.yaml (on the sandbox) in the current directory.",
    ),
    "fmt": LazyCommand(
        "ctconfig.cli.config_cmds:fmt",
        "Rewrite config files in canonical layout, keeping comments (default: the discovered config).",
    ),
    "plan": LazyCommand("ctconfig.cli.core:plan_command", "Show what apply would change in each account."),
    "show": LazyCommand("ctconfig.cli.core:show_command", "Render a saved plan file."),
    "apply": LazyCommand(
        "ctconfig.cli.core:apply_command",
        "Make the accounts match the config, record state, send new secrets to the sink.",
    ),
    "import": LazyCommand(
        "ctconfig.cli.adopt:import_command",
        "Check that declared passcodes or grants exist, for the next apply to adopt (writes no state).",
    ),
    "export": LazyCommand(
        "ctconfig.cli.adopt:export_command",
        "Write the accounts as they are into a valid config (credentials as env var placeholders).",
    ),
    "check": LazyCommand(
        "ctconfig.cli.check:check_command",
        "Report what is not well: expired, expiring, drifted, unmanaged, missing secrets, changes due.",
    ),
    "verify": LazyCommand(
        "ctconfig.cli.verify:verify_command",
        "Check each managed account passcode's secret (read back from the sink) with the credential check.",
    ),
    "state": LazyCommand(
        "ctconfig.cli.state:state",
        "Inspect and edit the state: list, show, rm, mv, pull, push, history, diff.",
    ),
    "recover": LazyCommand(
        "ctconfig.cli.recover:recover_command",
        "Finish what an interrupted apply left (apply does this first too); change nothing else.",
    ),
    "force-unlock": LazyCommand(
        "ctconfig.cli.state:force_unlock_command", "Remove a lock left by a run that died."
    ),
    "sandbox": LazyCommand(
        "ctconfig.cli.sandbox:sandbox",
        "Inspect and change the sandbox account store, as the dashboard would.",
    ),
}
"""Every top-level command: where it lives, and its docstring's first paragraph for `--help`."""

__all__ = [
    "COMMANDS",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "Context",
    "audit_note_option",
    "cli",
    "format_option",
    "lock_timeout_option",
    "pass_context",
    "run_cli",
]


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

def format_option(*choices: str, help: str) -> Callable[[F], F]:
    """`--format` with these choices, the first the default (one spelling for every command)."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True, help=help
    )


AUDIT_NOTE_LIMIT = 1000


def _audit_note(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and len(value) > AUDIT_NOTE_LIMIT:
        raise click.BadParameter(f"at most {AUDIT_NOTE_LIMIT} characters (got {len(value)})")
    return value


audit_note_option = click.option(
    "--audit-note",
    metavar="TEXT",
    default=None,
    callback=_audit_note,
    help="Kept in the audit record of the state version this writes (a ticket, a change request).",
)


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    params=global_options(root=True),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
def cli() -> None:
    """Manage CleverTap API passcodes as code: validate, plan, apply, audit.

    -c/--config and --debug may also follow the command: `ctconfig validate -c infra/ctconfig.yaml`.
    """


def run_cli(argv: list[str]) -> int:
    """Run the CLI and map every outcome to an exit code; user errors never show a traceback."""
    debug = "--debug" in argv[: argv.index("--")] if "--" in argv else "--debug" in argv
    _show_notices()
    try:
        # Without standalone mode click returns (not raises) the code of `ctx.exit(code)`.
        result = cli.main(args=argv, prog_name="ctconfig", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        stopped = exc if isinstance(exc, Terminated) else exc.__cause__  # click wraps Ctrl-C in Abort
        if isinstance(stopped, Terminated):
            said = f"Stopped by {stopped.signal_name}; nothing more was started and any lock was released."
            click.echo(said, err=True)
            return stopped.exit_code
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except SystemExit as exc:  # a command's `sys.exit(code)`: plan's 2, apply's 1 or 130
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else EXIT_ERROR
    except click.exceptions.NoArgsIsHelpError as exc:  # `ctconfig`, `ctconfig state`: the help, then 1
        exc.show()
        return EXIT_USAGE
    except click.UsageError as exc:
        return _report_usage_error(exc)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:
        return _report_error(exc, debug)
    return result if isinstance(result, int) else 0


def _show_notices() -> None:
    """What a person should hear while a command waits (e.g. a server not answering) goes to stderr."""
    from ctconfig.redaction import show_notices

    show_notices()


def _report_usage_error(exc: click.UsageError) -> int:
    """One line saying what is wrong, then where the help is; exit 1."""
    command = exc.ctx.command_path if exc.ctx is not None else "ctconfig"
    message = " ".join(exc.format_message().split())  # click's messages may wrap
    click.echo(f"Error: {message}\nTry '{command} --help' for help.", err=True)
    return EXIT_USAGE


def _report_error(exc: Exception, debug: bool) -> int:
    """One line for an error a user can cause; a bug says so, with the traceback only under --debug."""
    import logging

    from ctconfig.config.errors import ConfigError
    from ctconfig.redaction import print_exception, redact
    from ctconfig.visible import visible

    if debug:  # the traceback, with every known secret and passcode header redacted
        print_exception(exc)
    if isinstance(exc, CtconfigError):
        message = redact("; ".join([str(exc), *getattr(exc, "__notes__", ())]))
        if isinstance(exc, ConfigError):  # `file:line:col: message` lines stand on their own
            click.echo("\n".join(visible(line) for line in message.split("\n")), err=True)
        else:  # one line, whatever a server or a file put in it
            click.echo(visible(message if message.startswith("Error") else f"Error: {message}"), err=True)
        return exc.exit_code
    if isinstance(exc, OSError):
        message = f"Error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        click.echo(visible(redact(message)), err=True)
        return EXIT_ERROR
    if not debug:
        click.echo(
            f"Error: internal error ({type(exc).__name__}); rerun with --debug for details and report it.",
            err=True,
        )
        logging.getLogger("ctconfig").debug("internal error", exc_info=exc)
    return EXIT_ERROR

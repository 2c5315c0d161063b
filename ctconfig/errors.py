"""The root of every error a user can cause.

The CLI turns any `CtconfigError` into one clear message and exit code 1;
anything else is a bug and shows a traceback only with `--debug`.
"""


class CtconfigError(Exception):
    """An error with a message written for the user, never containing a secret."""

    exit_code = 1

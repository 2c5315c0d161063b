"""What a ctconfig process does before running a command that may hold secrets: no core dumps.

A core of an apply held the new secret five times (and the admin passcodes of the
environment). Every command but the few that never see a secret or a credential
(`schema`, `init`, `fmt`, `show`, and `--help`/`--version`) first sets its core size
limit to 0 and, on Linux, marks itself not dumpable (`prctl(PR_SET_DUMPABLE, 0)`:
no core, whatever the system's core pattern, and no other process of the same
user can attach to it). The child processes it starts (the `command` sink) inherit
the limit. Only the console entry does this: the in-process test runner does not.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence

SECRET_FREE = frozenset({"schema", "init", "fmt", "show"})
"""Commands that read neither secrets nor credentials: they keep the process as it was."""
_TAKES_VALUE = frozenset({"-c", "--config"})
_PR_SET_DUMPABLE = 4


def command_name(argv: Sequence[str]) -> str | None:
    """The command `argv` runs (its first word that is not a global option or its value)."""
    words = iter(argv)
    for word in words:
        if word == "--":
            return next(words, None)
        if word in _TAKES_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def may_hold_secrets(argv: Sequence[str]) -> bool:
    """Whether the command in `argv` may read a secret or a credential (any command may but a few)."""
    name = command_name(argv)
    return name is not None and name not in SECRET_FREE


def forbid_core_dumps() -> None:
    """Core size limit 0 (soft and hard), and not dumpable where the kernel offers it."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)

"""Config problems, each tied to a place in a file, and the error that carries them all."""

from __future__ import annotations

from dataclasses import dataclass

from ctconfig.errors import CtconfigError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config, at a 1-based line and column of a file."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


def quoted(text: str, limit: int = 80) -> str:
    """A name or value as a message shows it: quoted, and cut short if it is long."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


class ConfigError(CtconfigError):
    """Every problem found in one load, so the user can fix them all in one go."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


class ConfigNotFoundError(CtconfigError):
    """No config where the user pointed, or none where ctconfig looks by default."""

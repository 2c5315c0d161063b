"""Find every `ctconfig ...` command in CI files and check it against the real click command tree.

No list of subcommands or flags is written here: each invocation is walked
through `ctconfig.cli.cli` (`get_command`, each command's `params`), so a
renamed flag or a removed command fails the pipeline test at once.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from ruamel.yaml import YAML

from ctconfig.cli import cli

SCRIPT_KEYS = ("run", "script", "before_script", "after_script")
SHELL_PUNCTUATION = ";&|()<>"
COMMAND_WORDS = {"if", "then", "elif", "else", "do", "while", "until", "!", "time", "exec", "{"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Script:
    """One shell script of a CI file: a GitHub step's `run`, or a GitLab job's script lines."""

    source: str  # e.g. "jobs.plan.steps[3].run"
    text: str


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def _flatten(value: Any) -> Iterator[str]:
    """GitLab flattens nested script lists (YAML anchors); a string is one line or block."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _flatten(item)


def scripts(document: Any, where: str = "") -> Iterator[Script]:
    """Every `run:` / `script:` / `before_script:` / `after_script:` body, anywhere in the document."""
    if isinstance(document, dict):
        for key, value in document.items():
            here = f"{where}.{key}" if where else str(key)
            if key in SCRIPT_KEYS and isinstance(value, str | list):
                yield Script(here, "\n".join(_flatten(value)))
            else:
                yield from scripts(value, here)
    elif isinstance(document, list):
        for index, item in enumerate(document):
            yield from scripts(item, f"{where}[{index}]")


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=SHELL_PUNCTUATION)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _is_punctuation(token: str) -> bool:
    return bool(token) and all(ch in SHELL_PUNCTUATION for ch in token)


def invocations(text: str) -> Iterator[list[str]]:
    """The words after each `ctconfig` in command position, up to the end of that command."""
    for line in text.replace("\\\n", " ").splitlines():
        tokens = _tokens(line)
        at_start = True
        for index, token in enumerate(tokens):
            if at_start and token == "ctconfig":
                words: list[str] = []
                for word in tokens[index + 1 :]:
                    if _is_punctuation(word):
                        break
                    words.append(word)
                yield words
            if _is_punctuation(token) or token in COMMAND_WORDS:
                at_start = True
            elif not (at_start and _ASSIGNMENT.match(token)):
                at_start = False


def _option(command: click.Command, name: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def _check_value(path: str, option: click.Option, value: str) -> list[str]:
    """A literal value must convert as click would; one from a shell variable cannot be judged."""
    if "$" in value:
        return []
    try:
        option.type.convert(value, option, None)
    except click.BadParameter as exc:
        return [f"{path}: {option.opts[-1]} {value!r}: {exc.message}"]
    return []


def check(words: list[str]) -> list[str]:
    """Problems with one invocation (empty when every subcommand and flag exists)."""
    command: click.Command = cli
    path = "ctconfig"
    problems: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word.startswith("-") and word != "-":
            name, has_value, inline = word.partition("=")
            option = _option(command, name)
            if option is None:
                problems.append(f"{path}: no such option {name}")
                continue
            if option.is_flag or option.count:
                continue
            if not has_value:
                if index >= len(words):
                    problems.append(f"{path}: {name} needs a value")
                    break
                inline, index = words[index], index + 1
            problems += _check_value(path, option, inline)
        elif isinstance(command, click.Group):
            sub = command.get_command(click.Context(command), word)  # loads a lazy command
            if sub is None:
                problems.append(f"{path}: no such command {word!r}")
                break
            command, path = sub, f"{path} {word}"
    if isinstance(command, click.Group) and not problems:
        problems.append(f"{path}: a subcommand is missing")
    return problems


def command_line(words: list[str]) -> str:
    return " ".join(["ctconfig", *words])

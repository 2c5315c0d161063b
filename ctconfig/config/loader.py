"""Find the config, read it (a file or a directory of `*.yaml`), validate it, and say where.

Every problem found — YAML syntax, unknown keys, wrong types, domain rules — is
collected and raised together as one `ConfigError`, each as `file:line:col: message`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from pydantic import ValidationError

from ctconfig.collector import paused_then_frozen
from ctconfig.config.consistency import section_rules, shared_slots
from ctconfig.config.errors import ConfigError, ConfigNotFoundError, Problem
from ctconfig.config.limits import MAX_CONFIG_BYTES_ENV, describe_bytes, max_config_bytes
from ctconfig.config.merge import merge_parsed, top_level_problem
from ctconfig.config.misspelled import problems_inside_misspelled
from ctconfig.config.references import link_templates, reference_rules
from ctconfig.config.rules import check_rules, literal_secrets
from ctconfig.config.spec import Config
from ctconfig.config.trust import OperatorPolicy, trust_problems
from ctconfig.config.validation import problems_from
from ctconfig.config.yamltree import KeyPath, ParsedFile, Position, SourceMap, parse_yaml

CONFIG_FILE = "ctconfig.yaml"
CONFIG_DIR = "ctconfig"
CONFIG_ENV = "CTCONFIG_CONFIG"


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config, the files it came from, and a digest that changes only with meaning."""

    config: Config
    files: tuple[Path, ...]
    digest: str
    sources: SourceMap | None = field(default=None, repr=False, compare=False)
    policy: OperatorPolicy = field(default_factory=OperatorPolicy, repr=False, compare=False)
    """The operator's allow-lists the config was checked against (`config/trust.py`)."""

    def location_of(self, *keys: str) -> str | None:
        """Where a key was written, e.g. ("accounts", "prod") → "ctconfig.yaml:5:3"; None if nowhere."""
        if self.sources is None:
            return None
        found = self.sources.keys.get(keys)
        if found is None and len(keys) >= 4 and keys[2] == "user_passcodes":
            folded = keys[3].lower()
            for path, position in self.sources.keys.items():
                same_shape = path[:3] == keys[:3] and path[4:] == keys[4:] and len(path) == len(keys)
                if same_shape and str(path[3]).lower() == folded:
                    return str(position)
        return None if found is None else str(found)


def config_digest(config: Config) -> str:
    """sha256 of the canonical JSON of the validated config: blind to comments, layout and order."""
    canonical = orjson.dumps(config.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def discover_config(explicit: str | None, cwd: Path | None = None) -> Path:
    """-c PATH, else $CTCONFIG_CONFIG, else ./ctconfig.yaml, else ./ctconfig/ — or a clear error."""
    base = cwd if cwd is not None else Path()
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        path = Path(chosen)
        if cwd is not None and not path.is_absolute():
            path = cwd / path
        if not path.exists():
            raise ConfigNotFoundError(
                f"config {chosen!r} does not exist (given by -c/--config or ${CONFIG_ENV})"
            )
        return path
    if (base / CONFIG_FILE).is_file():
        return base / CONFIG_FILE
    directory = base / CONFIG_DIR
    if directory.is_dir() and is_config_directory(directory):
        return directory
    not_one = (
        f"./{CONFIG_DIR}/ is a directory but not a config directory (it holds no *.yaml file with a "
        "top-level 'version:'; a Python package of that name, perhaps); "
        if directory.is_dir()
        else ""
    )
    raise ConfigNotFoundError(
        f"no config found: {not_one}pass -c PATH, set ${CONFIG_ENV}, or create ./{CONFIG_FILE} or a "
        f"./{CONFIG_DIR}/ directory of *.yaml files that start with 'version: 1' (`ctconfig init` writes a "
        "starter)"
    )


_VERSION_KEY = re.compile(rb"^version[ \t]*:", re.MULTILINE)
_VERSION_LOOKAHEAD = 64 * 1024


def is_config_directory(directory: Path) -> bool:
    """Whether `directory` holds a `*.yaml` file with a top-level `version:` key (in its first 64 KiB)."""
    for child in sorted(directory.glob("*.yaml")):
        try:
            with child.open("rb") as stream:
                if _VERSION_KEY.search(stream.read(_VERSION_LOOKAHEAD)):
                    return True
        except OSError:
            continue
    return False


def read_config_files(files: list[Path], environ: Mapping[str, str]) -> list[bytes]:
    """Each file's bytes; refused at once, before any is read, past the size limit (limits.py)."""
    limit = max_config_bytes(environ)
    total = 0
    for file in files:
        total += file.stat().st_size
        if total > limit:
            raise ConfigError([_too_large(file, total, limit)])
    contents: list[bytes] = []
    total = 0
    for file in files:
        with file.open("rb") as stream:  # bounded: a file may grow, or be a device
            raw = stream.read(limit - total + 1)
        total += len(raw)
        if total > limit:
            raise ConfigError([_too_large(file, total, limit)])
        contents.append(raw)
    return contents


def _too_large(file: Path, total: int, limit: int) -> Problem:
    what = "config file" if total == file.stat().st_size else "config directory's files"
    return Problem(
        str(file), 1, 1,
        f"{what} too large: more than {describe_bytes(limit)} ({total:,} bytes); "
        f"set {MAX_CONFIG_BYTES_ENV} to raise the limit",
    )  # fmt: skip


def decode_config(raw: bytes, display: str) -> str | Problem:
    """UTF-8 text (a BOM is allowed), or where the first other byte is."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return Problem(display, line, column, "expected UTF-8 text, found other bytes")


def _parse(file: Path, raw: bytes, environ: Mapping[str, str], policy: OperatorPolicy) -> ParsedFile:
    display = str(file)
    text = decode_config(raw, display)
    if isinstance(text, Problem):
        return ParsedFile(None, SourceMap(Position(display, 1, 1)), [text])
    return parse_yaml(text, display, environ, refuse=policy.interpolation_problem)


def _files_of(path: Path) -> list[Path]:
    if not path.exists():
        raise ConfigNotFoundError(f"config {str(path)!r} does not exist")
    if not path.is_dir():
        return [path]
    files = sorted(child for child in path.glob("*.yaml") if child.is_file())
    if not files:
        raise ConfigNotFoundError(f"config directory {str(path)!r} holds no *.yaml files")
    return files


def _under(path: KeyPath, reported: set[KeyPath]) -> bool:
    return any(path[: len(prefix)] == prefix for prefix in reported)


def load_config(
    path: Path, environ: Mapping[str, str] | None = None, policy: OperatorPolicy | None = None
) -> LoadedConfig:
    """Load and validate a config file or directory; raises ConfigError listing every problem.

    `policy`: the operator's allow-lists (default: read from `environ`, the working
    directory as the tree); what the config decides beyond them is a problem too.
    """
    env = os.environ if environ is None else environ
    rules = OperatorPolicy.from_environ(env) if policy is None else policy
    files = _files_of(path)
    contents = read_config_files(files, env)
    with paused_then_frozen():
        parsed_files = [_parse(file, raw, env, rules) for file, raw in zip(files, contents, strict=True)]
        return _validated(parsed_files, tuple(files), path.is_dir(), rules)


def _validated(
    parsed_files: list[ParsedFile], files: tuple[Path, ...], merged: bool, policy: OperatorPolicy
) -> LoadedConfig:
    """Every problem of the parsed files, located, or the validated config."""
    problems: list[Problem] = []
    reported: set[KeyPath] = set()
    for parsed in parsed_files:
        problems += parsed.problems
        reported |= parsed.reported
        shape = top_level_problem(parsed)
        if shape is not None:
            problems.append(shape)
    if merged:
        data, sources, merge_problems = merge_parsed(parsed_files)
        problems += merge_problems
    else:
        only = parsed_files[0]
        if problems and not isinstance(only.data, dict):  # nothing sensible to validate
            raise ConfigError(problems)
        data = only.data if isinstance(only.data, dict) else {}
        sources = only.sources
    for secret_path, problem in literal_secrets(data, (), sources):
        problems.append(problem)
        reported.add(secret_path)
    rules = check_rules(data, sources) + section_rules(data, sources) + reference_rules(data, sources)
    problems += [problem for _, problem in rules]
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += [problem for at, problem in problems_from(exc, data, sources) if not _under(at, reported)]
        inside = problems_inside_misspelled(exc, data, sources)
        problems += [problem for at, problem in inside if not _under(at, reported)]
    if config is not None:
        link_templates(data, sources)
        problems += shared_slots(config, sources)
        problems += trust_problems(config, sources, policy)
    if problems or config is None:
        raise ConfigError(_ordered(problems, list(files)))
    return LoadedConfig(config, files, config_digest(config), sources, policy)


def _ordered(problems: list[Problem], files: list[Path]) -> list[Problem]:
    """Unique problems, by file (in load order), line and column."""
    rank = {str(file): index for index, file in enumerate(files)}
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (rank.get(p.path, len(rank)), p.line, p.column))


def load_from_cli(config_path: str | None) -> LoadedConfig:
    """What every command does first: discover the config (-c, env, defaults) and load it."""
    return load_config(discover_config(config_path), environ=os.environ)

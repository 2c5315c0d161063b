"""What a config may decide, and what only the operator may: endpoints, variables, paths, commands.

A config arrives in a pull request and may be written by someone the pipeline
does not trust; the pipeline (its environment and flags) is trusted. So the
config says *what* passcodes should exist, never *where* a credential, secret
or file goes. The operator widens the defaults outside the config, in the
environment of the run:

* `CTCONFIG_ALLOWED_ENDPOINTS` — origins (`https://host`, `http://127.0.0.1:8080`,
  `http://127.0.0.1:*`) a provider, state backend or secret sink may be sent to
  besides CleverTap's documented region hosts;
* `CTCONFIG_ALLOWED_ENV` — variable names (or `PREFIX*`) a config may read
  besides `CT_*`;
* `CTCONFIG_ALLOWED_PATHS` — directories a config's paths may resolve into
  besides the working directory (the checkout the pipeline runs in);
* `CTCONFIG_ALLOWED_COMMANDS` — what the `command` sink may run: whole commands, word
  for word (a program alone, or a program with the arguments the operator chose; never
  an allowed program with the config's own arguments); `*` trusts the config's command,
  for pipelines that never run an unreviewed config.

Credentials (`passcode_env`, `dsn_env`, `password_env`) must be named like one
(`…_PASSCODE`, `…_PASSWORD`, `…_TOKEN`, `…_SECRET`, `…_DSN`, `…_KEY`), and
`${VAR}` never reads such a name: an interpolated value can be printed in a
plan, a credential never is.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ctconfig.config.errors import Problem
from ctconfig.config.sections import (
    AwsSecretsManagerSinkConfig,
    AwsSsmSinkConfig,
    ClevertapProviderConfig,
    CommandSinkConfig,
    DashboardProviderConfig,
    EnvFileSinkConfig,
    FileSinkConfig,
    HttpStateConfig,
    LocalStateConfig,
    PostgresStateConfig,
    S3StateConfig,
    SandboxProviderConfig,
)
from ctconfig.config.spec import Config
from ctconfig.config.types import url_problem
from ctconfig.config.yamltree import KeyPath, SourceMap
from ctconfig.domain import REGION_HOSTS
from ctconfig.errors import CtconfigError

ENDPOINTS_VAR = "CTCONFIG_ALLOWED_ENDPOINTS"
ENV_VAR = "CTCONFIG_ALLOWED_ENV"
PATHS_VAR = "CTCONFIG_ALLOWED_PATHS"
COMMANDS_VAR = "CTCONFIG_ALLOWED_COMMANDS"

CONFIG_ENV_PREFIX = "CT_"
"""Variables a config may read without the operator's say: CleverTap's, by their own prefix."""

CREDENTIAL_SUFFIXES = ("_PASSCODE", "_PASSWORD", "_TOKEN", "_SECRET", "_DSN", "_KEY")
"""What a credential's variable is called; such a variable is never interpolated into a value."""

CLEVERTAP_HOSTS = frozenset(REGION_HOSTS.values())
_MAX_ENTRIES = 64
_MAX_ENTRY = 2048


class PolicyError(CtconfigError):
    """An operator allow-list in the environment cannot be read."""


@dataclass(frozen=True)
class AllowedOrigin:
    """`scheme://host[:port]`; port None means the scheme's default, `*` any port."""

    scheme: str
    host: str
    port: int | str | None

    def admits(self, scheme: str, host: str, port: int | None) -> bool:
        """Whether a URL's scheme, host and (effective) port fall under this origin."""
        if scheme != self.scheme or host != self.host:
            return False
        if self.port == "*":
            return True
        default = 443 if scheme == "https" else 80
        mine = default if self.port is None else self.port
        return (default if port is None else port) == mine

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}" + ("" if self.port is None else f":{self.port}")


@dataclass(frozen=True)
class OperatorPolicy:
    """The operator's allow-lists, read from the environment of the run (never from the config)."""

    endpoints: tuple[AllowedOrigin, ...] = ()
    env_patterns: tuple[str, ...] = ()
    roots: tuple[Path, ...] = ()
    commands: tuple[str, ...] = ()
    tree: Path = Path()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], tree: Path | None = None) -> OperatorPolicy:
        """The allow-lists `environ` sets; `tree` (default: the working directory) is the checkout."""
        base = (tree if tree is not None else Path.cwd()).resolve()
        return cls(
            endpoints=tuple(_origin(entry) for entry in _entries(environ, ENDPOINTS_VAR)),
            env_patterns=tuple(_env_pattern(entry) for entry in _entries(environ, ENV_VAR)),
            roots=tuple(_root(entry, base) for entry in _entries(environ, PATHS_VAR)),
            commands=tuple(_entries(environ, COMMANDS_VAR)),
            tree=base,
        )

    # ---- endpoints ---------------------------------------------------------------------------

    def endpoint_rule(self, url: str) -> str | None:
        """Why `url` may be called (`CleverTap's region host`, or the allow-list); None: it may not."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        host = (parts.hostname or "").lower()
        if parts.scheme == "https" and host in CLEVERTAP_HOSTS and port in (None, 443):
            return "CleverTap's region host"
        for origin in self.endpoints:
            if origin.admits(parts.scheme, host, port):
                return f"allowed by {ENDPOINTS_VAR} ({origin})"
        return None

    def endpoint_problem(self, url: str, what: str, shown: str | None = None) -> str | None:
        """The refusal for a URL the config names but the operator did not allow (`shown`: how to
        name it instead of its origin, for a value interpolated from the environment)."""
        if self.endpoint_rule(url) is not None:
            return None
        return (
            f"{what}: {shown or _origin_text(url)} is not one of CleverTap's region hosts, and the operator "
            f"has not allowed it: a config never chooses where credentials go (set {ENDPOINTS_VAR} "
            "in the pipeline's environment to allow an origin)"
        )

    # ---- environment variables ---------------------------------------------------------------

    def may_read(self, name: str) -> bool:
        """Whether a config may read the variable `name` at all."""
        if name.startswith(CONFIG_ENV_PREFIX):
            return True
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.env_patterns)

    def env_problem(self, name: str, key: str, *, credential: bool) -> str | None:
        """Why a config may not name `name` in `key` (a `*_env` key: `credential`), or None."""
        if not self.may_read(name):
            return (
                f"{key}: the config may not read the environment variable {name}: a config reads only "
                f"variables named {CONFIG_ENV_PREFIX}… unless the operator allows more ({ENV_VAR})"
            )
        if credential and not is_credential_name(name):
            return (
                f"{key}: {name} does not look like a credential's variable: name it ending in "
                + ", ".join(CREDENTIAL_SUFFIXES)
                + " (such variables are never interpolated, so a plan can never print one)"
            )
        return None

    def interpolation_problem(self, name: str) -> str | None:
        """Why `${name}` may not be read into a config value, or None."""
        if is_credential_name(name):
            return (
                f"'${{{name}}}': a credential's variable is never interpolated (values can be shown "
                "in a plan); name it in a *_env key instead"
            )
        if not self.may_read(name):
            return (
                f"'${{{name}}}': the config may not read the environment variable {name}: a config "
                f"reads only variables named {CONFIG_ENV_PREFIX}… unless the operator allows more ({ENV_VAR})"
            )
        return None

    # ---- paths and commands ------------------------------------------------------------------

    def path_problem(self, path: str, key: str, shown: str | None = None) -> str | None:
        """Why a path the config names leaves the tree (absolute, `..`, a link out), or None."""
        resolved = (self.tree / path).resolve()  # follows every link that exists
        for root in (self.tree, *self.roots):
            if resolved == root or resolved.is_relative_to(root):
                return None
        return (
            f"{key}: {shown or repr(path)} resolves outside the working tree ({self.tree}): a config keeps "
            f"its files inside it (no absolute path, '..' or link out) unless the operator allows a root "
            f"({PATHS_VAR})"
        )

    def command_problem(self, command: str | Sequence[str]) -> str | None:
        """Why the command sink may not run `command`, or None.

        An entry allows one whole command, word for word: a list's words as the shell would quote
        them (`vault-put` alone, or `sh ./store-secret.sh`), a string as written. An allowed program
        never admits arguments the config adds: `vault` with the config's own `-address=` would
        send every secret wherever the config says.
        """
        if "*" in self.commands:
            return None
        if isinstance(command, str):
            shown = command.strip()
            if shown in self.commands:
                return None
        else:
            shown = shlex.join(command)
            if shown in {_command_words(entry) for entry in self.commands}:
                return None
        return (
            f"command: the command sink would run {shown!r}, which the operator has not allowed: "
            f"a config never chooses where secrets go (list the whole command in {COMMANDS_VAR})"
        )


def is_credential_name(name: str) -> bool:
    """Whether `name` is named like a credential's variable (`CT_PROD_PASSCODE`, `CI_JOB_TOKEN`)."""
    return name.upper().endswith(CREDENTIAL_SUFFIXES)


def _entries(environ: Mapping[str, str], var: str) -> Iterator[str]:
    raw = environ.get(var, "")
    if len(raw) > _MAX_ENTRIES * _MAX_ENTRY:
        raise PolicyError(f"{var} is too long ({len(raw):,} characters)")
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if len(entries) > _MAX_ENTRIES:
        raise PolicyError(f"{var} lists {len(entries)} entries; at most {_MAX_ENTRIES} are read")
    yield from entries


def _command_words(entry: str) -> str:
    """An allow-list entry as the words a list command would join to ('' if it does not parse)."""
    try:
        return shlex.join(shlex.split(entry))
    except ValueError:
        return ""


def _origin(entry: str) -> AllowedOrigin:
    scheme, sep, rest = entry.partition("://")
    host, colon, port = rest.rstrip("/").rpartition(":") if rest.count(":") else (rest.rstrip("/"), "", "")
    if colon and not host:
        host, port = port, ""
    valid = sep and scheme in ("http", "https") and host and "/" not in host and "@" not in host
    if not valid or not (port == "" or port == "*" or (port.isdigit() and 0 < int(port) < 65536)):
        raise PolicyError(
            f"{ENDPOINTS_VAR}: {entry[:100]!r} is not an origin; expected scheme://host[:port] "
            "such as https://state.example.com or http://127.0.0.1:* (any port)"
        )
    parsed_port: int | str | None = None if port == "" else ("*" if port == "*" else int(port))
    return AllowedOrigin(scheme, host.lower(), parsed_port)


def _env_pattern(entry: str) -> str:
    body = entry[:-1] if entry.endswith("*") else entry
    if not body.replace("_", "A").isalnum() and body != "":
        raise PolicyError(f"{ENV_VAR}: {entry[:100]!r} is not a variable name or PREFIX*")
    return entry


def _root(entry: str, base: Path) -> Path:
    path = Path(entry)
    if not path.is_absolute():
        raise PolicyError(f"{PATHS_VAR}: {entry[:200]!r} is not an absolute directory")
    return path.resolve()


def _origin_text(url: str) -> str:
    """The scheme, host and port of a URL, never its path, query or user information."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the URL"
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + ("" if port is None else f":{port}")


def current_policy(environ: Mapping[str, str] | None = None) -> OperatorPolicy:
    """The policy of this run: the process environment, the working directory as the tree."""
    return OperatorPolicy.from_environ(os.environ if environ is None else environ)


# ---- a loaded config against the policy ----------------------------------------------------------


def trust_problems(config: Config, sources: SourceMap, policy: OperatorPolicy) -> list[Problem]:
    """Every place where `config` decides something only the operator may, located."""
    found: list[Problem] = []

    def refuse(path: KeyPath, message: str | None) -> None:
        if message is not None:
            found.append(sources.value_at(path).problem(message))

    def shown(path: KeyPath) -> str | None:
        """What the file wrote, for a value interpolated from the environment (never shown)."""
        written = sources.written_at(path)
        return None if written is None else f"{written!r} (after interpolation)"

    for path, url in _endpoints(config):
        if url_problem(url) is not None:
            continue  # not a URL at all: the config's own rules say so
        refuse(path, policy.endpoint_problem(url, ".".join(str(p) for p in path), shown(path)))
    for path, name, credential in _env_names(config):
        refuse(path, policy.env_problem(name, str(path[-1]), credential=credential))
    for path, file in _paths(config):
        refuse(path, policy.path_problem(file, ".".join(str(p) for p in path), shown(path)))
    secrets = config.secrets
    if isinstance(secrets, CommandSinkConfig):
        refuse(("secrets", "command"), policy.command_problem(secrets.command))
    return found


def _endpoints(config: Config) -> Iterator[tuple[KeyPath, str]]:
    provider, state, secrets = config.provider, config.state, config.secrets
    if isinstance(provider, ClevertapProviderConfig | DashboardProviderConfig) and provider.base_url:
        yield ("provider", "base_url"), provider.base_url
    if isinstance(state, HttpStateConfig):
        for key in ("address", "lock_address", "unlock_address"):
            url = getattr(state, key)
            if url:
                yield ("state", key), url
    if isinstance(state, S3StateConfig) and state.endpoint_url:
        yield ("state", "endpoint_url"), state.endpoint_url
    if isinstance(secrets, AwsSecretsManagerSinkConfig | AwsSsmSinkConfig) and secrets.endpoint_url:
        yield ("secrets", "endpoint_url"), secrets.endpoint_url


def _env_names(config: Config) -> Iterator[tuple[KeyPath, str, bool]]:
    """(where, variable, whether it holds a credential) for every variable the config names."""
    state = config.state
    if isinstance(state, PostgresStateConfig):
        yield ("state", "dsn_env"), state.dsn_env, True
    if isinstance(state, HttpStateConfig):
        if state.username_env:
            yield ("state", "username_env"), state.username_env, False
        if state.password_env:
            yield ("state", "password_env"), state.password_env, True
    for alias, account in config.accounts.items():
        if account.credentials is not None:
            path: KeyPath = ("accounts", alias, "credentials", "passcode_env")
            yield path, account.credentials.passcode_env, True


def _paths(config: Config) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(config.state, LocalStateConfig):
        yield ("state", "path"), config.state.path
    if isinstance(config.provider, SandboxProviderConfig):
        yield ("provider", "path"), config.provider.path
    if isinstance(config.secrets, FileSinkConfig | EnvFileSinkConfig):
        yield ("secrets", "path"), config.secrets.path


# ---- the trust surface: what a reviewer must see change ------------------------------------------


def trust_surface(config: Config) -> dict[str, str]:
    """Where credentials, secrets and state go, as `{section: words}`; state records it on every
    write, so a plan can show a change to it (the markdown plan's CAUTION block)."""
    surface = {
        "provider": _section_words(config.provider.model_dump(mode="json", by_alias=True)),
        "state": _section_words(config.state.model_dump(mode="json", by_alias=True)),
        "secrets": _section_words(config.secrets.model_dump(mode="json", by_alias=True)),
    }
    for alias, account in sorted(config.accounts.items()):
        if account.credentials is not None:
            surface[f"accounts.{alias}.credentials"] = f"passcode_env={account.credentials.passcode_env}"
        surface[f"accounts.{alias}.region"] = config.region_of(alias)
    return surface


def _section_words(dumped: dict[str, object]) -> str:
    """`kind=clevertap, base_url=https://…`: the section's tag first, then its other settings."""
    tags = ("kind", "backend", "sink")
    first = [f"{k}={dumped[k]}" for k in tags if k in dumped]
    rest = [f"{k}={v}" for k, v in sorted(dumped.items()) if k not in tags and v is not None]
    return ", ".join(first + rest)


def endpoint_words(config: Config, policy: OperatorPolicy) -> str:
    """Where the provider sends credentials, and on whose say: for `plan` to state."""
    provider = config.provider
    if isinstance(provider, SandboxProviderConfig):
        return f"the embedded sandbox ({provider.path}; no network)"
    if provider.base_url:
        rule = policy.endpoint_rule(provider.base_url) or "not allowed"
        return f"{_origin_text(provider.base_url)} ({rule})"
    hosts = sorted({REGION_HOSTS[config.region_of(alias)] for alias in config.accounts})
    return "CleverTap's region hosts (" + ", ".join(hosts or ["none configured"]) + ")"

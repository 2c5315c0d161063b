"""YAML → validated `Config`: models, loader with file:line:col problems, env interpolation."""

from ctconfig.config.errors import ConfigError, ConfigNotFoundError, Problem
from ctconfig.config.loader import LoadedConfig, discover_config, load_config, load_from_cli
from ctconfig.config.spec import Config

__all__ = [
    "Config",
    "ConfigError",
    "ConfigNotFoundError",
    "LoadedConfig",
    "Problem",
    "discover_config",
    "load_config",
    "load_from_cli",
]

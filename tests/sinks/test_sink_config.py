"""The `secrets:` sections of the AWS sinks: defaults, refusals for people, and `open_sink`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctconfig.config.errors import ConfigError
from ctconfig.config.loader import load_config
from ctconfig.sinks import open_sink
from ctconfig.sinks.aws_secrets_manager import AwsSecretsManagerSink
from ctconfig.sinks.aws_ssm import AwsSsmSink
from ctconfig.sinks.command import CommandSink
from ctconfig.sinks.env_file import EnvFileSink
from ctconfig.sinks.file import FileSink


def load(tmp_path: Path, secrets: str) -> object:
    path = tmp_path / "ctconfig.yaml"
    path.write_text(f"version: 1\nsecrets:\n{secrets}")
    return load_config(path).config


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [
        ("  sink: file\n", FileSink),
        ("  sink: env-file\n", EnvFileSink),
        ("  sink: command\n  command: cat\n", CommandSink),
        ("  sink: aws-secrets-manager\n  region: eu-west-1\n", AwsSecretsManagerSink),
        ("  sink: aws-ssm\n  region: eu-west-1\n  kms_key_id: alias/ct\n", AwsSsmSink),
    ],
)
def test_open_sink_builds_the_configured_sink(
    tmp_path: Path, secrets: str, expected: type, aws_sink_env: dict[str, str]
) -> None:
    config = load(tmp_path, secrets)
    sink = open_sink(config.secrets)  # type: ignore[attr-defined]
    assert isinstance(sink, expected)
    assert sink.can_read_back is (expected is not CommandSink)


def test_aws_defaults(tmp_path: Path) -> None:
    sm = load(tmp_path, "  sink: aws-secrets-manager\n").secrets  # type: ignore[attr-defined]
    ssm = load(tmp_path, "  sink: aws-ssm\n").secrets  # type: ignore[attr-defined]
    assert (sm.prefix, sm.region, sm.endpoint_url, sm.kms_key_id, sm.max_inflight) == (
        "ctconfig/",
        None,
        None,
        None,
        8,
    )
    assert (ssm.prefix, ssm.max_inflight) == ("/ctconfig/", 8)


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [
        ("  sink: aws-ssm\n  prefix: ctconfig/\n", "prefix: expected '/' and up to 12 segments"),
        ("  sink: aws-ssm\n  prefix: /SSM-params/\n", "AWS reserves them"),
        ("  sink: aws-secrets-manager\n  prefix: ct\n", "prefix: expected path segments"),
        ("  sink: aws-secrets-manager\n  prefix: a b/\n", "prefix: expected path segments"),
        ("  sink: aws-secrets-manager\n  region: Europe\n", "region: expected an AWS region"),
        ("  sink: aws-ssm\n  endpoint_url: ftp://x\n", "endpoint_url: expected an http:// or https:// URL"),
        ("  sink: aws-ssm\n  max_inflight: 99\n", "max_inflight: expected a number at most 32"),
        ("  sink: aws-ssm\n  kms_key: x\n", "unknown key 'kms_key'"),
    ],
)
def test_refusals_name_the_place_and_what_was_expected(tmp_path: Path, secrets: str, expected: str) -> None:
    with pytest.raises(ConfigError) as failed:
        load(tmp_path, secrets)
    assert "ctconfig.yaml:4:" in str(failed.value) and expected in str(failed.value)

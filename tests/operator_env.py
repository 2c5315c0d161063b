"""The operator's allow-lists of the test run (ctconfig/config/trust.py), and clean child environments.

Tests start servers on loopback and keep files in the temporary directory, and some use
throwaway command sinks: the pipeline (here, the test run) allows them, as an operator
would with `CTCONFIG_ALLOWED_*`. Tests of the allow-lists themselves (tests/untrusted)
set their own, or empty ones ("" allows nothing beyond the defaults).
"""

from __future__ import annotations

import os
import tempfile

TEST_OPERATOR_ENV = {
    "CTCONFIG_ALLOWED_ENDPOINTS": "http://127.0.0.1:*,http://localhost:*",
    "CTCONFIG_ALLOWED_PATHS": os.path.realpath(tempfile.gettempdir()),
    "CTCONFIG_ALLOWED_COMMANDS": "*",
    # journals the state's own store cannot hold (the http backend's) stay out of $HOME
    "CTCONFIG_JOURNAL_DIR": tempfile.mkdtemp(prefix="ctconfig-journals-"),
}


def clean_env(*drop_prefixes: str) -> dict[str, str]:
    """This process's environment without ctconfig's settings (and `drop_prefixes`), plus the
    test run's allow-lists: what a command started by a test sees."""
    prefixes = ("CTCONFIG_", *drop_prefixes)
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(TEST_OPERATOR_ENV)
    return env

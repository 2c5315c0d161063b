"""Shared test set-up: hypothesis profiles and the installed `ctconfig` command."""

from __future__ import annotations

import compileall
import gc
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.inprocess import run_in_process
from tests.operator_env import TEST_OPERATOR_ENV

for _name, _value in TEST_OPERATOR_ENV.items():
    os.environ.setdefault(_name, _value)  # children started with os.environ inherit them


def pytest_configure(config: pytest.Config) -> None:
    """Compile ctconfig once and keep pytest's rewritten test modules, even where
    PYTHONDONTWRITEBYTECODE is set (as on the shared machines).

    Without compiled files every `ctconfig` child process (sandbox servers, `process`
    tests) compiles each module it imports again, ~0.2 s apiece, and every xdist worker
    rewrites and compiles all ~100 test modules again, ~5 s apiece. `.ci/run` and the
    benches compile ctconfig the same way; `__pycache__/` is git-ignored.
    """
    import ctconfig

    compileall.compile_dir(Path(ctconfig.__file__).parent, quiet=1)
    sys.dont_write_bytecode = False  # lets the assertion rewriter cache test modules
    _hypothesis_profiles()  # imported only now, so its rewritten modules are cached too


def _hypothesis_profiles() -> None:
    """`ci` (the default) keeps property tests quick; HYPOTHESIS_PROFILE=dev digs deeper.

    hypothesis ships a pytest plugin, so pytest rewrites the asserts of all its ~70
    modules; imported before `pytest_configure` they were rewritten in every process and
    never cached.
    """
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.register_profile("dev", max_examples=100, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Wait for sandbox servers served from threads that were told to stop (tests/threaded_sandbox.py)."""
    threaded = sys.modules.get("tests.threaded_sandbox")
    if threaded is not None:
        threaded.join_stopping()




def ctconfig_executable() -> list[str]:
    """The installed console script, next to the running interpreter when possible."""
    beside = Path(sys.executable).with_name("ctconfig")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ctconfig")
    if found:
        return [found]
    return [sys.executable, "-m", "ctconfig"]


RunCtconfig = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_ctconfig(tmp_path: Path, request: pytest.FixtureRequest) -> RunCtconfig:
    """Run `ctconfig ARGS` in `tmp_path` (or `cwd=`), capturing text output.

    In this process by default (tests/inprocess.py: same arguments, directory,
    environment and stdin, without paying start-up per command); as the installed
    console script in a child process for tests marked `process`, whose point is the
    process itself or the installed command end to end.
    """
    in_process = request.node.get_closest_marker("process") is None

    def run(
        *args: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")}
        full_env.update(TEST_OPERATOR_ENV)
        full_env["NO_COLOR"] = "1"
        if env:
            full_env.update(env)
        if in_process:
            return run_in_process(list(args), cwd or tmp_path, full_env, input)
        return subprocess.run(
            [*ctconfig_executable(), *args],
            cwd=cwd or tmp_path,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture(autouse=True)
def collector_given_back() -> Iterator[None]:
    """Loading a config and planning freeze what exists for the rest of the command (a process
    ends soon after); a test process goes on, so each test gives the collector its objects back."""
    yield
    gc.unfreeze()


@pytest.fixture(scope="session", autouse=True)
def ca_bundle_loaded_once() -> Iterator[None]:
    """httpx's default TLS context (the CA bundle, ~40 ms to load) is made once per test process.

    ctconfig makes one per command (the clevertap provider's session, the http state
    backend's client), and the tests run hundreds of commands in this process, all over
    plain-HTTP loopback servers. Only default contexts are shared, one per CA location
    httpx reads (SSL_CERT_FILE / SSL_CERT_DIR, as set when asked); a context with
    verify=... or cert=... is made as asked.
    """
    import httpx
    import httpx._config
    import httpx._transports.default

    original = httpx._config.create_ssl_context
    shared: dict[tuple[str | None, ...], Any] = {}

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert is not None:
            return original(verify=verify, cert=cert, trust_env=trust_env)
        where = ("env", os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        key = where if trust_env else ("no env",)
        if key not in shared:
            shared[key] = original(verify=verify, cert=cert, trust_env=trust_env)
        return shared[key]

    modules = (httpx, httpx._config, httpx._transports.default)
    for module in modules:
        module.create_ssl_context = create_ssl_context  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in modules:
            module.create_ssl_context = original  # type: ignore[attr-defined]


# -- a real S3 API (moto's standalone server) for the s3 state backend ---------------------
# One server per session (it takes a second to start), one fresh bucket per test.

DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _moto_server(extra_env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Start `python -m moto.server` on a free port, yield its URL, always stop it."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port), "-H", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(extra_env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.kill()  # a throwaway store: nothing to shut down gracefully (SIGTERM took ~0.4 s)
        process.wait()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server that accepts any credentials."""
    yield from _moto_server()


@pytest.fixture(scope="session")
def moto_endpoint_checking_credentials() -> Iterator[str]:
    """A moto S3 server that checks access keys, to see how bad credentials are reported."""
    yield from _moto_server({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})


@pytest.fixture(scope="session")
def botocore_models_read_once() -> Iterator[None]:
    """Every botocore session in this test process shares one loader of AWS's service models.

    ctconfig makes a boto3 session per state backend and per AWS sink (one each in a command);
    the tests make hundreds, and each new session parsed the S3, SSM and Secrets Manager models
    and endpoint rules again (~0.3 s of a ~0.4 s session and client). The models are data
    shipped with botocore: sharing their loader changes nothing a test looks at.
    """
    import botocore.loaders
    import botocore.session

    original = getattr(botocore.session.Session, "_register_data_loader", None)
    if original is None:  # botocore changed its internals: slower, not wrong
        yield
        return
    loaders: dict[Any, Any] = {}

    def register_shared_loader(self: Any) -> None:
        def shared_loader() -> Any:
            # Read as botocore reads it: a bad AWS_PROFILE still fails here, as it did.
            data_path = self.get_config_variable("data_path")
            if data_path not in loaders:
                loaders[data_path] = botocore.loaders.create_loader(data_path)
            return loaders[data_path]

        self._components.lazy_register_component("data_loader", shared_loader)

    botocore.session.Session._register_data_loader = register_shared_loader
    try:
        yield
    finally:
        botocore.session.Session._register_data_loader = original


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, botocore_models_read_once: None) -> dict[str, str]:
    """Dummy credentials in the environment, as boto3 reads them."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return dict(DUMMY_AWS_ENV)


@pytest.fixture
def s3_client(moto_endpoint: str, aws_env: dict[str, str]) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """A fresh, empty bucket for one test."""
    name = f"ctconfig-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_config(moto_endpoint: str, s3_bucket: str) -> dict[str, Any]:
    """The `state:` block of a config that points at the test bucket."""
    return {
        "backend": "s3",
        "bucket": s3_bucket,
        "key": "team/ctconfig.state.json",
        "region": "us-east-1",
        "endpoint_url": moto_endpoint,
    }


@pytest.fixture
def subprocess_env(aws_env: dict[str, str]) -> dict[str, str]:
    """The environment for a child process that talks to the test bucket."""
    return {**os.environ, **aws_env}


# -- a real PostgreSQL for the postgres backend, the journal and the crash trials -------------
# The same in CI and under the README's test command: $CTCONFIG_TEST_PG_DSN if set (.ci/run sets
# it), else a throwaway cluster this test process starts; no test skips for want of the variable.

PG_DSN_ENV = "CTCONFIG_TEST_PG_DSN"


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


def _run_as_postgres(args: list[str], check: bool = True) -> None:
    """initdb and pg_ctl refuse to run as root: run them as the `postgres` user."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    subprocess.run(args, check=check, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """$CTCONFIG_TEST_PG_DSN, else a throwaway cluster on 127.0.0.1 that is always stopped."""
    if os.environ.get(PG_DSN_ENV):
        yield os.environ[PG_DSN_ENV]
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip(f"no PostgreSQL: set {PG_DSN_ENV} or install initdb/pg_ctl (.ci/start-postgres)")
    base = Path(tempfile.mkdtemp(prefix="ctconfig-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()
    log = base / "server.log"
    _run_as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run_as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"])
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        _run_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(base, ignore_errors=True)

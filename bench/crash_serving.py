"""What bench/crash_points.py runs its applies against and in: the sandbox served from a thread (with one
create whose outcome is unknown), the three places state lives (local, PostgreSQL, S3), and a zygote
that forks each `ctconfig` from an interpreter that has imported it already.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from ctconfig.failpoints import ENV
from ctconfig.sandbox.faults import FaultSettings, error_body, send_json
from ctconfig.sandbox.server import create_app, listening_socket
from ctconfig.sandbox.store import SandboxStore

LIMBO = "limbo"
"""The passcode whose create has an unknown outcome."""
LIMBO_ACCOUNT = "TEST-222-ZZK-002Z"


# -- the sandbox, served from a thread, with one create whose outcome is unknown --------------------


class Limbo:
    """ASGI in front of the sandbox: when armed, the create of `limbo` in account `two` is made and
    answered 500, and the listing of that account that follows is answered 500 (once each)."""

    def __init__(self) -> None:
        self.app: Any = None
        self.armed = False
        self._created = self._listed = False

    def use(self, app: Any, armed: bool) -> None:
        self.app, self.armed = app, armed
        self._created = self._listed = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.armed or not self._ours(scope):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == "/1/passcodes.json" and not self._created:
            body, more = b"", True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            sent = False

            async def replay() -> dict[str, Any]:
                nonlocal sent
                if sent:
                    return {"type": "http.disconnect"}
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            if json.loads(body or b"{}").get("name") == LIMBO:
                self._created = True

                async def swallow(message: Any) -> None:
                    return None

                await self.app(scope, replay, swallow)  # made and committed; the answer is lost
                await send_json(send, 500, error_body(500, "injected: made, answer lost"), [])
                return
            await self.app(scope, replay, send)
            return
        if method == "GET" and path == "/1/passcodes.json" and self._created and not self._listed:
            self._listed = True
            await send_json(send, 500, error_body(500, "injected: listing failed"), [])
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _ours(scope: Any) -> bool:
        return dict(scope["headers"]).get(b"x-clevertap-account-id", b"") == LIMBO_ACCOUNT.encode()


class SandboxServer:
    """One uvicorn server in a thread for the whole run; each workspace plugs its own store in."""

    def __init__(self) -> None:
        import uvicorn

        self.limbo = Limbo()
        self._store: SandboxStore | None = None
        sock = listening_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.limbo, http="h11", loop="asyncio", lifespan="off", log_config=None, log_level="error"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="crash-points sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)

    def serve(self, db: Path, limbo: bool) -> None:
        """Serve the accounts in `db` from now on (with `limbo` armed or not)."""
        self.close_store()
        self._store = SandboxStore(db)
        self.limbo.use(create_app(self._store, FaultSettings()), limbo)

    def close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self.close_store()


# -- where state lives ------------------------------------------------------------------------------


class StateBackend(Protocol):
    name: str

    def block(self, ws: Path, tag: str) -> str:
        """The config's `state:` block for the workspace `tag`."""
        ...

    def clone(self, source: str, target: str) -> None:
        """Copy what is stored for workspace `source` to workspace `target` (nothing for local state)."""
        ...

    def env(self) -> dict[str, str]: ...

    @property
    def recover_elsewhere(self) -> bool:
        """Whether the recovering run starts in another working directory (another CI runner)."""
        ...


class LocalState:
    name = "local"
    recover_elsewhere = False

    def block(self, ws: Path, tag: str) -> str:
        return f"state: {{backend: local, path: '{ws / 'ctconfig.state.json'}'}}"

    def clone(self, source: str, target: str) -> None:
        return None  # the files are copied with the workspace

    def env(self) -> dict[str, str]:
        return {}


class PostgresState:
    name = "postgres"
    recover_elsewhere = True

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.run_id = uuid.uuid4().hex[:8]

    def block(self, ws: Path, tag: str) -> str:
        return f"state: {{backend: postgres, dsn_env: CT_CRASH_PG_DSN, name: 'cp-{self.run_id}-{tag}'}}"

    def clone(self, source: str, target: str) -> None:
        import psycopg

        columns = "serial, lineage, digest, document, created, who, summary, audit"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(
                f"INSERT INTO ctconfig.state_versions (state_name, {columns}) "
                f"SELECT %s, {columns} FROM ctconfig.state_versions WHERE state_name = %s",
                (f"cp-{self.run_id}-{target}", f"cp-{self.run_id}-{source}"),
            )

    def env(self) -> dict[str, str]:
        return {"CT_CRASH_PG_DSN": self.dsn}


class S3State:
    name = "s3"
    recover_elsewhere = True

    def __init__(self, endpoint: str) -> None:
        import boto3

        self.endpoint = endpoint
        self.bucket = f"crash-points-{uuid.uuid4().hex[:12]}"
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_aws_keys())
        self.client.create_bucket(Bucket=self.bucket)

    def block(self, ws: Path, tag: str) -> str:
        return (
            f"state: {{backend: s3, bucket: {self.bucket}, key: '{tag}/ctconfig.state.json', "
            f"region: us-east-1, endpoint_url: '{self.endpoint}'}}"
        )

    def clone(self, source: str, target: str) -> None:
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{source}/")
        for item in listed.get("Contents", []):
            key = f"{target}/{item['Key'][len(source) + 1 :]}"
            copy = {"Bucket": self.bucket, "Key": item["Key"]}
            self.client.copy_object(Bucket=self.bucket, Key=key, CopySource=copy)

    def env(self) -> dict[str, str]:
        return {k.upper(): v for k, v in _aws_keys().items()} | {"AWS_DEFAULT_REGION": "us-east-1"}


def _aws_keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


# -- the applies under test: children forked from an interpreter that has imported ctconfig --------


WARM = (
    "ctconfig.cli",
    "ctconfig.cli.apply_view",
    "ctconfig.service.applying",
    "ctconfig.service.recovery",
    "ctconfig.providers.factory",
    "ctconfig.providers.clevertap",
    "ctconfig.state.backends",
    "ctconfig.state.local",
    "ctconfig.state.postgres",
    "ctconfig.state.s3",
    "ctconfig.sinks.file",
    "ctconfig.config.loader",
    "ctconfig.render.plan_text",
    "httpx",
    "boto3",
)


def zygote() -> None:
    """Import what an apply needs once, then fork one child per request read on stdin (one JSON line:
    args, cwd, env, out, err) and answer its exit status on stdout. No thread runs here, so a fork is
    safe; each child is a fresh `ctconfig` process but for the imports (~0.4 s of CPU saved per apply)."""
    import importlib

    from ctconfig import failpoints

    for name in WARM:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request, failpoints.from_environment)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)


def _child(request: dict[str, Any], arm: Callable[[], None]) -> None:
    """In the forked child: become `ctconfig ARGS` in its directory and environment, and exit."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, path in ((0, os.devnull), (1, request["out"]), (2, request["err"])):
            target = os.open(path, os.O_RDWR | os.O_CREAT | (os.O_TRUNC if fd else 0), 0o600)
            os.dup2(target, fd)
            os.close(target)
        arm()
        from ctconfig.cli import main

        try:
            main_args = request["args"]
            sys.argv = ["ctconfig", *main_args]
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class Zygote:
    """`python bench/crash_points.py --zygote`, and the applies it forks."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve().with_name("crash_points.py")), "--zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if k != ENV},
        )
        self._mutex = threading.Lock()

    def run(self, args: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        """`ctconfig ARGS` as a child forked from the zygote; its exit status and output."""
        assert self._process.stdin is not None and self._process.stdout is not None
        with tempfile.TemporaryDirectory(prefix="ctconfig-zygote-") as scratch:
            out, err = Path(scratch) / "out", Path(scratch) / "err"
            request = {"args": args, "cwd": str(cwd), "env": dict(env), "out": str(out), "err": str(err)}
            with self._mutex:
                self._process.stdin.write(json.dumps(request) + "\n")
                self._process.stdin.flush()
                answer = self._process.stdout.readline()
            if not answer:
                raise RuntimeError("the zygote process ended")
            return subprocess.CompletedProcess(args, int(answer), out.read_text(), err.read_text())

    def stop(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

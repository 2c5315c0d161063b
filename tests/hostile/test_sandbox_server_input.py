"""Hostile input to `ctconfig sandbox serve` (issue 12.11), over a real socket: huge bodies are
refused before they reach memory, deep JSON is a 400, idempotency keys keep to the contract's
pattern, and a deleted passcode's secret is never replayed. No traceback reaches the log."""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlsplit

import httpx
import pytest

from tests.sandbox.conftest import SEEDED_ACCOUNT as ACCOUNT
from tests.sandbox.conftest import LoggedServer

MiB = 1024 * 1024
CREATE = {"name": "seg", "expires_in_days": 30}


def raw_exchange(server: LoggedServer, head: str, body_chunks: int = 0, chunk: bytes = b"") -> bytes:
    """Send a request head (and chunked body data from a second thread, until the server
    hangs up), then read the whole answer: the way a misbehaving client talks."""
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head.encode())

        def pour() -> None:
            framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            try:
                for _ in range(body_chunks):
                    sock.sendall(framed)
            except OSError:
                pass  # the server hung up, as it should

        sender = threading.Thread(target=pour)
        sender.start()
        answer = b""
        try:
            while part := sock.recv(65536):
                answer += part
        except ConnectionResetError:
            pass
        sender.join(timeout=30)
    return answer


def head(server: LoggedServer, secret: str, path: str, extra: str) -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/json\r\n"
        f"X-CleverTap-Account-Id: {ACCOUNT}\r\nX-CleverTap-Passcode: {secret}\r\n{extra}\r\n"
    )


def status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    status_line, _, rest = answer.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(body)


def account_passcode(server: LoggedServer) -> str:
    with server.store() as store:
        store.ensure_account(ACCOUNT)
        return store.create_passcode(ACCOUNT, "integration", 30, dashboard=True)[1]


def test_a_300_mb_body_is_refused_by_its_declared_length_without_being_read(
    served_process: LoggedServer,
) -> None:
    served = served_process
    admin = served.admin()
    before = served.rss_kib()
    answer = raw_exchange(served, head(served, admin, "/1/passcodes.json", "Content-Length: 300000000\r\n"))
    # The unread body leaves the connection unusable: it is closed at once, not at the keep-alive timeout.
    assert b"\r\nconnection: close\r\n" in answer.lower()
    assert status_and_body(answer) == (
        413,
        {
            "status": "fail",
            "error": "the request body is larger than this endpoint accepts (16384 bytes)",
            "code": 413,
        },
    )
    anonymous = raw_exchange(
        served, "POST /1/upload HTTP/1.1\r\nHost: s\r\nContent-Length: 300000000\r\n\r\n"
    )  # refused before authentication too
    assert status_and_body(anonymous)[0] == 413
    assert served.rss_kib() - before < 20 * 1024
    assert "Traceback" not in served.log_text()


@pytest.mark.parametrize(("path", "limit"), [("/1/upload", MiB), ("/1/passcodes.json", 16 * 1024)])
def test_a_body_without_a_length_is_cut_off_at_the_limit(
    served_process: LoggedServer, path: str, limit: int
) -> None:
    served = served_process
    secret = account_passcode(served) if path == "/1/upload" else served.admin()
    before = served.rss_kib()
    answer = raw_exchange(
        served,
        head(served, secret, path, "Transfer-Encoding: chunked\r\n"),
        body_chunks=4800,
        chunk=b" " * 65536,
    )  # 300 MiB offered
    assert status_and_body(answer) == (
        413,
        {
            "status": "fail",
            "error": f"the request body is larger than this endpoint accepts ({limit} bytes)",
            "code": 413,
        },
    )
    assert b"connection: close" in answer.lower()
    assert served.rss_kib() - before < 20 * 1024
    assert "Traceback" not in served.log_text()


@pytest.mark.parametrize("path", ["/1/passcodes.json", "/1/upload"])
def test_deeply_nested_json_is_a_400_not_a_500(served: LoggedServer, path: str) -> None:
    secret = account_passcode(served) if path == "/1/upload" else served.admin()
    with httpx.Client(base_url=served.url, headers=served.headers(secret)) as client:
        for depth in (33, 5000, 100_000):
            body = ("[" * depth + "]" * depth).encode()
            if len(body) > 16 * 1024 and path != "/1/upload":
                continue
            answer = client.post(path, content=body)
            assert (answer.status_code, answer.json()) == (
                400,
                {
                    "status": "fail",
                    "error": "the body nests arrays and objects more than 32 levels deep",
                    "code": 400,
                },
            ), depth
        shallow = client.post(path, content=b"[[[[]]]]")
        assert shallow.status_code == 400 and "nests" not in shallow.json()["error"]
    assert served.stats()["by_status"].get("500") is None
    assert "Traceback" not in served.log_text()


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "x", "expires_in_days": NaN}',
        b'{"name": "x", "expires_in_days": 1e400}',
        b'{"name": "\xff"}',
        b'{"name": "x", "expires_in_days": ' + b"9" * 5000 + b"}",
    ],
)
def test_numbers_and_bytes_json_cannot_carry_are_400(served: LoggedServer, body: bytes) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers(served.admin())) as client:
        answer = client.post("/1/passcodes.json", content=body)
    assert answer.status_code == 400 and answer.json()["error"] == "the body must be JSON (UTF-8)"
    assert "Traceback" not in served.log_text()


@pytest.mark.parametrize("key", ["has space", "dot.key", "k" * 200, "", "ключ"])
def test_idempotency_keys_outside_the_contracts_pattern_are_400(served: LoggedServer, key: str) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers(served.admin())) as client:
        answer = client.post("/1/passcodes.json", json=CREATE, headers={"Idempotency-Key": key.encode()})
        listed = client.get("/1/passcodes.json").json()["passcodes"]
    assert (answer.status_code, answer.json()) == (
        400,
        {"status": "fail", "error": "Idempotency-Key must be 1-128 letters, digits, '-' or '_'", "code": 400},
    )
    assert listed == []


def test_a_deleted_passcodes_secret_is_never_replayed(served: LoggedServer) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers(served.admin())) as client:
        created = client.post("/1/passcodes.json", json=CREATE, headers={"Idempotency-Key": "k1"})
        secret = created.json()["secret"]
        again = client.post("/1/passcodes.json", json=CREATE, headers={"Idempotency-Key": "k1"})
        assert again.json() == created.json() and again.headers["idempotent-replayed"] == "true"
        client.delete(f"/1/passcodes/{created.json()['passcode']['id']}.json").raise_for_status()
        after = client.post("/1/passcodes.json", json=CREATE, headers={"Idempotency-Key": "k1"})
        listed = client.get("/1/passcodes.json").json()["passcodes"]
    assert after.status_code == 409 and secret not in after.text
    assert after.json()["error"].startswith(
        "passcode 'seg' created with this idempotency key no longer exists"
    )
    assert listed == []  # and no duplicate either

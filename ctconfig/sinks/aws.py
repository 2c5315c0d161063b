"""What the AWS sinks share: a boto3 client from the standard AWS environment, one-line errors,
bounded concurrency for batches, and debug logs that cannot show a secret.

Credentials come only from boto3's standard chain (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE, instance or task
roles); the config names only the region, endpoint and KMS key. Each slot is
tagged `ctconfig:address` with the address that owns it: a slot without the
tag, or tagged with another address, is never overwritten.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ctconfig.redaction import RedactingFilter, remember_secret
from ctconfig.secret_slots import address_tag, slot_key, tag_address
from ctconfig.secrets import REDACTED, Secret
from ctconfig.sinks.base import SecretRef, SinkError, StoreOutcome, as_sink_error, secret_bytes, store_one

ADDRESS_TAG = "ctconfig:address"
ACCOUNT_ID_TAG = "ctconfig:account-id"
# botocore logs whole request and response bodies here at DEBUG: never let those through.
_BODY_LOGGERS = ("botocore.endpoint", "botocore.parsers")
_OTHER_LOGGERS = ("botocore.auth", "botocore.awsrequest", "botocore.httpsession", "botocore.hooks")
_CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "ExpiredToken",
    }
)
_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
_XML_CODE = re.compile(r"<Code>([A-Za-z]+)</Code>")
_MESSAGE_MAX = 200


class _NoBodies(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def guard_aws_logging() -> None:
    """Drop botocore's request/response body logs and redact the rest, whoever enables them."""
    for name in _BODY_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, _NoBodies) for f in target.filters):
            target.addFilter(_NoBodies())
    for name in (*_BODY_LOGGERS, *_OTHER_LOGGERS):
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


def aws_session(label: str, region: str | None) -> Any:
    """A boto3 session from the standard AWS environment; `SinkError` when boto3 or a region is missing."""
    try:
        import boto3
    except ImportError:
        raise SinkError(f"the {label} sink needs boto3: pip install 'ctconfig[aws]'") from None
    guard_aws_logging()
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.session.Session(region_name=region)
    except ProfileNotFound as exc:
        raise SinkError(f"the {label} sink: {exc}") from None  # names the profile, nothing secret
    except Exception as exc:
        raise as_sink_error(exc, f"could not set up AWS for the {label} sink") from None
    if not session.region_name:
        raise SinkError(f"the {label} sink needs an AWS region: set `region` in `secrets:` or AWS_REGION")
    return session


def aws_client(session: Any, service: str, endpoint_url: str | None, *, pool: int, attempts: int = 3) -> Any:
    """A client with bounded timeouts and retries, at most `pool` connections."""
    from botocore.config import Config as BotoConfig

    config = BotoConfig(
        connect_timeout=5,
        read_timeout=20,
        retries={"max_attempts": attempts, "mode": "standard"},
        max_pool_connections=pool,
    )
    return session.client(service, endpoint_url=endpoint_url, config=config)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore `ClientError` ('' for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def aws_error(exc: BaseException, doing: str, secret: Secret | None = None) -> SinkError:
    """A botocore failure as one line a user can act on; never the secret, never a body."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, SinkError):
        return exc
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return SinkError(
            f"{doing}: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
        )
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return SinkError(f"{doing}: cannot reach {exc.kwargs.get('endpoint_url', 'AWS')}")
    if isinstance(exc, ClientError):
        return _client_error(exc, doing, secret)
    return as_sink_error(exc, doing, secret)


def _client_error(exc: BaseException, doing: str, secret: Secret | None) -> SinkError:
    code = error_code(exc)
    response = getattr(exc, "response", {})
    message = str(response.get("Error", {}).get("Message", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if not code or code.isdigit():  # an XML error body (some proxies, moto) hides the real code
        found = _XML_CODE.search(message)
        code = found[1] if found else code
    if code in _CREDENTIAL_CODES:
        return SinkError(f"{doing}: AWS refused the credentials ({code})")
    if code in _DENIED_CODES or status == 403:
        return SinkError(f"{doing}: access denied ({code or status})")
    summary = message.splitlines()[0][:_MESSAGE_MAX] if message and not message.startswith("<") else ""
    text = f"{doing}: AWS error {code or status or 'unknown'}" + (f": {summary}" if summary else "")
    if secret is not None and secret.reveal():
        text = text.replace(secret.reveal(), REDACTED)
    return SinkError(text)


class AwsSink(ABC):
    """Store and read through one boto3 client; a batch runs `max_inflight` secrets at a time."""

    can_read_back = True
    label = "aws"

    def __init__(
        self, session: Any, client: Any, prefix: str, kms_key_id: str | None, max_inflight: int
    ) -> None:
        self.session = session
        self.client = client
        self.prefix = prefix
        self.kms_key_id = kms_key_id
        self.max_inflight = max_inflight

    @abstractmethod
    def slot(self, ref: SecretRef) -> str:
        """The secret's name in the AWS store."""

    @abstractmethod
    def location(self, ref: SecretRef) -> str: ...

    @abstractmethod
    def _put(self, ref: SecretRef, value: str) -> None:
        """Create or overwrite the slot (if `ref` owns it); botocore errors pass through."""

    @abstractmethod
    def _get(self, ref: SecretRef) -> str | None:
        """The value in `ref`'s slot if `ref` owns it; botocore errors pass through."""

    @abstractmethod
    def _delete(self, ref: SecretRef) -> None:
        """Remove `ref`'s slot (which `ref` owns) at once; botocore errors pass through."""

    @abstractmethod
    def _retag(self, old: SecretRef, new: SecretRef) -> None:
        """Tag the slot `old` and `new` share as `new`'s; botocore errors pass through."""

    def describe(self) -> str:
        return f"{self.label} sink {self.prefix} ({self.session.region_name})"

    def preflight(self, refs: Sequence[SecretRef]) -> None:
        """Credentials load, and a read of each slot (`max_inflight` at a time) proves access and
        reachability: a missing slot is fine, one tagged as another's (or untagged) is refused."""
        try:
            found = self.session.get_credentials()
        except Exception as exc:
            raise aws_error(exc, f"the {self.label} sink could not load AWS credentials") from None
        if found is None:
            raise SinkError(
                f"the {self.label} sink has no AWS credentials: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
            )
        by_slot = {slot_key(self.slot(ref)): ref for ref in refs}
        if not by_slot:
            return
        with ThreadPoolExecutor(max_workers=min(self.max_inflight, len(by_slot))) as pool:
            checks = [pool.submit(self._check_slot, ref) for ref in by_slot.values()]
            try:
                for check in checks:  # the first refusal in the order asked, whatever finished first
                    check.result()
            finally:
                for check in checks:
                    check.cancel()

    def _check_slot(self, ref: SecretRef) -> None:
        try:
            tags = self._slot_tags(ref)
        except Exception as exc:
            raise aws_error(exc, f"the {self.label} sink could not check {self.location(ref)}") from None
        if tags is not None:
            self._check_owner(ref, tags)

    @abstractmethod
    def _slot_tags(self, ref: SecretRef) -> list[dict[str, str]] | None:
        """The tags of `ref`'s slot; None if there is no such slot. A read: it changes nothing."""

    def store(self, ref: SecretRef, secret: Secret) -> str:
        return store_one(self, ref, secret)

    def store_many(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        """One call (or a few) per secret, `max_inflight` at a time; items that share a slot run in
        order, so the first address claims it and the outcome does not depend on timing."""
        by_slot: dict[str, list[int]] = {}
        for index, (ref, _) in enumerate(items):
            by_slot.setdefault(slot_key(self.slot(ref)), []).append(index)
        outcomes: dict[int, StoreOutcome] = {}

        def run(indices: list[int]) -> None:
            for index in indices:
                outcomes[index] = self._store_one(items[index])

        groups = list(by_slot.values())
        if len(groups) <= 1:
            for group in groups:
                run(group)
        else:
            with ThreadPoolExecutor(max_workers=min(self.max_inflight, len(groups))) as pool:
                list(pool.map(run, groups))
        return [outcomes[index] for index in range(len(items))]

    def read(self, ref: SecretRef) -> Secret | None:
        try:
            value = self._get(ref)
        except Exception as exc:
            raise aws_error(exc, f"could not read {self.location(ref)}") from None
        if not value:
            return None
        remember_secret(value)
        return Secret(value)

    def move(self, old: SecretRef, new: SecretRef) -> str:
        """`old`'s secret stored as `new`'s (tagged as `new`'s), then `old`'s slot deleted."""
        secret = self.read(old)
        if secret is None:
            raise SinkError(f"{self.location(old)} holds no secret of {old.address} to move")
        if slot_key(self.slot(old)) == slot_key(self.slot(new)):  # one slot: only its owner changes
            try:
                self._retag(old, new)
            except Exception as exc:
                raise aws_error(exc, f"could not tag {self.location(new)} as {new.address}'s") from None
            return self.location(new)
        where = self.store(new, secret)
        try:
            self._delete(old)
        except Exception as exc:
            raise aws_error(exc, f"moved to {where}, but could not delete {self.location(old)}") from None
        return where

    def _store_one(self, item: tuple[SecretRef, Secret]) -> StoreOutcome:
        ref, secret = item
        try:
            value = secret_bytes(secret, self.location(ref)).decode("utf-8")
            remember_secret(value)
            self._put(ref, value)
        except Exception as exc:
            return StoreOutcome(ref, error=aws_error(exc, f"could not store {self.location(ref)}", secret))
        return StoreOutcome(ref, where=self.location(ref))

    def _tags(self, ref: SecretRef) -> list[dict[str, str]]:
        return [
            {"Key": ADDRESS_TAG, "Value": address_tag(ref.address)},
            {"Key": ACCOUNT_ID_TAG, "Value": ref.account_id},
        ]

    def _check_owner(self, ref: SecretRef, tags: Sequence[dict[str, str]]) -> None:
        """Refuse a slot that is not tagged as `ref`'s."""
        owner = next((t.get("Value") for t in tags if t.get("Key") == ADDRESS_TAG), None)
        if owner == address_tag(ref.address):
            return
        if owner is None:
            raise SinkError(
                f"{self.location(ref)} exists but was not made by ctconfig (no {ADDRESS_TAG} tag); "
                "refusing to overwrite it"
            )
        raise SinkError(
            f"{self.location(ref)} holds the secret of {tag_address(owner)}; refusing to overwrite it "
            f"with {ref.address}'s (delete it if {tag_address(owner)} is gone)"
        )

    def _owned(self, ref: SecretRef, tags: Sequence[dict[str, str]]) -> bool:
        try:
            self._check_owner(ref, tags)
        except SinkError:
            return False
        return True

"""The S3 calls the s3 state backend, its journal and its probe make, with errors a user can act on.

`S3Objects` wraps one boto3 client and one bucket: every failure becomes an
`S3AccessError` with one clear line, except two that callers decide on:
`PreconditionFailed` (a conditional write lost) and `ObjectMissing`. Reads
are bounded: an object larger than the caller's limit is refused before its
body is read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from ctconfig import failpoints
from ctconfig.state.document import StateError
from ctconfig.state.limits import StateTooLargeError

DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes
CHANGES = frozenset({"put_object", "delete_object", "delete_objects"})
"""The calls that change what is stored: each is a failpoint (ctconfig/failpoints.py)."""


class S3AccessError(StateError):
    """S3 could not be reached or refused us: endpoint, bucket or credentials."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class PreconditionFailed(Exception):
    """A conditional request failed (412/409): someone else changed the object."""


class ObjectMissing(Exception):
    """The object does not exist."""


class S3Objects:
    """One bucket through one boto3 client."""

    def __init__(self, client: Any, bucket: str, endpoint: str, owner: str) -> None:
        self.client = client
        self.bucket = bucket
        self.endpoint = endpoint  # the endpoint URL, or "S3" for AWS itself
        self.owner = owner  # what the calls are for, e.g. `s3://bucket/key`

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def get(self, key: str, limit: int, what: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, None when it does not exist; refused past `limit` bytes."""
        try:
            response = self.call("get_object", Bucket=self.bucket, Key=key)
        except ObjectMissing:
            return None
        with contextlib.closing(response["Body"]) as stream:
            size = int(response.get("ContentLength") or 0)
            if size > limit:
                raise self._too_large(key, size, limit, what)
            body: bytes = stream.read(limit + 1)
        if len(body) > limit:
            raise self._too_large(key, len(body), limit, what)
        return body, str(response["ETag"])

    def _too_large(self, key: str, size: int, limit: int, what: str) -> StateTooLargeError:
        return StateTooLargeError(
            f"{self.url(key)}: the {what} is {size} bytes or more, more than the {limit} bytes "
            "ctconfig reads; it is not ctconfig's"
        )

    def put(self, key: str, body: bytes, content_type: str, **conditions: str) -> dict[str, Any]:
        return self.call(
            "put_object", Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **conditions
        )

    def keys(self, prefix: str) -> Iterator[tuple[str, int]]:
        """(key, size) of every object under `prefix`, in key order, page by page."""
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self.call("list_objects_v2", Bucket=self.bucket, Prefix=prefix, **extra)
            for item in page.get("Contents", []):
                yield str(item["Key"]), int(item.get("Size") or 0)
            if not page.get("IsTruncated"):
                return
            token = str(page["NextContinuationToken"])

    def delete_keys(self, keys: Iterable[str]) -> None:
        """Delete objects, a thousand per call; any key S3 could not delete is an error."""
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == DELETE_BATCH:
                self._delete_batch(batch)
                batch = []
        if batch:
            self._delete_batch(batch)

    def _delete_batch(self, keys: list[str]) -> None:
        answer = self.call(
            "delete_objects",
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
        errors = answer.get("Errors") or []
        if errors:
            first = errors[0]
            raise S3AccessError(
                f"could not delete {len(errors)} object(s) such as {self.url(str(first.get('Key')))}: "
                f"{first.get('Code', '')} {first.get('Message', '')}".strip(),
                str(first.get("Code", "")),
            )

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One S3 call; botocore failures become one-line errors a user can act on."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if operation in CHANGES:
            failpoints.hit(f"s3.{operation}", params.get("Key") or _first_key(params))
        try:
            result: dict[str, Any] = getattr(self.client, operation)(**params)
        except ClientError as exc:
            raise self._client_error(exc, operation, params) from exc
        except NoCredentialsError as exc:
            raise S3AccessError(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or AWS_PROFILE) for the s3 state backend"
            ) from exc
        except BotoCoreError as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise S3AccessError(f"cannot reach {self.endpoint} for {self.owner}: {reason}") from exc
        return result

    def _client_error(self, exc: Any, operation: str, params: dict[str, Any]) -> Exception:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        where = self.endpoint
        if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412):
            return PreconditionFailed(code)
        if code == "NoSuchBucket":
            return S3AccessError(f"S3 bucket {self.bucket!r} does not exist ({where})", code)
        if code in ("NoSuchKey", "404", "NotFound"):
            return ObjectMissing(code)
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
            return S3AccessError(
                f"{where} refused the AWS credentials ({code}); check AWS_ACCESS_KEY_ID, "
                "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN",
                code,
            )
        if code == "AccessDenied" or status == 403:
            return S3AccessError(
                f"access denied to {self.url(str(params.get('Key', '')))} ({where})", code or "403"
            )
        message = str(error.get("Message", "")).splitlines()[0] if error.get("Message") else ""
        return S3AccessError(f"S3 {operation} failed: {code or status} {message}".strip(), code)


def _first_key(params: dict[str, Any]) -> str:
    """The first key a DeleteObjects call names, for the failpoint trace."""
    objects = params.get("Delete", {}).get("Objects") or [{}]
    return f"{objects[0].get('Key', '')} ({len(objects)} keys)"

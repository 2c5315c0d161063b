"""Refuse an S3 store that ignores conditional writes, before trusting it with the lock.

The s3 backend's lock is an object created with `If-None-Match: *`, and every
state write presents the ETag it read with `If-Match`. A store that ignores
those headers (some S3 look-alikes do) answers 200 to both, so two runs could
both take the lock and overwrite each other's state. Once per process and
bucket, ctconfig asks the store to do what it must refuse, on a probe object
beside the state (`<key>.probe`, left in place so later probes cost one
request each):

1. `PUT <key>.probe` with `If-None-Match: *`: 412 when the object exists. If
   it answers 200 (the object was new), the same request again must be a 412.
2. `PUT <key>.probe` with `If-Match` on an ETag no object has: must be a 412.

A store that answers 200 where a 412 belongs, or refuses the headers as not
implemented, is refused with one line naming it.
"""

from __future__ import annotations

import threading

from ctconfig.state.s3_objects import PreconditionFailed, S3AccessError, S3Objects

PROBE_BODY = (
    b"ctconfig checks here that this store honours conditional writes (If-None-Match, If-Match); "
    b"it may be deleted at any time.\n"
)
_NO_SUCH_ETAG = '"00000000000000000000000000000000"'
_NOT_SUPPORTED = ("NotImplemented", "InvalidArgument", "InvalidRequest")

_trusted: set[tuple[str, str]] = set()
_mutex = threading.Lock()


class ConditionalWritesRefusedError(S3AccessError):
    """The store ignores If-None-Match / If-Match, so its locks would not exclude anyone."""


def require_conditional_writes(objects: S3Objects, probe_key: str) -> None:
    """Probe the bucket once per process; ConditionalWritesRefusedError if it ignores conditions."""
    bucket = (objects.endpoint, objects.bucket)
    with _mutex:
        if bucket in _trusted:
            return
        _probe(objects, probe_key)
        _trusted.add(bucket)


def _probe(objects: S3Objects, key: str) -> None:
    if _accepted(objects, key, IfNoneMatch="*") and _accepted(objects, key, IfNoneMatch="*"):
        raise _refusal(objects, "a second PUT with If-None-Match: * on an existing object succeeded")
    if _accepted(objects, key, IfMatch=_NO_SUCH_ETAG):
        raise _refusal(objects, "a PUT with If-Match on an ETag the object does not have succeeded")


def _accepted(objects: S3Objects, key: str, **condition: str) -> bool:
    """True when the conditional PUT was accepted, False when refused with 412 (or 409)."""
    try:
        objects.put(key, PROBE_BODY, "text/plain", **condition)
    except PreconditionFailed:
        return False
    except S3AccessError as exc:
        if exc.code in _NOT_SUPPORTED:
            header = next(iter(condition))
            raise _refusal(objects, f"it answered {exc.code} to a PUT with {header}") from None
        raise
    return True


def _refusal(objects: S3Objects, what: str) -> ConditionalWritesRefusedError:
    return ConditionalWritesRefusedError(
        f"refusing the S3 store at {objects.endpoint} (bucket {objects.bucket}): it ignores "
        f"conditional writes ({what} instead of failing with 412 Precondition Failed), so two runs "
        "could both hold the lock and overwrite each other's state; use a store that honours "
        "If-None-Match and If-Match, as AWS S3 and MinIO do",
        "ConditionalWritesIgnored",
    )

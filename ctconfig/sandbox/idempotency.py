"""Idempotent creates: a client whose answer was lost asks again and gets the same answer."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import Any

from starlette.responses import JSONResponse


class IdempotencyConflict(Exception):
    """The same key came back with a different request."""


class IdempotentCreates:
    """Answers to creates by `Idempotency-Key`, so a client whose answer was lost can ask again.

    The first answer (secret included) is kept in memory only, for `TTL` seconds, and
    replayed to a retry with the same key and body; the same key with another body is a 409.
    """

    TTL = 24 * 3600.0
    LIMIT = 10_000

    def __init__(self) -> None:
        self._answers: OrderedDict[tuple[str, str], tuple[float, str, dict[str, Any]]] = OrderedDict()

    def remember(self, account: str, key: str, body: dict[str, Any], fields: dict[str, Any]) -> None:
        self._answers[(account, key)] = (time.monotonic(), json.dumps(body, sort_keys=True), fields)
        while len(self._answers) > self.LIMIT:
            self._answers.popitem(last=False)

    def replay(self, account: str, key: str, body: dict[str, Any]) -> JSONResponse | None:
        found = self._answers.get((account, key))
        if found is None or time.monotonic() - found[0] > self.TTL:
            return None
        if found[1] != json.dumps(body, sort_keys=True):
            raise IdempotencyConflict("this Idempotency-Key was used for a different request")
        response = JSONResponse({"status": "success", **found[2]}, status_code=201)
        response.headers["Idempotent-Replayed"] = "true"
        return response

"""`run_async` runs a service's event loop without formatting its result (Python 3.11's
`asyncio.run` builds the main task's full `repr`, result included, when it restores SIGINT)."""

from __future__ import annotations

import pytest

from ctconfig.service.planning import run_async


class Result:
    """A result that counts how often it is formatted."""

    formatted = 0

    def __repr__(self) -> str:
        Result.formatted += 1
        return "Result()"


def test_the_result_comes_back_and_is_never_formatted() -> None:
    result = Result()

    async def main() -> Result:
        return result

    assert run_async(main()) is result
    assert Result.formatted == 0


def test_an_error_comes_back_as_it_was_raised() -> None:
    async def main() -> None:
        raise LookupError("nothing here")

    with pytest.raises(LookupError, match="nothing here"):
        run_async(main())

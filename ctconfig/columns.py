"""Aligned text columns: the one way every table ctconfig prints is laid out."""

from __future__ import annotations

from collections.abc import Sequence


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Each row with every column but the last padded to its widest cell; trailing spaces dropped."""
    if not rows:
        return []
    columns = len(rows[0]) - 1
    widths = [max(len(row[c]) for row in rows) for c in range(columns)]
    return [
        (
            "  ".join(cell.ljust(width) for cell, width in zip(row[:columns], widths, strict=True))
            + "  "
            + row[-1]
        ).rstrip()
        for row in rows
    ]

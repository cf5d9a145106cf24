"""Printing for the benchmarks: one plain-text table format for every figure."""

from __future__ import annotations


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    """Print ``rows`` under ``header``, each column as wide as its widest cell."""
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in [h, *[r[i] for r in rows]]) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))

"""Process memory of a long-running service: the C allocator's side of peak RSS.

Owns two glibc knobs, both no-ops elsewhere (musl, macOS) and both safe to call more
than once:

- ``limit_arenas`` caps malloc's per-thread arenas (glibc makes up to eight per core;
  the service's driver threads — one per aiosqlite connection, the ingest workers —
  would each grow one and keep its freed memory). Called once, before threads start;
  an explicit ``MALLOC_ARENA_MAX`` in the environment wins.
- ``trim`` hands memory freed after a burst (a poll of thousands of feeds, a backlog of
  cards) back to the kernel instead of keeping it as the process's high-water mark.

Must not import telegram, httpx or storage: this is process plumbing, not policy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache

ARENAS = 2
_M_ARENA_MAX = -8            # <malloc.h>


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt, libc.malloc_trim      # glibc only  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas; returns whether the cap was set here."""
    libc = _libc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def trim() -> bool:
    """Return freed heap pages to the kernel; returns whether any were."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0))

"""Near-duplicate detection (pure): MinHash signatures and LSH band keys.

Owns recognising a syndicated copy — the same story republished under another URL
with small changes (an added "Источник: 24.kg", a changed headline, other
punctuation) — which exact content hashes miss.

- ``signature``: 64 MinHash values over character 5-gram shingles of the folded,
  word-only text (Broder 1997; permutations h(x) = (a·x + b) mod (2^61 − 1) with
  fixed seeds, so signatures are stable across processes and can be stored).
- ``band_keys``: 8 bands of 8 rows. Two texts with Jaccard similarity 0.9 share at
  least one band with probability 1 − (1 − 0.9⁸)⁸ ≈ 0.99 (0.8: ≈ 0.77); at 0.5 —
  templated feeds such as court lists, where every entry looks alike — only ≈ 0.03,
  which keeps each lookup small (16 bands of 4 rows collided at 0.5 with ≈ 0.64 and
  made a 2,000-entry ECHR feed quadratic). Candidates are then checked by
  ``similarity``.
- ``is_copy``: the decision — estimated similarity at or above the threshold
  (stricter for short texts) *and* the same persons, so two registry rows built
  from one template for different people are never merged.

Must not touch storage; no clock, no randomness at run time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from feeds.text import fold_words

NUM_PERM = 64
BANDS = 8
ROWS = NUM_PERM // BANDS
SHINGLE = 5
THRESHOLD = 0.8
SHORT_TEXT = 300            # characters; below this a copy must be closer still
SHORT_THRESHOLD = 0.9
MIN_TEXT = 120              # shorter texts rely on the exact content hash alone
MAX_CANDIDATES = 20         # most band-sharing candidates compared per new item
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20221228)          # fixed: signatures must be stable
_A = _rng.integers(1, _PRIME, size=NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, size=NUM_PERM, dtype=np.uint64)
normalise = fold_words

def _shingle_hashes(text: str) -> np.ndarray:
    body = normalise(text)
    if len(body) < SHINGLE:
        body = body.ljust(SHINGLE)
    grams = {body[i:i + SHINGLE] for i in range(len(body) - SHINGLE + 1)}
    values = [int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest(),
                             "little") & _PRIME for g in grams]
    return np.fromiter(values, dtype=np.uint64, count=len(values))


def signature(text: str) -> tuple[int, ...]:
    """The MinHash signature of a text (64 integers below 2^61); empty for texts under
    ``MIN_TEXT`` characters, whose copies the exact content hash already catches."""
    if len(normalise(text)) < MIN_TEXT:
        return ()
    x = _shingle_hashes(text)
    # (a·x + b) mod p without overflow: split x into 31-bit halves.
    lo = x & np.uint64((1 << 31) - 1)
    hi = x >> np.uint64(31)
    a = _A[:, None]
    hashed = ((a * hi % _PRIME) * np.uint64(1 << 31) % _PRIME + a * lo % _PRIME
              + _B[:, None]) % _PRIME
    return tuple(int(v) for v in hashed.min(axis=1))


def band_keys(sig: Sequence[int]) -> list[str]:
    """One key per LSH band; texts sharing a key are candidates."""
    keys = []
    for band in range(BANDS):
        rows = sig[band * ROWS:(band + 1) * ROWS]
        digest = hashlib.blake2b(repr((band, tuple(rows))).encode(), digest_size=10).hexdigest()
        keys.append(f"b8{band:02d}{digest}")
    return keys


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two texts from their signatures."""
    if len(a) != len(b) or not a:
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def is_copy(sim: float, length: int, persons: frozenset[str],
            other_persons: frozenset[str]) -> bool:
    """Whether a candidate is a copy: similar enough for its length, same persons."""
    needed = SHORT_THRESHOLD if length < SHORT_TEXT else THRESHOLD
    return sim >= needed and persons == other_persons


def pack(sig: Sequence[int]) -> bytes:
    """Signature → bytes for storage (8 bytes per value, little-endian)."""
    return np.asarray(sig, dtype=np.uint64).astype("<u8").tobytes()


def unpack(data: bytes) -> tuple[int, ...]:
    return tuple(int(v) for v in np.frombuffer(data, dtype="<u8"))

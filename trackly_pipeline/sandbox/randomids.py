"""Vectorised random identifiers (hex and base62 strings) drawn from a seeded numpy Generator."""

from __future__ import annotations

import numpy as np

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def _chars_to_strings(codes: np.ndarray, length: int) -> np.ndarray:
    """(n, length) uint8 ASCII codes -> numpy unicode array of n strings."""
    return np.ascontiguousarray(codes).view(f"S{length}").ravel().astype(f"U{length}")


def random_strings(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray) -> np.ndarray:
    picks = rng.integers(0, len(alphabet), size=(n, length))
    return _chars_to_strings(alphabet[picks], length)


def hex_ids(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """n lowercase hex strings; callers that need uniqueness use unique_ids."""
    return random_strings(rng, n, length, _HEX)


def unique_ids(
    rng: np.random.Generator, n: int, length: int, alphabet: str = "hex", taken: set[str] | None = None
) -> np.ndarray:
    """n distinct random strings, none of them in `taken`; redraws the (rare) collisions."""
    table = _HEX if alphabet == "hex" else _BASE62
    ids = random_strings(rng, n, length, table)
    while True:
        _, first = np.unique(ids, return_index=True)
        clash = np.ones(n, dtype=bool)
        clash[first] = False
        if taken:
            clash |= np.fromiter((value in taken for value in ids.tolist()), dtype=bool, count=n)
        if not clash.any():
            return ids
        ids[clash] = random_strings(rng, int(clash.sum()), length, table)

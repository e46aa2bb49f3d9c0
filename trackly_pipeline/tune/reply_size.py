"""How large a TUNE reply may be, and reading a body no further than that.

Without a limit a broken proxy or TUNE sending 300 MB took the process from 113 MB to 1 GB, and a
sweep holds a page's bytes, its parsed rows and its Arrow table at once. A real conversion row is
about 620 bytes (the benchmark's 618 MB for 1,000,000 rows), an offer row a few KB; a row with all
its sub ids at the 10,000 characters the warehouse stores verbatim is about 60 KB. So a reply may
hold REPLY_BASE_BYTES for the envelope (and the unpaginated calls, which are small) plus
REPLY_BYTES_PER_ROW for each row asked for: 81 MiB at the default page of 5,000 rows, 25 times a
real page, still far below the memory the ingest is budgeted (1.5 GB). Rows as large as that
60 KB fit only a smaller page (about 20 rows a page): the error says to lower `page_size` for a
network whose rows really are that large. Bytes are counted as decoded (after gzip), as they are held.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

REPLY_BASE_BYTES = 1 << 20  # 1 MiB
REPLY_BYTES_PER_ROW = 16 << 10  # 16 KiB
_READ_CHUNK = 1 << 16
_DIGITS = re.compile(r"[0-9]{1,20}")


class ReplyTooLarge(Exception):
    """The reply is larger than its limit (`limit` bytes); `declared` if Content-Length said so."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        super().__init__(limit, declared)
        self.limit = limit
        self.declared = declared

    def describe(self) -> str:
        size = f"Content-Length {self.declared:,} bytes" if self.declared is not None else "it kept coming"
        return (
            f"reply refused: larger than {self.limit:,} bytes ({size}), the limit for the page size asked "
            f"({REPLY_BASE_BYTES:,} bytes + {REPLY_BYTES_PER_ROW:,} per row); not retried. If this network's "
            "rows really are this large (sub ids of thousands of characters), lower its page_size"
        )


def reply_limit(rows_asked: Any) -> int:
    """The largest reply accepted for a call asking for `rows_asked` rows (its `limit`, if any)."""
    try:
        rows = max(0, int(rows_asked)) if rows_asked is not None else 0
    except (TypeError, ValueError):
        rows = 0
    return REPLY_BASE_BYTES + REPLY_BYTES_PER_ROW * rows


def read_capped(response: Any, limit: int, too_late: Callable[[], bool]) -> bytes:
    """The whole (decoded) body of a streamed requests.Response, refusing more than `limit` bytes
    (ReplyTooLarge, from Content-Length before reading when it says so). Stops early, returning
    what it has, when `too_late()` (the caller's deadline) says so between chunks."""
    declared = _content_length(response.headers)
    if declared is not None and declared > limit:
        raise ReplyTooLarge(limit, declared)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise ReplyTooLarge(limit)
        chunks.append(chunk)
        if too_late():
            break
    return b"".join(chunks)


def _content_length(headers: Any) -> int | None:
    value = headers.get("Content-Length")
    if not isinstance(value, str) or not _DIGITS.fullmatch(value.strip()):
        return None  # absent or unreadable: the count while reading decides
    return int(value.strip())

"""`limit` / `page` as TUNE reads them."""
from __future__ import annotations

from .wire import ApiError


def _positive_int(params: dict, name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(str(raw))
    except ValueError:
        raise ApiError(f"Invalid {name}: {raw}") from None
    if value < 1:
        raise ApiError(f"Invalid {name}: {raw}")
    return value


def limit_and_page(params: dict, max_limit: int | None = None) -> tuple[int | None, int]:
    """(limit or None for "everything in one reply", 1-based page)."""
    limit = _positive_int(params, "limit")
    if limit is not None and max_limit is not None and limit > max_limit:
        raise ApiError(f"Limit exceeds the maximum of {max_limit}")
    return limit, _positive_int(params, "page") or 1


def page_slice(limit: int | None, page: int) -> slice:
    if limit is None:
        return slice(None)
    return slice((page - 1) * limit, page * limit)

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


def short_page(body: dict, keep_rows: int | None) -> dict:
    """A paginated success reply cut to its first `keep_rows` rows (default: all but the last), in
    place, with `count` and `pageCount` left as they were: what a network that caps rows per page
    below the `limit` asked for would send. Other replies are left alone."""
    response = body.get("response") or {}
    data = response.get("data")
    if response.get("status") != 1 or not isinstance(data, dict) or "pageCount" not in data:
        return body
    rows = data.get("data")
    if isinstance(rows, (list, dict)) and rows:
        keep = len(rows) - 1 if keep_rows is None else keep_rows
        # Rows are a list (reports) or an id-keyed object (Offer::findAll).
        data["data"] = rows[:keep] if isinstance(rows, list) else dict(list(rows.items())[:keep])
    return body

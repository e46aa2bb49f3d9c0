"""TUNE's reply envelopes and its PHP-flavoured JSON (compact, ASCII-only, escaped slashes)."""

from __future__ import annotations

import json
import math

# TUNE's reply to a wrong NetworkToken with a valid network id (recorded reply 23), and the sandbox's
# to an unknown or missing network id too: it does not say which of the two is wrong.
INVALID_NETWORK_BODY = {
    "response": {"errors": {"publicMessage": "Network id is not valid"}, "link": "http://developers.hasoffers.com/"}
}
NO_REPORT_ACCESS_MESSAGE = "API key does not have permission to access Report"


class ApiError(Exception):
    """A failure TUNE reports inside a normal HTTP 200 reply (status -1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def encode(body: object) -> bytes:
    # PHP's json_encode escapes "/" and non-ASCII; "/" only ever occurs inside strings here.
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def echo_request(target: str, params: dict) -> dict:
    """The `request` block: Target and TUNE's fixed keys first, then the caller's params as sent,
    the NetworkToken included, as TUNE does (tune-api.md 2.1): clients must redact it themselves."""
    echoed = {"Target": target, "Format": "json", "Service": "HasOffers", "Version": "2"}
    for key, value in params.items():
        if key not in echoed:
            echoed[key] = value
    return echoed


def success(target: str, params: dict, data: object) -> dict:
    return {
        "request": echo_request(target, params),
        "response": {"status": 1, "httpStatus": 200, "data": data, "errors": [], "errorMessage": None},
    }


def failure(target: str, params: dict, message: str) -> dict:
    return {
        "request": echo_request(target, params),
        "response": {
            "status": -1,
            "httpStatus": 200,
            "data": "",
            "errors": [{"publicMessage": message}],
            "errorMessage": message,
        },
    }


def request_failure(http_status: int, message: str) -> dict:
    """TUNE's error envelope for a request the sandbox cannot read (malformed parameters or body),
    sent with that HTTP status. No `request` is echoed: its parameters could not be read."""
    return {
        "response": {
            "status": -1,
            "httpStatus": http_status,
            "data": "",
            "errors": [{"publicMessage": message}],
            "errorMessage": message,
        },
    }


def rate_limit_message(calls: int, seconds: float, usage: int) -> str:
    window = f"{seconds:g}"
    return f"API usage exceeded rate limit.  Configured: {calls}/{window}s window; Your usage: {usage}."


def page_envelope(page: int, limit: int | None, count: int, data: object) -> dict:
    """Paginated `data`: `current` is 0 as in every recorded reply; pageCount is 0 when nothing matched."""
    page_count = math.ceil(count / limit) if limit else 1
    return {"page": page, "current": 0, "count": count, "pageCount": page_count, "data": data}

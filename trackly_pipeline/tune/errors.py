"""Exceptions raised by the TUNE client.

Every message is built from redacted text: the network token never appears in ``str(exc)``.
"""

from __future__ import annotations

import re


class TuneError(Exception):
    """Base class for everything the TUNE client raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TuneConnectionError(TuneError):
    """The API could not be reached (refused, DNS, timeouts), even after retries."""


class TuneHttpError(TuneError):
    """The API answered with an HTTP error status (5xx after retries, other errors at once)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class TuneResponseError(TuneError):
    """The reply was not a readable TUNE envelope (malformed JSON, unexpected shape)."""


class TuneIncompleteSweepError(TuneResponseError):
    """A paged read (conversions, offers, stats) ended with fewer rows than TUNE's `count` said
    match (e.g. a network that caps rows per page below the `limit` asked for): what is missing
    would otherwise pass for vanished."""


class TuneReplyRefusedError(TuneResponseError):
    """A reply the client will not read: larger than the limit for the page size asked
    (`reply_size`), or nested deeper than any TUNE reply (`reply_json`). Not retried: a network
    that sends it once sends it again."""


class TuneTooManyPagesError(TuneResponseError):
    """A paged read reached the page cap (`paging.MAX_PAGES_PER_SWEEP`) with TUNE still saying more
    pages follow: TUNE's paging is broken, or the window is far larger than any sweep should be."""


class TuneApiError(TuneError):
    """TUNE understood the request and said no (``response.status != 1``)."""


class TuneRateLimitError(TuneApiError):
    """TUNE's server-side rate limit ("API usage exceeded rate limit") was hit, or a proxy in
    front of it answered HTTP 429; `retry_after` is the wait in seconds it asked for, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TuneAuthError(TuneApiError):
    """TUNE rejected the credentials: a reply naming the token, or TuneInvalidNetworkError's."""


CREDENTIALS_REJECTED = "TUNE rejected the network id or the token (it does not say which)"


class TuneInvalidNetworkError(TuneAuthError):
    """TUNE's `Network id is not valid` reply. TUNE sends it for a wrong NetworkToken with a valid
    network id (recorded reply 23), and for an unknown id, so the message says it does not tell which."""

    def __init__(self, message: str) -> None:
        super().__init__(message if CREDENTIALS_REJECTED in message else f"{CREDENTIALS_REJECTED}: {message}")


class TunePermissionError(TuneApiError):
    """The token is valid but lacks access to the requested target (e.g. Report)."""


RATE_LIMIT_MARKER = "API usage exceeded rate limit"
_TOKEN_REJECTED = re.compile(r"token.*(not valid|invalid)|(not valid|invalid).*token", re.IGNORECASE)
_NO_ACCESS = re.compile(r"permission|access", re.IGNORECASE)


def api_error_class(api_message: str) -> type[TuneApiError]:
    """Pick the TuneApiError subclass for a TUNE error message (TUNE has no error codes)."""
    if RATE_LIMIT_MARKER.lower() in api_message.lower():
        return TuneRateLimitError
    if "network id is not valid" in api_message.lower():
        return TuneInvalidNetworkError
    if _TOKEN_REJECTED.search(api_message):
        return TuneAuthError
    if _NO_ACCESS.search(api_message):
        return TunePermissionError
    return TuneApiError

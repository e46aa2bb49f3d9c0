"""HTTP transport to one TUNE network's API: a call with its token, retries with backoff, the
whole-request deadline, rate-limit waits, the reply size limit and the failure classification.

Plain Python (no Dagster). The token travels only in the query string of outgoing requests;
everything the transport logs or raises is redacted.
"""

from __future__ import annotations

import http.client
import logging
import math
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3

from . import deadline, envelope
from .errors import (
    TuneApiError,
    TuneConnectionError,
    TuneError,
    TuneHttpError,
    TuneRateLimitError,
    TuneReplyRefusedError,
    TuneResponseError,
)
from .params import Param, encode_params
from .ratelimit import RateLimiter
from .redact import install_urllib3_redaction, redact_pairs, redact_text, remember_secret
from .reply_size import ReplyTooLarge, read_capped, reply_limit

# Longest wait a Retry-After header can ask of us; a longer one is cut to this.
_RETRY_AFTER_CAP = 60.0
# A connection that breaks once headers are in: the reply is cut short or its bytes do not decode.
_BROKEN_MID_REPLY = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
# Reads a reply body into ``response.data``; the secrets are what to mask in any excerpt of the
# body its errors quote (envelope.parse_body, raw_rows.decode_page).
Decode = Callable[[bytes, Sequence[str]], Any]
# What a hostile reply can make the HTTP stack raise past requests' own wrapping (a malformed status
# line or header, a socket shut at the deadline): failures of the connection, retried.
_STACK_FAILURES = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)


class _DeadlineExceeded(Exception):
    """The attempt's whole-reply deadline passed while the body was still arriving."""


class _Transient(Exception):
    """A failure worth retrying with backoff; carries the redacted description and final error."""

    def __init__(self, description: str, error_type: type[TuneError], status_code: int | None = None):
        super().__init__(description)
        self.description = description
        self.error_type = error_type
        self.status_code = status_code

    def final_error(self, message: str) -> TuneError:
        if self.error_type is TuneHttpError:
            return TuneHttpError(message, self.status_code)
        return self.error_type(message)


class Transport:
    """Calls `Target::Method` on one network's API. `timeout` bounds each attempt, connect to last
    body byte; failures worth another try (connection, 5xx, malformed reply) are retried up to
    `max_retries` times with full-jitter backoff, rate-limit replies waited out up to
    `rate_limit_retries` times; every call first takes its turn in the `rate_limit` window."""

    def __init__(
        self,
        network_id: str,
        token: str,
        api_url: str,
        *,
        timeout: float,
        max_retries: int,
        backoff_base: float,
        backoff_max: float,
        rate_limit: tuple[int, float],
        rate_limit_retries: int,
        session: requests.Session | None,
        logger: logging.Logger,
        sleep: Callable[[float], None],
    ) -> None:
        self.network_id = network_id
        self.api_url = api_url
        self.__token = token  # name-mangled and never included in repr
        remember_secret(token)  # so that other libraries' log records are masked too
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.rate_limit_retries = rate_limit_retries
        self._session = session or requests.Session()
        deadline.install(self._session)  # `timeout` bounds each whole request, headers included
        self._log = logger
        self._sleep = sleep
        self._limiter = RateLimiter(rate_limit[0], rate_limit[1], sleep=sleep)
        install_urllib3_redaction()

    def __repr__(self) -> str:
        return f"Transport(network_id={self.network_id!r}, api_url={self.api_url!r})"

    def call(
        self,
        target: str,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        decode: Decode = envelope.parse_body,
        max_retries: int | None = None,
        rate_limit_retries: int | None = None,
        timeout: float | None = None,
    ) -> Any:
        """``response.data`` of ``Target::Method`` as `decode` reads the reply body; a TuneError on
        failure. The retry budgets and the timeout default to the transport's own."""
        max_retries = self.max_retries if max_retries is None else max_retries
        rate_limit_retries = self.rate_limit_retries if rate_limit_retries is None else rate_limit_retries
        timeout = self.timeout if timeout is None else timeout
        pairs: list[Param] = [
            ("NetworkId", self.network_id),
            ("NetworkToken", self.__token),
            ("Target", target),
            ("Method", method),
            *encode_params(params),
        ]
        where = f"TUNE {target}::{method}"
        largest = reply_limit(params.get("limit") if params else None)
        url_for_logs = self._url_for_logs(pairs)
        failures = rate_limited = 0
        while True:
            self._limiter.acquire()
            failure: _Transient | TuneRateLimitError
            try:
                return self._attempt(pairs, timeout, largest, where, decode)
            except _Transient as transient:
                failure, failures = transient, failures + 1
            except TuneRateLimitError as exc:
                failure, rate_limited = exc, rate_limited + 1
            # Decided outside the except blocks, so a final error has no (unredacted) chained cause.
            if isinstance(failure, TuneRateLimitError):
                if rate_limited > rate_limit_retries:
                    message = f"{where}: still rate limited after {rate_limit_retries} waits: {failure.message}"
                    raise TuneRateLimitError(self.redact(message), retry_after=failure.retry_after)
                delay, why = self._rate_limit_wait(failure.retry_after)
                self._log.warning(
                    "%s: TUNE rate limit hit; waiting %.2fs %s, retry %d/%d (%s)",
                    where,
                    delay,
                    why,
                    rate_limited,
                    rate_limit_retries,
                    url_for_logs,
                )
            else:
                if failures > max_retries:
                    raise failure.final_error(
                        self.redact(f"{where} failed after {failures} attempts: {failure.description} ({url_for_logs})")
                    )
                delay = self._backoff(failures - 1)
                self._log.warning(
                    "%s: %s; retry %d/%d in %.2fs (%s)",
                    where,
                    failure.description,
                    failures,
                    max_retries,
                    delay,
                    url_for_logs,
                )
            self._sleep(delay)

    def _attempt(self, pairs: list[Param], timeout: float, largest: int, where: str, decode: Decode) -> Any:
        """One HTTP round trip, connect to last body byte within `timeout` seconds, of at most
        `largest` bytes. Raises _Transient for retryable failures, TuneError otherwise."""
        failure: TuneError | _Transient
        try:
            body = self._fetch(pairs, timeout, largest, where)
        except (requests.Timeout, _DeadlineExceeded) as exc:
            failure = _Transient(f"timed out after {timeout:g}s ({self.redact(str(exc))})", TuneConnectionError)
        except requests.ConnectionError as exc:
            failure = _Transient(f"connection failed ({self.redact(str(exc))})", TuneConnectionError)
        except _BROKEN_MID_REPLY as exc:
            failure = _Transient(f"connection broken mid-reply ({self.redact(str(exc))})", TuneConnectionError)
        except requests.RequestException as exc:
            failure = TuneConnectionError(self.redact(f"{where}: request could not be sent: {exc}"))
        except _STACK_FAILURES as exc:
            failure = _Transient(f"connection failed ({self.redact(repr(exc))})", TuneConnectionError)
        except ReplyTooLarge as exc:
            failure = TuneReplyRefusedError(self.redact(f"{where}: {exc.describe()}"))
        else:
            try:
                return decode(body, self.secrets())
            except TuneReplyRefusedError as exc:  # before TuneResponseError: not worth a retry
                failure = TuneReplyRefusedError(self.redact(f"{where}: {exc.message}"))
            except TuneResponseError as exc:
                failure = _Transient(f"malformed reply: {self.redact(exc.message)}", TuneResponseError)
            except TuneRateLimitError as exc:
                failure = TuneRateLimitError(self.redact(exc.message))
            except TuneApiError as exc:
                failure = type(exc)(self.redact(f"{where}: {exc.message}"))
        raise failure

    def _fetch(self, pairs: list[Param], timeout: float, largest: int, where: str) -> bytes:
        """The body of a 2xx reply, at most `largest` bytes (ReplyTooLarge); raises the HTTP
        status's failure otherwise. requests' `timeout` bounds each socket read only, so a
        RequestDeadline shuts the socket at `timeout`: a reply trickled a line or a byte at a time,
        headers or body, must not take forever. A failure after that is the deadline's."""
        with deadline.RequestDeadline(timeout) as limit:
            try:
                # total=: connecting and waiting for the headers share one budget.
                # Redirects are not followed: one would carry the token, in the query string, elsewhere.
                response = self._session.get(
                    self.api_url,
                    params=pairs,
                    timeout=urllib3.Timeout(total=timeout),
                    stream=True,
                    allow_redirects=False,
                )
                try:
                    failure = self._failure_of(response, where)
                    if failure is not None:
                        raise failure
                    body = read_capped(response, largest, lambda: limit.expired)
                finally:
                    response.close()  # an abandoned reply must not keep its connection
            except (requests.RequestException, *_STACK_FAILURES):
                if not limit.expired:
                    raise
        # Also after a clean end: a reply without Content-Length just ends when cut off.
        if limit.expired:
            raise _DeadlineExceeded("the reply was not complete in time")
        return body

    def _failure_of(self, response: requests.Response, where: str) -> TuneError | _Transient | None:
        status = response.status_code
        if status == 429:
            # TUNE signals its limit inside HTTP 200 replies; a 429 comes from a proxy or CDN in front.
            return TuneRateLimitError(
                self.redact(f"HTTP 429 {response.reason}"),
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            # The reason phrase is the server's text, logged with each retry: a proxy may quote the URL.
            return _Transient(self.redact(f"HTTP {status} {response.reason}"), TuneHttpError, status)
        if status >= 400:
            return TuneHttpError(self.redact(f"{where}: HTTP {status} {response.reason}"), status)
        if status >= 300:
            return TuneHttpError(
                self.redact(
                    f"{where}: HTTP {status} {response.reason}: the API answered with a redirect, which is not "
                    "followed (it would take the token along); set api_url to the address the API answers at"
                ),
                status,
            )
        return None

    def _backoff(self, attempt: int) -> float:
        # Full jitter: uniform in [0, min(cap, base * 2**attempt)], attempt counting from 0.
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))

    def _rate_limit_wait(self, retry_after: float | None) -> tuple[float, str]:
        """Seconds to wait after a rate-limit reply, and why (for the log)."""
        if retry_after is None:
            return self._next_window_wait(), "for the next window"
        return min(retry_after, _RETRY_AFTER_CAP), "as Retry-After asks"

    def _next_window_wait(self) -> float:
        # TUNE's window is fixed; waiting one whole window of our limiter (plus jitter, so that
        # clients sharing a network do not return in lockstep) lets it roll over.
        period = self._limiter.period
        return period + random.uniform(0, min(1.0, period / 10))

    def _url_for_logs(self, pairs: list[Param]) -> str:
        return f"{self.api_url}?{urlencode(redact_pairs(pairs), safe='[]*')}"

    def secrets(self) -> tuple[str, ...]:
        """What to mask in any text about this network's requests and replies: its token."""
        return (self.__token,)

    def redact(self, text: str) -> str:
        return redact_text(text, self.secrets())


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds to wait (delta-seconds or an HTTP date), or None if absent or
    not sane (unparseable, negative, not finite)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:  # HTTP dates are GMT
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (moment - datetime.now(UTC)).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None

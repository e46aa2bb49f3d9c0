"""TUNE Network API v3 client: requests with retries, rate limiting, pagination and typed reads.

Plain Python (no Dagster). The token travels only in the query string of outgoing requests;
everything the client logs, raises or returns is redacted.
"""
from __future__ import annotations

import functools
import http.client
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.compute as pc
import requests
import urllib3

from . import deadline, envelope
from .page_parser import ConversionPage, parse_conversion_page
from .conversion_schema import conversions_table
from .envelope import Page, RowTable
from .errors import (
    CREDENTIALS_REJECTED,
    TuneApiError,
    TuneAuthError,
    TuneConnectionError,
    TuneError,
    TuneHttpError,
    TuneIncompleteSweepError,
    TuneInvalidNetworkError,
    TunePermissionError,
    TuneRateLimitError,
    TuneReplyRefusedError,
    TuneResponseError,
)
from .models import (
    AFFILIATE_UNIQUE_FIELDS,
    CONVERSION_FIELDS,
    CONVERSION_STAT_FIELDS,
    OFFER_FIELDS,
    Conversion,
    ConversionBatch,
    Offer,
    RejectedRow,
    RowError,
    parse_conversion_row,
    parse_offer_row,
    raw_conversion_id,
)
from .paging import MAX_PAGES_PER_SWEEP, is_last_page, too_many_pages
from .params import Param, encode_params
from .ratelimit import RateLimiter
from .raw_rows import decode_page, raw_schema
from .redact import (
    install_urllib3_redaction,
    redact_pairs,
    redact_text,
    redact_value,
    redacted_excerpt,
    remember_secret,
)
from .reply_size import ReplyTooLarge, read_capped, reply_limit
from .values import TUNE_DATETIME_FORMAT, local_to_utc

LOGGER_NAME = "trackly_pipeline.tune"
# Offer ids per Offer::findAll call when filtering by id, to keep GET URLs short.
OFFER_IDS_PER_CALL = 200
# Conversion rows as Arrow reads them in bulk: one struct of strings per model, with every field the
# parsers read (a model the sweep did not request reads as null).
_RAW_CONVERSION_SCHEMA = raw_schema(CONVERSION_FIELDS)
# Retry budget for test_connection, so an unreachable host answers within seconds.
_PROBE_RETRIES = 1
_PROBE_TIMEOUT = 10.0
_PROBE_DAYS = 7  # the sync's own window
# Longest wait a Retry-After header can ask of us; a longer one is cut to this.
_RETRY_AFTER_CAP = 60.0
# A connection that breaks once headers are in: the reply is cut short or its bytes do not decode.
_BROKEN_MID_REPLY = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
# Reads a reply body into ``response.data``; the secrets are what to mask in any excerpt of the
# body its errors quote (envelope.parse_body, raw_rows.decode_page).
Decode = Callable[[bytes, Sequence[str]], Any]
# Characters of an unrecognisable Application::getTimezone reply quoted in the error.
_TIMEZONE_EXCERPT = 200
# What a hostile reply can make the HTTP stack raise past requests' own wrapping (a malformed status
# line or header, a socket shut at the deadline): failures of the connection, retried.
_STACK_FAILURES = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)


@dataclass(frozen=True)
class OfferCatalog:
    """A network's offers as read, and the rows that could not be read (with the reason)."""

    offers: list[Offer]
    rejected: list[RejectedRow]


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    outcome: str  # ok | unreachable | bad_credentials | invalid_token | no_report_access | affiliate_unseen | error
    message: str
    timezone: str | None


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


class TuneClient:
    def __init__(
        self,
        network_id: str,
        token: str,
        api_url: str | None = None,
        *,
        timezone: str | None = None,
        affiliate_id: str | int | None = None,
        page_size: int = 5000,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        rate_limit: tuple[int, float] = (40, 10.0),
        rate_limit_retries: int = 5,
        extra_conversion_fields: Iterable[str] = (),
        max_pages: int = MAX_PAGES_PER_SWEEP,
        session: requests.Session | None = None,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not network_id:
            raise ValueError("network_id is required")
        if page_size < 1:
            raise ValueError(f"page_size must be positive, got {page_size}")
        self.network_id = str(network_id)
        self.api_url = api_url or f"https://{self.network_id}.api.hasoffers.com/Apiv3/json"
        self.__token = token  # name-mangled and never included in repr
        remember_secret(token)  # so that other libraries' log records are masked too
        self.page_size = page_size
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.rate_limit_retries = rate_limit_retries
        self.max_pages = max_pages
        self.conversion_fields = _conversion_fields(extra_conversion_fields)
        # The Network API reports every partner's conversions: with our affiliate id, the conversion
        # and stats reports ask for ours alone.
        self.affiliate_id = str(affiliate_id) if affiliate_id is not None else None
        self._timezone = _validated_zone(timezone) if timezone else None
        self._session = session or requests.Session()
        deadline.install(self._session)  # `timeout` bounds each whole request, headers included
        self._log = logger or logging.getLogger(LOGGER_NAME)
        self._sleep = sleep
        self._limiter = RateLimiter(rate_limit[0], rate_limit[1], sleep=sleep)
        install_urllib3_redaction()

    def __repr__(self) -> str:
        return f"TuneClient(network_id={self.network_id!r}, api_url={self.api_url!r})"

    # ---- low level -------------------------------------------------------------------------

    def call(
        self,
        target: str,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        decode: Decode = envelope.parse_body,
    ) -> Any:
        """Call ``Target::Method`` and return ``response.data`` as `decode` reads the reply body;
        raise a TuneError on failure."""
        return self._call(target, method, params, self.max_retries, self.rate_limit_retries, self.timeout, decode)

    def iter_pages(
        self,
        target: str,
        method: str,
        params: Mapping[str, Any] | None,
        page_size: int | None = None,
        *,
        decode: Decode = envelope.parse_body,
        noun: str = "rows",
        check_count: bool = True,
    ) -> Iterator[Page]:
        """Yield pages 1..pageCount of a paginated call (``limit``/``page`` are set here), ending
        early at an empty page or, with `check_count`, past the pages TUNE's `count` fills
        (`paging.is_last_page`); TuneTooManyPagesError after `max_pages` pages with more to come.
        `decode` reads a reply body into ``response.data`` (see `raw_rows.decode_page`).

        With `check_count`, every row TUNE counts must arrive: callers replace what they hold with
        what they read, so a row never sent would pass for one TUNE no longer has. Raises
        TuneIncompleteSweepError (callers store nothing before the iterator is exhausted)
        - after the last page, if the pages held fewer rows (valid or not) than its `count`, as from
          a network that caps rows per page below the `limit` asked for. The last page's count is
          the one to meet: it grows while rows arrive, on the later pages of a stable ascending sort;
        - as soon as `count` falls between pages: a row left the result, so a later row slid onto a
          page already read, and the totals can no longer tell.
        More rows than `count` is no loss (duplicates are the row checks' business)."""
        size = page_size or self.page_size
        number = received = served = 0
        counted = None
        while True:
            number += 1
            data = self.call(target, method, {**(params or {}), "limit": size, "page": number}, decode=decode)
            page = self._page_of(data, target, method)
            if envelope.is_paginated(data) and page.number != number:
                raise TuneResponseError(
                    f"TUNE {target}::{method}: asked for page {number}, reply is page {page.number}"
                )
            if check_count and counted is not None and page.total_count < counted:
                raise TuneIncompleteSweepError(
                    f"TUNE {target}::{method}: {noun} matching fell from {counted:,} to {page.total_count:,} "
                    f"between pages {number - 1} and {number}, so rows may have shifted onto pages already "
                    "read; the next sync reads them again"
                )
            counted = page.total_count
            received += page.row_count
            served = max(served, page.row_count)
            yield page
            # pageCount and count are re-read on every page: they grow if rows arrive while we read.
            if is_last_page(page, number, served, paginated=envelope.is_paginated(data), count_is_rows=check_count):
                break
            if number >= self.max_pages:
                raise too_many_pages(f"TUNE {target}::{method}", self.max_pages, size, page, noun)
        if check_count and received < page.total_count:
            raise TuneIncompleteSweepError(
                f"TUNE {target}::{method} said {page.total_count:,} {noun} match but returned {received:,} over "
                f"{number} page{'s' if number != 1 else ''} of {size:,}; if the network caps rows per page, "
                "lower page_size"
            )

    def _page_of(self, data: Any, target: str, method: str) -> Page:
        try:
            return envelope.page_of(data)
        except TuneResponseError as exc:  # its text is the reply's: say where, without the token
            failure = type(exc)(self._redact(f"TUNE {target}::{method}: {exc.message}"))
        raise failure  # outside the except block: no chained cause for a traceback to print

    # ---- typed reads ---------------------------------------------------------------------

    @property
    def timezone(self) -> str:
        """The network's reporting zone (asked from TUNE once, unless given at construction)."""
        if self._timezone is None:
            self._timezone = self.get_timezone()
        return self._timezone

    def get_timezone(self) -> str:
        """IANA zone name from Application::getTimezone."""
        return self._timezone_from(self.call("Application", "getTimezone"))

    def find_offers(self, offer_ids: Iterable[int] | None = None) -> list[Offer]:
        """All offers (or the given ids), sorted by id, with the advertiser's company name.
        Unreadable rows are logged and left out: use read_offer_catalog to keep them."""
        return self.read_offer_catalog(offer_ids).offers

    def read_offer_catalog(self, offer_ids: Iterable[int] | None = None) -> OfferCatalog:
        """Like find_offers, but unreadable rows come back too, with the reason, for quarantine."""
        base: dict[str, Any] = {"fields": list(OFFER_FIELDS), "contain": ["Advertiser"], "sort": {"id": "asc"}}
        catalog = OfferCatalog([], [])
        if offer_ids is None:
            self._read_offers(base, catalog)
            return catalog
        ids = sorted({int(offer_id) for offer_id in offer_ids})
        for start in range(0, len(ids), OFFER_IDS_PER_CALL):
            chunk = ids[start : start + OFFER_IDS_PER_CALL]
            self._read_offers({**base, "filters": {"id": chunk}}, catalog)
        return catalog

    def iter_conversion_batches(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ConversionBatch]:
        """Every conversion whose Stat.datetime can be an instant of the half-open UTC window
        [start, end), page by page.

        TUNE filters on network-local "YYYY-MM-DD HH:MM:SS" with an inclusive BETWEEN, so the
        window is asked for as the network-local wall times of its whole seconds, from the earliest
        to the latest (`_LocalTimes`): usually those of its first and last second, but a window with
        a fall-back inside, or next to one, reaches over the whole repeated hour, whose wall times
        come twice. Every row TUNE returns is kept: a repeated wall time reads as its later instant
        (`values.local_to_utc`), which can lie up to one DST shift after `end` (the second
        occurrence of a time the window holds the first of). So every conversion stored with a
        time in [start, end) has its wall time in the range asked, and one that is not returned is
        gone. A row whose wall time lies outside that range (TUNE ignored the filter) is rejected.
        One typed Conversion per row; `iter_conversion_tables` is the same sweep as Arrow tables.
        affiliate_unique1..5 are None unless the client was built with them in `extra_conversion_fields`.
        Raises TuneIncompleteSweepError when TUNE's `count` says rows are missing (see `iter_pages`):
        store nothing before the iterator is exhausted.
        """
        for page, asked in self._conversion_pages(start, end, page_size):
            conversions, rejected = self._read_rows(page.rows, asked)
            yield ConversionBatch(page.number, page.page_count, page.total_count, conversions, rejected)

    def iter_conversion_tables(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ConversionPage]:
        """The sweep of `iter_conversion_batches`, each page as one Arrow table (CONVERSION_SCHEMA
        columns, page order) plus its rejected rows: the same values and the same rejections,
        parsed in bulk. Pages are yielded as they arrive, never accumulated."""
        for page, asked in self._conversion_pages(start, end, page_size, in_bulk=True):
            parsed = parse_conversion_page(page.rows, asked.zone)
            if asked.holds(parsed.table.column("converted_at")):
                parse = functools.partial(parse_conversion_row, tz=asked.zone)
                rejected = [self._rejected(row, reason, parse) for _, row, reason in parsed.rejected]
                yield ConversionPage(page.number, page.page_count, page.total_count, parsed.table, rejected)
            else:  # TUNE ignored the filter: the per-row rules sort the page, as `iter_conversion_batches` does
                rows = page.rows.rows() if isinstance(page.rows, RowTable) else page.rows
                conversions, rejected = self._read_rows(rows, asked)
                yield ConversionPage(page.number, page.page_count, page.total_count,
                                      conversions_table(conversions), rejected)

    def _conversion_pages(
        self, start: datetime, end: datetime, page_size: int | None, *, in_bulk: bool = False
    ) -> Iterator[tuple[Page, _LocalTimes]]:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware (UTC)")
        if start >= end:
            return
        zone = ZoneInfo(self.timezone)
        first, last = _whole_seconds_within(start, end)
        if first > last:
            return
        asked = _LocalTimes.of(first, last, zone)
        params = {
            "fields": list(self.conversion_fields),
            "filters": {**asked.filter(), **self.affiliate_filter()},
            "sort": {"Stat.id": "asc"},  # stable key: rows cannot shift between pages
        }
        decode = self._decode_conversions if in_bulk else envelope.parse_body
        for page in self.iter_pages("Report", "getConversions", params, page_size, decode=decode, noun="conversions"):
            yield page, asked

    def _read_rows(self, rows: Iterable[Any], asked: _LocalTimes) -> tuple[list[Conversion], list[RejectedRow]]:
        """A page's rows, one by one: the conversions, and the rows rejected with the reason."""
        conversions, rejected = [], []
        parse = functools.partial(parse_conversion_row, tz=asked.zone)
        for row in rows:
            try:
                conversion = parse(row)
            except RowError as exc:
                rejected.append(self._rejected(row, exc.reason, parse))
                continue
            outside = asked.outside(conversion.converted_at)
            if outside:
                rejected.append(self._rejected(row, outside))
            else:
                conversions.append(conversion)
        return conversions, rejected

    def affiliate_filter(self) -> dict[str, Any]:
        """The report filter for our affiliate's rows, if the client has an affiliate id."""
        if self.affiliate_id is None:
            return {}
        return {"Stat.affiliate_id": {"conditional": "EQUAL_TO", "values": [self.affiliate_id]}}

    @staticmethod
    def _decode_conversions(body: bytes, secrets: Sequence[str]) -> Any:
        return decode_page(body, _RAW_CONVERSION_SCHEMA, secrets)

    def _rejected(self, row: Any, reason: str, parse: Callable[[Any], Any] | None = None,
                  row_id: Callable[[Any], str | None] = raw_conversion_id) -> RejectedRow:
        """A row for ops.quarantine, the token masked. A reason quotes values cut short
        (values._short), so for a row quoting the token it is made again, by `parse`, from the
        masked row: a cut through the token would keep part of it."""
        raw = redact_value(row, self.secrets())
        if parse is not None and raw != row:
            reason = _reason_of(raw, parse)
        return RejectedRow(self._redact(reason), raw, row_id(raw) if isinstance(raw, Mapping) else None)

    def test_connection(self) -> ConnectionCheck:
        """Check reachability, network id, token, report access and, with an affiliate id, that the
        network reports conversions for it when it has any; never raises a TuneError."""
        try:
            zone = self._timezone_from(
                self._call("Application", "getTimezone", None, _PROBE_RETRIES, _PROBE_RETRIES, self._probe_timeout)
            )
            if self._timezone is None:
                self._timezone = zone
            ours = self._recent_conversion_count(zone, self.affiliate_filter())
            if self.affiliate_id is not None and ours == 0:
                # A wrong affiliate id fails nothing: every sweep would find no conversions. Said as a
                # warning, not a failure: a new or paused partnership has none either.
                everyone = self._recent_conversion_count(zone, {})
                if everyone:
                    return ConnectionCheck(
                        ok=True,
                        outcome="affiliate_unseen",
                        message=self._redact(
                            f"Connected (time zone {zone}), but network {self.network_id!r} has {everyone:,} "
                            f"conversions in the last {_PROBE_DAYS} days and none for affiliate "
                            f"{self.affiliate_id}: check affiliate_id."
                        ),
                        timezone=zone,
                    )
        except TuneConnectionError as exc:
            return self._check("unreachable", f"Cannot reach the TUNE API at {self.api_url}: {exc.message}")
        except TuneInvalidNetworkError:  # TUNE's reply to a wrong token and to a wrong id alike
            return self._check("bad_credentials", f"{CREDENTIALS_REJECTED} for network {self.network_id!r}.")
        except TuneAuthError:
            return self._check("invalid_token", f"TUNE rejected the API token for network {self.network_id!r}.")
        except TunePermissionError:
            return self._check(
                "no_report_access",
                f"The API token for network {self.network_id!r} works but has no access to conversion reports.",
            )
        except TuneError as exc:
            return self._check("error", f"TUNE connection check failed: {exc.message}")
        return ConnectionCheck(
            ok=True,
            outcome="ok",
            message=f"Connected to TUNE network {self.network_id!r} (time zone {zone}).",
            timezone=zone,
        )

    # ---- internals -----------------------------------------------------------------------

    def _recent_conversion_count(self, zone: str, filters: Mapping[str, Any]) -> int:
        """TUNE's count of conversions in the last _PROBE_DAYS (one row asked for): also the check
        that the token may read reports."""
        now = datetime.now(timezone.utc).replace(microsecond=0)
        data = self._call(
            "Report",
            "getConversions",
            {
                "fields": ["Stat.id"],
                "filters": {**_LocalTimes.of(now - timedelta(days=_PROBE_DAYS), now, ZoneInfo(zone)).filter(), **filters},
                "limit": 1,
                "page": 1,
            },
            _PROBE_RETRIES,
            _PROBE_RETRIES,
            self._probe_timeout,
        )
        return envelope.page_of(data).total_count

    @property
    def _probe_timeout(self) -> float:
        return min(self.timeout, _PROBE_TIMEOUT)

    def _check(self, outcome: str, message: str) -> ConnectionCheck:
        return ConnectionCheck(ok=False, outcome=outcome, message=self._redact(message), timezone=None)

    def _read_offers(self, params: Mapping[str, Any], catalog: OfferCatalog) -> None:
        zone = ZoneInfo(self.timezone)
        for page in self.iter_pages("Offer", "findAll", params, noun="offers"):
            for row in page.rows:
                try:
                    catalog.offers.append(parse_offer_row(row, zone))
                except RowError as exc:
                    # An unreadable offer must not block the others; it is reported, not hidden.
                    rejected = self._rejected(row, exc.reason, functools.partial(parse_offer_row, tz=zone), _offer_id)
                    self._log.warning("TUNE network %s: unreadable offer row: %s", self.network_id, rejected.reason)
                    catalog.rejected.append(rejected)

    def _timezone_from(self, data: Any) -> str:
        name = _find_zone_name(data)
        if name is None:
            shown = redacted_excerpt(repr(redact_value(data, self.secrets())), self.secrets(), _TIMEZONE_EXCERPT)
            raise TuneResponseError(f"TUNE Application::getTimezone returned no recognisable time zone: {shown}")
        return name

    def _call(
        self,
        target: str,
        method: str,
        params: Mapping[str, Any] | None,
        max_retries: int,
        rate_limit_retries: int,
        timeout: float,
        decode: Decode = envelope.parse_body,
    ) -> Any:
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
                    raise TuneRateLimitError(self._redact(message), retry_after=failure.retry_after)
                delay, why = self._rate_limit_wait(failure.retry_after)
                self._log.warning(
                    "%s: TUNE rate limit hit; waiting %.2fs %s, retry %d/%d (%s)",
                    where, delay, why, rate_limited, rate_limit_retries, url_for_logs,
                )
            else:
                if failures > max_retries:
                    raise failure.final_error(
                        self._redact(f"{where} failed after {failures} attempts: {failure.description} ({url_for_logs})")
                    )
                delay = self._backoff(failures - 1)
                self._log.warning(
                    "%s: %s; retry %d/%d in %.2fs (%s)",
                    where, failure.description, failures, max_retries, delay, url_for_logs,
                )
            self._sleep(delay)

    def _attempt(self, pairs: list[Param], timeout: float, largest: int, where: str, decode: Decode) -> Any:
        """One HTTP round trip, connect to last body byte within `timeout` seconds, of at most
        `largest` bytes. Raises _Transient for retryable failures, TuneError otherwise."""
        failure: TuneError | _Transient
        try:
            body = self._fetch(pairs, timeout, largest, where)
        except (requests.Timeout, _DeadlineExceeded) as exc:
            failure = _Transient(f"timed out after {timeout:g}s ({self._redact(str(exc))})", TuneConnectionError)
        except requests.ConnectionError as exc:
            failure = _Transient(f"connection failed ({self._redact(str(exc))})", TuneConnectionError)
        except _BROKEN_MID_REPLY as exc:
            failure = _Transient(f"connection broken mid-reply ({self._redact(str(exc))})", TuneConnectionError)
        except requests.RequestException as exc:
            failure = TuneConnectionError(self._redact(f"{where}: request could not be sent: {exc}"))
        except _STACK_FAILURES as exc:
            failure = _Transient(f"connection failed ({self._redact(repr(exc))})", TuneConnectionError)
        except ReplyTooLarge as exc:
            failure = TuneReplyRefusedError(self._redact(f"{where}: {exc.describe()}"))
        else:
            try:
                return decode(body, self.secrets())
            except TuneReplyRefusedError as exc:  # before TuneResponseError: not worth a retry
                failure = TuneReplyRefusedError(self._redact(f"{where}: {exc.message}"))
            except TuneResponseError as exc:
                failure = _Transient(f"malformed reply: {self._redact(exc.message)}", TuneResponseError)
            except TuneRateLimitError as exc:
                failure = TuneRateLimitError(self._redact(exc.message))
            except TuneApiError as exc:
                failure = type(exc)(self._redact(f"{where}: {exc.message}"))
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
                response = self._session.get(self.api_url, params=pairs, timeout=urllib3.Timeout(total=timeout),
                                             stream=True, allow_redirects=False)
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
                self._redact(f"HTTP 429 {response.reason}"),
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            # The reason phrase is the server's text, logged with each retry: a proxy may quote the URL.
            return _Transient(self._redact(f"HTTP {status} {response.reason}"), TuneHttpError, status)
        if status >= 400:
            return TuneHttpError(self._redact(f"{where}: HTTP {status} {response.reason}"), status)
        if status >= 300:
            return TuneHttpError(self._redact(
                f"{where}: HTTP {status} {response.reason}: the API answered with a redirect, which is not "
                "followed (it would take the token along); set api_url to the address the API answers at"), status)
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
        """What to mask in any text about this client's requests and replies: its token."""
        return (self.__token,)

    def _redact(self, text: str) -> str:
        return redact_text(text, self.secrets())


def _conversion_fields(extra: Iterable[str]) -> tuple[str, ...]:
    """The fields a sweep requests: the Stat fields, plus those of AFFILIATE_UNIQUE_FIELDS asked for
    (the only optional fields the parsers read)."""
    asked = set(extra)
    unknown = asked - set(AFFILIATE_UNIQUE_FIELDS)
    if unknown:
        raise ValueError(f"extra_conversion_fields: {sorted(unknown)} are not among {list(AFFILIATE_UNIQUE_FIELDS)}")
    return CONVERSION_STAT_FIELDS + tuple(name for name in AFFILIATE_UNIQUE_FIELDS if name in asked)


def _reason_of(row: Any, parse: Callable[[Any], Any]) -> str:
    """Why `parse` rejects the row (a row whose masked value became readable: a general reason)."""
    try:
        parse(row)
    except RowError as exc:
        return exc.reason
    return "a value quotes the network token (masked in the row)"


def _offer_id(row: Mapping) -> str | None:
    offer = row.get("Offer")
    offer_id = offer.get("id") if isinstance(offer, Mapping) else None
    return None if offer_id is None else str(offer_id)


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
            moment = moment.replace(tzinfo=timezone.utc)
        return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _validated_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        raise ValueError(f"unknown IANA time zone: {name!r}") from None
    return name


def _find_zone_name(data: Any) -> str | None:
    """Accept the plausible shapes of Application::getTimezone data: a plain zone name, or
    objects such as {"Timezone": {"name": ...}} holding one."""
    if isinstance(data, str):
        try:
            return _validated_zone(data.strip())
        except ValueError:
            return None
    if isinstance(data, Mapping):
        preferred = ("Timezone", "timezone", "zone", "name", "zone_name", "timezone_name", "tz")
        keys = [k for k in preferred if k in data] + [k for k in data if k not in preferred]
        for key in keys:
            found = _find_zone_name(data[key])
            if found:
                return found
    if isinstance(data, list):
        for item in data:
            found = _find_zone_name(item)
            if found:
                return found
    return None


def _whole_seconds_within(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """First and last whole second inside [start, end)."""
    first = start.replace(microsecond=0)
    if first < start:
        first += timedelta(seconds=1)
    last = end.replace(microsecond=0)
    if last == end:
        last -= timedelta(seconds=1)
    return first, last


# No zone changes its UTC offset twice within this long (tzdata's closest changes are weeks apart).
_OFFSET_PROBE = timedelta(hours=1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class _LocalTimes:
    """What a report asks TUNE for: Stat.datetime BETWEEN two network-local wall times (inclusive)
    holding the wall time of every whole second of a UTC range; and the instants rows inside them
    read as (`values.local_to_utc`: a repeated wall time, the later of its two)."""

    zone: ZoneInfo
    first: str  # "YYYY-MM-DD HH:MM:SS", network-local
    last: str
    earliest: datetime  # UTC: what `first` reads as
    latest: datetime  # UTC: what `last` reads as

    @classmethod
    def of(cls, first: datetime, last: datetime, zone: ZoneInfo) -> _LocalTimes:
        """The wall times of [first, last] (whole seconds), widened over any repeated hour they touch.

        The wall clock runs with UTC but jumps at each offset change, back at a fall-back: the lowest
        and highest wall time are those of the two ends or those just before and at a change inside.
        A range that reaches into a repeated hour must hold all of it, both occurrences: a wall time
        there reads as its later instant, possibly outside [first, last] while the other reading is
        inside (or the reverse). So the range grows to every instant any of its wall times can be,
        until that adds nothing. An end still in a repeated hour then moves one second past it, to
        a wall time that happens once: how TUNE itself reads repeated times is not documented
        (comparing wall times, as the sandbox does, or converting the two bounds to instants), and
        with bounds that happen once every reading asks for the same rows."""
        low_at, high_at = first, last
        while True:
            low, high = _wall_range(low_at, high_at, zone)
            wider = min(low_at, _reading(low, zone, fold=0)), max(high_at, _reading(high, zone, fold=1))
            if wider == (low_at, high_at):
                break
            low_at, high_at = wider
        if _reading(low, zone, fold=0) != _reading(low, zone, fold=1):
            low = _wall_time(low_at - _SECOND, zone)
        if _reading(high, zone, fold=0) != _reading(high, zone, fold=1):
            high = _wall_time(high_at + _SECOND, zone)
        # Later readings grow with the wall time: a row reads as an instant in [earliest, latest]
        # exactly when its wall time is in [low, high].
        return cls(zone, low.strftime(TUNE_DATETIME_FORMAT), high.strftime(TUNE_DATETIME_FORMAT),
                   _reading(low, zone, fold=1), _reading(high, zone, fold=1))

    def filter(self) -> dict[str, Any]:
        return {"Stat.datetime": {"conditional": "BETWEEN", "values": [self.first, self.last]}}

    def outside(self, converted_at: datetime) -> str | None:
        """Why a row read as `converted_at` is not stored, or None: its wall time is outside the
        range asked for, so TUNE ignored the filter (the row is quarantined, not stored)."""
        if self.earliest <= converted_at <= self.latest:
            return None
        local = converted_at.astimezone(self.zone).strftime(TUNE_DATETIME_FORMAT)
        return (f"Stat.datetime is outside the requested window ({self.first!r} to {self.last!r}, network time; "
                f"TUNE ignored the filter): {local!r}")

    def holds(self, converted_at: pa.ChunkedArray | pa.Array) -> bool:
        """Whether every time of a parsed page is inside (`outside` is None for each)."""
        if len(converted_at) == 0:
            return True
        bounds = pc.min_max(converted_at)
        return self.earliest <= bounds["min"].as_py() and bounds["max"].as_py() <= self.latest


def _wall_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """The network-local wall time (naive) of an instant."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _reading(wall: datetime, zone: ZoneInfo, *, fold: int) -> datetime:
    """The UTC instant a wall time is: fold=0 the earlier of a repeated time's two, fold=1 the later."""
    return wall.replace(tzinfo=zone, fold=fold).astimezone(timezone.utc)


def _wall_range(first: datetime, last: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The lowest and highest wall time of the whole seconds in [first, last]."""
    walls = [_wall_time(first, zone), _wall_time(last, zone)]
    for change in _offset_changes(first, last, zone):
        walls += [_wall_time(change - _SECOND, zone), _wall_time(change, zone)]
    return min(walls), max(walls)


def _offset_changes(first: datetime, last: datetime, zone: ZoneInfo) -> Iterator[datetime]:
    """The whole seconds in (first, last] at which the zone's UTC offset changes: probed every
    _OFFSET_PROBE, then found to the second by bisection."""
    probe, offset = first, first.astimezone(zone).utcoffset()
    while probe < last:
        following = min(probe + _OFFSET_PROBE, last)
        following_offset = following.astimezone(zone).utcoffset()
        if following_offset != offset:
            before, at = probe, following
            while at - before > _SECOND:
                middle = before + timedelta(seconds=int((at - before).total_seconds()) // 2)
                if middle.astimezone(zone).utcoffset() == offset:
                    before = middle
                else:
                    at = middle
            yield at
        probe, offset = following, following_offset

"""TUNE Network API v3 client: the calls the pipeline makes (offers, conversion reports, the time
zone, the connection check), with pagination and typed reads. The HTTP side (retries, deadlines,
rate limits) is transport.py's.

Plain Python (no Dagster). Everything the client logs, raises or returns is redacted.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from . import defaults, envelope
from .conversion_schema import conversions_table
from .envelope import Page, RowTable
from .errors import (
    CREDENTIALS_REJECTED,
    TuneAuthError,
    TuneConnectionError,
    TuneError,
    TuneIncompleteSweepError,
    TuneInvalidNetworkError,
    TunePermissionError,
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
from .page_parser import ConversionPage, parse_conversion_page
from .paging import MAX_PAGES_PER_SWEEP, is_last_page, too_many_pages
from .raw_rows import decode_page, raw_schema
from .redact import redact_value, redacted_excerpt
from .report_window import ReportWindow, whole_seconds_within
from .transport import Decode, Transport

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
# Characters of an unrecognisable Application::getTimezone reply quoted in the error.
_TIMEZONE_EXCERPT = 200


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


class TuneClient:
    def __init__(
        self,
        network_id: str,
        token: str,
        api_url: str | None = None,
        *,
        timezone: str | None = None,
        affiliate_id: str | int | None = None,
        page_size: int = defaults.PAGE_SIZE,
        timeout: float = defaults.TIMEOUT_S,
        max_retries: int = defaults.MAX_RETRIES,
        backoff_base: float = defaults.BACKOFF_BASE_S,
        backoff_max: float = defaults.BACKOFF_MAX_S,
        rate_limit: tuple[int, float] = (defaults.RATE_LIMIT_CALLS, defaults.RATE_LIMIT_WINDOW_S),
        rate_limit_retries: int = defaults.RATE_LIMIT_RETRIES,
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
        self.api_url = api_url or defaults.default_api_url(self.network_id)
        self._log = logger or logging.getLogger(LOGGER_NAME)
        self._transport = Transport(
            self.network_id,
            token,
            self.api_url,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            rate_limit=rate_limit,
            rate_limit_retries=rate_limit_retries,
            session=session,
            logger=self._log,
            sleep=sleep,
        )
        self.page_size = page_size
        self.max_pages = max_pages
        self.conversion_fields = _conversion_fields(extra_conversion_fields)
        # The Network API reports every partner's conversions: with our affiliate id, the conversion
        # and stats reports ask for ours alone.
        self.affiliate_id = str(affiliate_id) if affiliate_id is not None else None
        self._timezone = _validated_zone(timezone) if timezone else None

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
        return self._transport.call(target, method, params, decode=decode)

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
            failure = type(exc)(self._transport.redact(f"TUNE {target}::{method}: {exc.message}"))
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
        to the latest (`ReportWindow`): usually those of its first and last second, but a window with
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
                yield ConversionPage(
                    page.number, page.page_count, page.total_count, conversions_table(conversions), rejected
                )

    def _conversion_pages(
        self, start: datetime, end: datetime, page_size: int | None, *, in_bulk: bool = False
    ) -> Iterator[tuple[Page, ReportWindow]]:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware (UTC)")
        if start >= end:
            return
        zone = ZoneInfo(self.timezone)
        first, last = whole_seconds_within(start, end)
        if first > last:
            return
        asked = ReportWindow.of(first, last, zone)
        params = {
            "fields": list(self.conversion_fields),
            "filters": {**asked.filter(), **self.affiliate_filter()},
            "sort": {"Stat.id": "asc"},  # stable key: rows cannot shift between pages
        }
        decode = self._decode_conversions if in_bulk else envelope.parse_body
        for page in self.iter_pages("Report", "getConversions", params, page_size, decode=decode, noun="conversions"):
            yield page, asked

    def _read_rows(self, rows: Iterable[Any], asked: ReportWindow) -> tuple[list[Conversion], list[RejectedRow]]:
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

    def _rejected(
        self,
        row: Any,
        reason: str,
        parse: Callable[[Any], Any] | None = None,
        row_id: Callable[[Any], str | None] = raw_conversion_id,
    ) -> RejectedRow:
        """A row for ops.quarantine, the token masked. A reason quotes values cut short
        (values._short), so for a row quoting the token it is made again, by `parse`, from the
        masked row: a cut through the token would keep part of it."""
        raw = redact_value(row, self.secrets())
        if parse is not None and raw != row:
            reason = _reason_of(raw, parse)
        return RejectedRow(self._transport.redact(reason), raw, row_id(raw) if isinstance(raw, Mapping) else None)

    def test_connection(self) -> ConnectionCheck:
        """Check reachability, network id, token, report access and, with an affiliate id, that the
        network reports conversions for it when it has any; never raises a TuneError."""
        try:
            zone = self._timezone_from(self._probe("Application", "getTimezone"))
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
                        message=self._transport.redact(
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
        now = datetime.now(UTC).replace(microsecond=0)
        data = self._probe(
            "Report",
            "getConversions",
            {
                "fields": ["Stat.id"],
                "filters": {
                    **ReportWindow.of(now - timedelta(days=_PROBE_DAYS), now, ZoneInfo(zone)).filter(),
                    **filters,
                },
                "limit": 1,
                "page": 1,
            },
        )
        return envelope.page_of(data).total_count

    def _probe(self, target: str, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """A call of test_connection's, on its short budget."""
        return self._transport.call(
            target,
            method,
            params,
            max_retries=_PROBE_RETRIES,
            rate_limit_retries=_PROBE_RETRIES,
            timeout=min(self._transport.timeout, _PROBE_TIMEOUT),
        )

    def _check(self, outcome: str, message: str) -> ConnectionCheck:
        return ConnectionCheck(ok=False, outcome=outcome, message=self._transport.redact(message), timezone=None)

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

    def secrets(self) -> tuple[str, ...]:
        """What to mask in any text about this client's requests and replies: its token."""
        return self._transport.secrets()

    def _timezone_from(self, data: Any) -> str:
        name = _find_zone_name(data)
        if name is None:
            shown = redacted_excerpt(repr(redact_value(data, self.secrets())), self.secrets(), _TIMEZONE_EXCERPT)
            raise TuneResponseError(f"TUNE Application::getTimezone returned no recognisable time zone: {shown}")
        return name


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

"""Typed records for offers and conversions, and per-row parsing with validation.

A row that fails validation raises RowError whose reason names the field; the client turns it
into a RejectedRow so the pipeline can quarantine it without stopping the batch. Conversions and
offers share the value checks: integers must fit the warehouse's BIGINT (INTEGER for status_code),
amounts its DECIMAL(18, 5) exactly, text must be valid Unicode. Two harmless spellings whose
meaning is certain are read rather than rejected: a status in another case or with surrounding
whitespace, and an amount with comma thousands separators and a decimal point ("1,025.00000").
An amount that would need rounding (a sixth decimal) is never read: money is not rounded silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from . import values

CONVERSION_STATUSES = frozenset({"approved", "pending", "rejected"})

# Report::getConversions fields every sweep requests (fields[] is required for report methods).
CONVERSION_STAT_FIELDS: tuple[str, ...] = (
    "Stat.id",
    "Stat.tune_event_id",
    "Stat.ad_id",
    "Stat.datetime",
    "Stat.offer_id",
    "Stat.affiliate_id",
    "Stat.goal_id",
    "Stat.status",
    "Stat.status_code",
    "Stat.is_adjustment",
    "Stat.payout",
    "Stat.revenue",
    "Stat.sale_amount",
    "Stat.currency",
    "Stat.affiliate_info1",
    "Stat.affiliate_info2",
    "Stat.affiliate_info3",
    "Stat.affiliate_info4",
    "Stat.affiliate_info5",
    "Stat.source",
)
# The link's aff_unique1..5. Only TUNE's current docs list them (tune-api.md 4.2), and a TUNE that
# does not know a field rejects the whole report, so a sweep requests them only when asked to
# (TuneClient's `extra_conversion_fields`); not requested, they read as None.
AFFILIATE_UNIQUE_FIELDS: tuple[str, ...] = tuple(f"ConversionsMobile.affiliate_unique{n}" for n in range(1, 6))


def extra_conversion_fields_for(message_id_field: str) -> tuple[str, ...]:
    """The optional fields a sweep requests when Trackly's message id travels in `message_id_field`
    (trackly.yaml's name for it): AFFILIATE_UNIQUE_FIELDS when it is one of them, else none."""
    return AFFILIATE_UNIQUE_FIELDS if message_id_field.startswith("affiliate_unique") else ()


# Every field the conversion parsers read.
CONVERSION_FIELDS: tuple[str, ...] = CONVERSION_STAT_FIELDS + AFFILIATE_UNIQUE_FIELDS

# Offer::findAll fields read by parse_offer_row (the Advertiser comes from contain[]).
OFFER_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "status",
    "payout_type",
    "default_payout",
    "percent_payout",
    "currency",
    "advertiser_id",
    "offer_url",
    "preview_url",
    "approve_conversions",
    "expiration_date",
    "modified",
)


@dataclass(frozen=True)
class Conversion:
    conversion_id: int
    tune_event_id: str | None
    ad_id: str | None
    converted_at: datetime  # UTC
    offer_id: int
    affiliate_id: int | None
    goal_id: int | None
    status: str  # approved | pending | rejected
    status_code: int | None
    is_adjustment: bool
    payout: Decimal
    revenue: Decimal | None
    sale_amount: Decimal | None
    currency: str | None
    aff_sub: str | None
    aff_sub2: str | None
    aff_sub3: str | None
    aff_sub4: str | None
    aff_sub5: str | None
    source: str | None
    affiliate_unique1: str | None
    affiliate_unique2: str | None
    affiliate_unique3: str | None
    affiliate_unique4: str | None
    affiliate_unique5: str | None


@dataclass(frozen=True)
class Offer:
    """An Offer::findAll row. `preview_url`, `approve_conversions` and `expiration_date` are not
    stored in the warehouse: an unreadable value there (e.g. an expiration in a DST gap) reads as
    None instead of rejecting the offer."""

    offer_id: int
    name: str
    status: str
    payout_type: str | None
    default_payout: Decimal | None
    percent_payout: Decimal | None
    currency: str | None
    advertiser_id: int | None
    advertiser_name: str | None
    offer_url: str | None
    preview_url: str | None
    approve_conversions: bool | None  # None: unreadable
    expiration_date: datetime | None  # UTC; None: never, or unreadable
    modified: datetime | None  # UTC


@dataclass(frozen=True)
class RejectedRow:
    """A row that could not be stored, for ops.quarantine, kept as `values.storable` gives it: lone
    surrogates (text UTF-8 cannot hold, often why the row was rejected) as their ``\\udXXX`` escape
    text, so that the quarantine can always store the row, and JSON numbers as floats only where a
    float is exact."""

    reason: str
    raw: dict  # the row as received
    conversion_id: str | None  # the row's id as sent (Stat.id, or Offer.id for offers)

    def __post_init__(self) -> None:
        for name in ("reason", "raw", "conversion_id"):
            object.__setattr__(self, name, values.storable(getattr(self, name)))


@dataclass(frozen=True)
class ConversionBatch:
    page: int
    page_count: int
    total_count: int
    conversions: list[Conversion]
    rejected: list[RejectedRow]


class RowError(ValueError):
    """A row failed validation; ``reason`` names the field and the problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


T = TypeVar("T")


def _read(model: Mapping[str, Any], prefix: str, name: str, convert: Callable[[Any], T]) -> T:
    try:
        return convert(model.get(name))
    except ValueError as exc:
        raise RowError(f"{prefix}.{name} {exc}") from None


def _unstored(model: Mapping[str, Any], name: str, convert: Callable[[Any], T]) -> T | None:
    """A field Trackly reads but does not store: an unreadable value is None, not a rejected row."""
    try:
        return convert(model.get(name))
    except ValueError:
        return None


def _required(model: Mapping[str, Any], prefix: str, name: str, convert: Callable[[Any], T]) -> T:
    if values.is_blank(model.get(name)):
        raise RowError(f"{prefix}.{name} is missing")
    return _read(model, prefix, name, convert)


def _stat_model(row: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    # Report rows nest fields under "Stat"; Conversion::findAll rows under "Conversion".
    for prefix in ("Stat", "Conversion"):
        model = row.get(prefix)
        if isinstance(model, Mapping):
            return prefix, model
    raise RowError("Stat is missing (row has no Stat object)")


def raw_conversion_id(row: Mapping[str, Any]) -> str | None:
    """Stat.id as sent (for quarantine records), whether or not the row is valid."""
    for prefix in ("Stat", "Conversion"):
        model = row.get(prefix)
        if isinstance(model, Mapping) and not values.is_blank(model.get("id")):
            return str(model.get("id"))
    return None


_INT64 = (-(2**63), 2**63 - 1)
_INT32 = (-(2**31), 2**31 - 1)
_MONEY_QUANTUM = Decimal("0.00001")


def _ranged(convert: Callable[[Any], int | None], bits: tuple[int, int]) -> Callable[[Any], int | None]:
    """An integer converter that also rejects values the warehouse column cannot hold."""

    def ranged(value: Any) -> int | None:
        number = convert(value)
        if number is not None and not bits[0] <= number <= bits[1]:
            raise ValueError(f"is out of range for a {bits[1].bit_length() + 1}-bit integer: {values._short(value)}")
        return number

    return ranged


# An amount written with comma thousands separators, "1,025.00000": groups of exactly three ASCII
# digits and a decimal point. Its reading is certain (no locale writes a decimal comma before a
# decimal point), so the commas are dropped. "1,025" (1.025 with a decimal comma?) and "12,50"
# are not of this shape and stay unreadable.
_GROUPED_AMOUNT = re.compile(r"[+-]?[1-9][0-9]{0,2}(?:,[0-9]{3})+\.[0-9]+")


def _ungrouped(convert: Callable[[Any], Decimal | None]) -> Callable[[Any], Decimal | None]:
    """An amount converter that also reads thousands separators of the one unambiguous shape."""

    def ungrouped(value: Any) -> Decimal | None:
        if isinstance(value, str) and _GROUPED_AMOUNT.fullmatch(value.strip()):
            value = value.replace(",", "")
        return convert(value)

    return ungrouped


def _stored_amount(convert: Callable[[Any], Decimal | None]) -> Callable[[Any], Decimal | None]:
    """An amount converter that also rejects amounts DECIMAL(18, 5) cannot hold exactly."""

    def stored(value: Any) -> Decimal | None:
        number = convert(value)
        if number is not None and number != number.quantize(_MONEY_QUANTUM):
            raise ValueError(f"has more than 5 decimal places: {values._short(value)}")
        return number

    return stored


_to_int64 = _ranged(values.to_int, _INT64)
_to_optional_int64 = _ranged(values.to_optional_int, _INT64)
_to_optional_int32 = _ranged(values.to_optional_int, _INT32)
_to_money = _stored_amount(_ungrouped(values.to_amount))
_to_optional_money = _stored_amount(_ungrouped(values.to_optional_amount))


def conversion_id_of(raw_id: Any) -> int | None:
    """The conversion id a row's raw Stat.id stands for, read by the rule `parse_conversion_row`
    reads ids with; None when it reads none (e.g. a RejectedRow whose id is missing or broken)."""
    try:
        return None if values.is_blank(raw_id) else _to_int64(raw_id)
    except ValueError:
        return None


def _status(value: Any) -> str | None:
    """Stat.status: approved, pending or rejected, in any case and with surrounding whitespace
    ("Approved", " APPROVED"): TUNE's three statuses (tune-api.md 4.2) differ in more than case, so
    the reading is certain. Anything else is unreadable."""
    text = values.to_optional_text(value)
    if text is not None and text.strip().lower() in CONVERSION_STATUSES:
        return text.strip().lower()
    raise ValueError(f"is not approved/pending/rejected: {text!r}")


def parse_conversion_row(row: Mapping[str, Any], tz: ZoneInfo) -> Conversion:
    """One Report::getConversions row ``{"Stat": {...}, "ConversionsMobile": {...}}`` -> Conversion.

    ``tz`` is the network's reporting zone, in which Stat.datetime is expressed.
    """
    if not isinstance(row, Mapping):
        raise RowError(f"row is not an object: {type(row).__name__}")
    p, stat = _stat_model(row)
    mobile = row.get("ConversionsMobile")
    mobile = mobile if isinstance(mobile, Mapping) else {}
    m = "ConversionsMobile"
    status = _required(stat, p, "status", _status)
    return Conversion(
        conversion_id=_required(stat, p, "id", _to_int64),
        tune_event_id=_read(stat, p, "tune_event_id", values.to_optional_text),
        ad_id=_read(stat, p, "ad_id", values.to_optional_text),
        converted_at=_required(stat, p, "datetime", lambda v: values.local_to_utc(v, tz)),
        offer_id=_required(stat, p, "offer_id", _to_int64),
        affiliate_id=_read(stat, p, "affiliate_id", _to_optional_int64),
        goal_id=_read(stat, p, "goal_id", _to_optional_int64),
        status=status,
        status_code=_read(stat, p, "status_code", _to_optional_int32),
        is_adjustment=_read(stat, p, "is_adjustment", values.to_bool),
        payout=_required(stat, p, "payout", _to_money),
        revenue=_read(stat, p, "revenue", _to_optional_money),
        sale_amount=_read(stat, p, "sale_amount", _to_optional_money),
        currency=_read(stat, p, "currency", values.to_currency),
        aff_sub=_read(stat, p, "affiliate_info1", values.to_optional_text),
        aff_sub2=_read(stat, p, "affiliate_info2", values.to_optional_text),
        aff_sub3=_read(stat, p, "affiliate_info3", values.to_optional_text),
        aff_sub4=_read(stat, p, "affiliate_info4", values.to_optional_text),
        aff_sub5=_read(stat, p, "affiliate_info5", values.to_optional_text),
        source=_read(stat, p, "source", values.to_optional_text),
        affiliate_unique1=_read(mobile, m, "affiliate_unique1", values.to_optional_text),
        affiliate_unique2=_read(mobile, m, "affiliate_unique2", values.to_optional_text),
        affiliate_unique3=_read(mobile, m, "affiliate_unique3", values.to_optional_text),
        affiliate_unique4=_read(mobile, m, "affiliate_unique4", values.to_optional_text),
        affiliate_unique5=_read(mobile, m, "affiliate_unique5", values.to_optional_text),
    )


def parse_offer_row(row: Mapping[str, Any], tz: ZoneInfo | None = None) -> Offer:
    """One Offer::findAll row ``{"Offer": {...}, "Advertiser": {...}}`` (or a bare Offer) -> Offer.

    ``tz`` is the network zone that ``expiration_date`` is expressed in (UTC when not given).
    The stored fields get the conversions' checks (BIGINT ids, DECIMAL(18, 5) amounts, valid
    Unicode text), so an offer the catalog cannot hold is rejected with a reason naming the field.
    """
    if not isinstance(row, Mapping):
        raise RowError(f"row is not an object: {type(row).__name__}")
    offer = row.get("Offer", row)
    if not isinstance(offer, Mapping):
        raise RowError("Offer is not an object")
    zone = tz or ZoneInfo("UTC")
    p = "Offer"
    return Offer(
        offer_id=_required(offer, p, "id", _to_int64),
        name=_read(offer, p, "name", values.to_optional_text) or "",
        status=_read(offer, p, "status", values.to_optional_text) or "",
        payout_type=_read(offer, p, "payout_type", values.to_optional_text),
        default_payout=_read(offer, p, "default_payout", _to_optional_money),
        percent_payout=_read(offer, p, "percent_payout", _to_optional_money),
        currency=_read(offer, p, "currency", values.to_currency),
        advertiser_id=_read(offer, p, "advertiser_id", _to_optional_int64),
        advertiser_name=_advertiser_company(row.get("Advertiser")),
        offer_url=_read(offer, p, "offer_url", values.to_optional_text),
        preview_url=_unstored(offer, "preview_url", values.to_optional_text),
        approve_conversions=_unstored(offer, "approve_conversions", values.to_bool),
        expiration_date=_unstored(offer, "expiration_date", lambda v: values.to_optional_local_datetime(v, zone)),
        modified=_read(offer, p, "modified", values.unix_to_utc),
    )


def _advertiser_company(contained: Any) -> str | None:
    """Contained models are a flat object for one row, id-keyed objects for several, [] for none."""
    if not isinstance(contained, Mapping):
        return None
    candidates = [contained, *(v for v in contained.values() if isinstance(v, Mapping))]
    for candidate in candidates:
        company = candidate.get("company")
        if isinstance(company, str) and company != "":
            try:
                return values.check_unicode(company)
            except ValueError as exc:
                raise RowError(f"Advertiser.company {exc}") from None
    return None


__all__ = [
    "AFFILIATE_UNIQUE_FIELDS",
    "CONVERSION_FIELDS",
    "CONVERSION_STAT_FIELDS",
    "OFFER_FIELDS",
    "Conversion",
    "ConversionBatch",
    "Offer",
    "RejectedRow",
    "RowError",
    "conversion_id_of",
    "parse_conversion_row",
    "parse_offer_row",
    "raw_conversion_id",
]

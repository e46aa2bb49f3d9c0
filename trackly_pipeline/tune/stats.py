"""Report::getStats: TUNE's own daily totals per offer and currency, for reconciliation.

Plain Python (no Dagster). TUNE's stats count approved conversions only: `Stat.conversions` is the
number of approved conversions that are not adjustments, `Stat.payout` the approved payout
*including* adjustment rows (which may be negative). `Stat.date` is the network-local date. Money is
summed in each conversion's own currency, so rows are grouped by `Stat.currency` too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from .errors import TuneResponseError
from .redact import redacted_excerpt

if TYPE_CHECKING:
    from .client import TuneClient

STATS_FIELDS = ("Stat.date", "Stat.offer_id", "Stat.currency", "Stat.conversions", "Stat.payout")
STATS_GROUPS = ("Stat.date", "Stat.offer_id", "Stat.currency")


@dataclass(frozen=True)
class DailyOfferStat:
    """TUNE's totals for one network-local day, offer and currency."""

    day: date
    offer_id: int
    currency: str | None
    conversions: int
    payout: Decimal


def daily_offer_stats(
    client: TuneClient, first_day: date, last_day: date, *, page_size: int | None = None
) -> list[DailyOfferStat]:
    """Every (day, offer, currency) row of Report::getStats for the network-local days
    first_day..last_day (both inclusive), all pages, sorted by day, offer and currency."""
    return list(iter_daily_offer_stats(client, first_day, last_day, page_size=page_size))


def iter_daily_offer_stats(
    client: TuneClient, first_day: date, last_day: date, *, page_size: int | None = None
) -> Iterator[DailyOfferStat]:
    if first_day > last_day:
        return
    params: dict[str, Any] = {
        "fields": list(STATS_FIELDS),
        "groups": list(STATS_GROUPS),
        "filters": {
            "Stat.date": {"conditional": "BETWEEN", "values": [first_day.isoformat(), last_day.isoformat()]},
            **client.affiliate_filter(),
        },
        "sort": {"Stat.date": "asc", "Stat.offer_id": "asc", "Stat.currency": "asc"},
    }
    # What `count` counts for a grouped report (groups or conversions) is unverified: no check.
    for page in client.iter_pages("Report", "getStats", params, page_size, check_count=False):
        for row in page.rows:
            yield parse_stats_row(row, client.secrets())


def parse_stats_row(row: Any, secrets: Sequence[str] = ()) -> DailyOfferStat:
    """One `{"Stat": {...}}` row; raises TuneResponseError naming the field when it is unreadable
    (with an excerpt of the value, `secrets` masked)."""
    stat = row.get("Stat") if isinstance(row, dict) else None
    if not isinstance(stat, dict):
        raise TuneResponseError(
            f"Report::getStats row has no Stat object: {redacted_excerpt(str(row), secrets, 200)!r}"
        )

    def field(name: str, parse):
        raw = stat.get(name)
        try:
            return parse(raw)
        except (TypeError, ValueError, InvalidOperation):
            raise TuneResponseError(
                f"Report::getStats Stat.{name} is unreadable: {redacted_excerpt(str(raw), secrets, 100)!r}"
            ) from None

    payout = field("payout", lambda v: Decimal(str(v).strip()))
    if not payout.is_finite():
        raise TuneResponseError(f"Report::getStats Stat.payout is not finite: {stat.get('payout')!r}")
    currency = stat.get("currency")
    return DailyOfferStat(
        day=field("date", lambda v: date.fromisoformat(str(v).strip()[:10])),
        offer_id=field("offer_id", lambda v: int(str(v).strip())),
        currency=str(currency).strip() or None if currency is not None else None,
        conversions=field("conversions", lambda v: int(str(v).strip() or 0)),
        payout=payout,
    )

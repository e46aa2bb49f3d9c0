"""Trackly's attribution rule, written out in plain Python from docs/tables.md ("How a conversion is
attributed"), one conversion at a time: the oracle the warehouse's SQL is held against.

It shares nothing with the SQL but the rule: no horizon per run, no joins, no aggregates; every
"earliest" is a sort of the log rows in the rule's total order. Slow and obvious on purpose.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_HORIZON_DAYS = 30
DEFAULT_CLOCK_SKEW = timedelta(seconds=300)
MESSAGE_ID_LENGTH = 8


@dataclass(frozen=True)
class LoggedClick:
    click_id: str
    message_id: str | None  # "" means none, as NULL does
    clicked_at: datetime
    source_file: str
    source_row: int
    network_id: str | None = None  # the TUNE network and offer of the link clicked (None: not logged)
    offer_id: int | None = None

    def is_for(self, network_id: str | None, offer_id: int) -> bool:
        """A click on a link to this offer; one logged without a network or an offer may be any."""
        return (self.network_id is None or network_id is None or self.network_id == network_id) and (
            self.offer_id is None or self.offer_id == offer_id
        )


@dataclass(frozen=True)
class LoggedSend:
    message_id: str
    creative_id: int | None
    campaign_id: int | None
    sent_at: datetime
    source_file: str
    source_row: int


@dataclass(frozen=True)
class Attribution:
    method: str  # ad_id_click | sub_id_click | sub_id_message | unattributed
    click_id: str | None
    message_id: str | None
    reason: str | None  # unattributed_reason
    creative_id: int | None = None
    campaign_id: int | None = None


def horizon_days(window_days: int) -> int:
    """A conversion's lookup horizon: its offer's attribution window, at least 30 days."""
    return max(MIN_HORIZON_DAYS, window_days)


class TracklyLog:
    """The click and message logs, indexed the way the rule reads them."""

    def __init__(self, clicks: Iterable[LoggedClick], sends: Iterable[LoggedSend]):
        self._by_click_id: dict[str, list[LoggedClick]] = defaultdict(list)
        self._by_message: dict[str, list[LoggedClick]] = defaultdict(list)
        for click in clicks:
            self._by_click_id[click.click_id].append(click)
            if click.message_id:
                self._by_message[click.message_id].append(click)
        # The rule's order: time, then click id, then source file and row.
        for rows in (*self._by_click_id.values(), *self._by_message.values()):
            rows.sort(key=lambda c: (c.clicked_at, c.click_id, c.source_file, c.source_row))
        self._first_send: dict[str, LoggedSend] = {}
        for send in sorted(sends, key=lambda s: (s.sent_at, s.source_file, s.source_row)):
            self._first_send.setdefault(send.message_id, send)

    def click(self, click_id: str, horizon: datetime) -> LoggedClick | None:
        """The click an id names: its earliest row at or after the horizon."""
        return next((c for c in self._by_click_id.get(click_id, ()) if c.clicked_at >= horizon), None)

    def first_click(
        self, message_id: str, horizon: datetime, network_id: str | None, offer_id: int
    ) -> LoggedClick | None:
        """A message's first click for the offer at or after the horizon."""
        return next(
            (
                c
                for c in self._by_message.get(message_id, ())
                if c.clicked_at >= horizon and c.is_for(network_id, offer_id)
            ),
            None,
        )

    def first_send(self, message_id: str) -> LoggedSend | None:
        return self._first_send.get(message_id)


def attribute(
    log: TracklyLog,
    *,
    converted_at: datetime,
    ad_id: str | None,
    sub_id: str | None,
    window_days: int,
    offer_id: int = 0,
    network_id: str | None = None,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> Attribution:
    """One conversion, by the written rule: the first pass that earns the credit, else the reason."""
    ad_id, sub_id = ad_id or None, sub_id or None  # an empty id is no id
    looked_from = converted_at - timedelta(days=horizon_days(window_days))
    latest_engagement = converted_at + clock_skew  # nothing later can have earned the conversion
    window_start = converted_at - timedelta(days=window_days)
    findings: list[str] = []  # what each pass that found something, but could not credit, found

    def judged(method: str, engaged_at: datetime, by: str, click_id: str | None, message_id: str | None):
        if engaged_at >= window_start:
            return Attribution(method, click_id, message_id, None)
        findings.append(f"{by} outside the attribution window")
        return None

    for method, named in (("ad_id_click", ad_id), ("sub_id_click", sub_id)):
        click = log.click(named, looked_from) if named else None
        if click is None:
            continue
        if click.clicked_at > latest_engagement:
            findings.append("click after the conversion")
            continue
        # First-click rule: the engagement is the first click on the click's message for the offer,
        # or the click itself when it has no message or is earlier still.
        message_id = click.message_id or None
        first = log.first_click(message_id, looked_from, network_id, offer_id) if message_id else None
        if first is None or (click.clicked_at, click.click_id) < (first.clicked_at, first.click_id):
            first = click
        credited = judged(method, first.clicked_at, "click", first.click_id, message_id)
        if credited:
            return credited

    if sub_id and len(sub_id) == MESSAGE_ID_LENGTH:
        send = log.first_send(sub_id)
        first = log.first_click(sub_id, looked_from, network_id, offer_id)
        credited = None
        if first is not None and first.clicked_at <= latest_engagement:
            credited = judged("sub_id_message", first.clicked_at, "click", first.click_id, sub_id)
        elif send is not None and looked_from <= send.sent_at <= latest_engagement:
            credited = judged("sub_id_message", send.sent_at, "message sent", None, sub_id)
        elif send is not None and send.sent_at > latest_engagement:
            findings.append("message sent after the conversion")
        elif first is not None:
            findings.append("click after the conversion")
        elif send is not None:
            findings.append("message sent before the lookup horizon")
        if credited:
            return credited

    return Attribution("unattributed", None, None, _reason(findings, ad_id, sub_id))


def _reason(findings: list[str], ad_id: str | None, sub_id: str | None) -> str:
    """docs/tables.md's order: the first that applies."""
    for found in (
        "click outside the attribution window",
        "message sent outside the attribution window",
        "click after the conversion",
        "message sent after the conversion",
    ):
        if found in findings:
            return found
    if not sub_id and ad_id:
        return "no click for the ad_id"
    if not sub_id:
        return "sub-id empty"
    if len(sub_id) != MESSAGE_ID_LENGTH:
        return "sub-id not an 8-character id"
    if "message sent before the lookup horizon" in findings:
        return "message sent before the lookup horizon"
    return "message id unknown"


def with_creative(log: TracklyLog, attribution: Attribution) -> Attribution:
    """The credited message's creative and campaign: those of its first send."""
    send = log.first_send(attribution.message_id) if attribution.message_id else None
    if send is None:
        return attribution
    return Attribution(
        attribution.method,
        attribution.click_id,
        attribution.message_id,
        attribution.reason,
        send.creative_id,
        send.campaign_id,
    )

"""Other affiliates' conversions. The Network API reports the whole network, every partner's
conversions, so a sweep must ask for our affiliate's alone: these rows are what it would otherwise
count as ours. They are in no ground truth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .conversions import CARRIERS, UNATTRIBUTED, NetworkConversions, local_wall_time
from .randomids import unique_ids

OTHER_PARTNER_SHARE = 0.15  # of our conversions
_PARTNER_ID_OFFSETS = (17, 4242)  # other affiliates: our affiliate id plus these


def other_partner_ids(table: NetworkConversions) -> tuple[int, ...]:
    return partner_ids_beside(table.network.affiliate_id)


def partner_ids_beside(affiliate_id: str) -> tuple[int, ...]:
    """The other affiliates' ids in a network whose first account of ours has `affiliate_id`."""
    return tuple(int(affiliate_id) + offset for offset in _PARTNER_ID_OFFSETS)


def add_other_partners(
    rng: np.random.Generator, table: NetworkConversions, share: float = OTHER_PARTNER_SHARE
) -> NetworkConversions:
    """Our conversions plus other partners' on the same offers, interleaved by time and Stat.id.

    Each partner conversion takes a free Stat.id just after one of ours and a time between that
    conversion and the next, so our rows keep their ids and Stat.id still grows with time. It copies
    the money and status history of that (ordinary) conversion (same offer, so same currency); its
    ad_id, tune_event_id and sub-ids are the partner's own, unknown to Trackly."""
    ids = table.conversion_id
    # After an ordinary conversion: an adjustment's status code (52) and negative payout are not a sale's.
    free_after = np.flatnonzero((np.diff(ids) >= 2) & ~table.is_adjustment[:-1])
    count = min(len(free_after), round(len(ids) * share))
    if count == 0:
        return table
    after = np.sort(rng.choice(free_after, size=count, replace=False))
    earlier, later = table.converted_at[after], table.converted_at[after + 1]
    converted_at = np.minimum(earlier + (rng.random(count) * (later - earlier + 1)).astype(np.int64), later)
    local_seconds, local_text = local_wall_time(converted_at, table.network.timezone)
    partner_refs = unique_ids(rng, count, 16)
    subs = {name: np.full(count, "", dtype=values.dtype) for name, values in table.sub_ids.items()}
    subs["aff_sub"] = partner_refs.astype(table.sub_ids["aff_sub"].dtype)

    partner = NetworkConversions(
        network=table.network,
        affiliate_id=rng.choice(np.array(other_partner_ids(table), dtype=np.int64), size=count),
        conversion_id=ids[after] + 1,
        tune_event_id=unique_ids(rng, count, 32, taken=set(table.tune_event_id.tolist())).astype(
            table.tune_event_id.dtype
        ),
        ad_id=unique_ids(rng, count, 30, taken=set(table.ad_id.tolist())).astype(table.ad_id.dtype),
        converted_at=converted_at,
        local_seconds=local_seconds,
        local_text=local_text.astype(table.local_text.dtype),
        offer_id=table.offer_id[after],
        goal_id=np.zeros(count, dtype=table.goal_id.dtype),
        is_adjustment=np.zeros(count, dtype=bool),
        status_code=table.status_code[after],
        sale_cents=table.sale_cents[after],
        currency=table.currency[after],
        sub_ids=subs,
        state_at=np.maximum(table.state_at[after], converted_at[:, None]),
        state_status=table.state_status[after],
        state_payout=table.state_payout[after],
        state_revenue=table.state_revenue[after],
        carrier=np.full(count, CARRIERS[UNATTRIBUTED], dtype=table.carrier.dtype),
        click_id=np.full(count, "", dtype=table.click_id.dtype),
        message_id=np.full(count, "", dtype=table.message_id.dtype),
        creative_id=np.full(count, -1, dtype=table.creative_id.dtype),
        campaign_id=np.full(count, -1, dtype=table.campaign_id.dtype),
        clicked_at=np.full(count, -1, dtype=table.clicked_at.dtype),
        offer_names=table.offer_names,
    )
    return _merged_by_stat_id(table, partner)


def _merged_by_stat_id(ours: NetworkConversions, partner: NetworkConversions) -> NetworkConversions:
    order = np.argsort(np.concatenate([ours.conversion_id, partner.conversion_id]), kind="stable")

    def merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate([a, b])[order]

    columns = {
        name: merge(getattr(ours, name), getattr(partner, name))
        for name, value in vars(ours).items()
        if isinstance(value, np.ndarray)
    }
    columns["sub_ids"] = {name: merge(values, partner.sub_ids[name]) for name, values in ours.sub_ids.items()}
    return replace(ours, **columns)

"""The Trackly side of the world: creatives, messages, links and clicks, shared by all networks.

Built backwards from the conversions: every conversion that came through Trackly gets a message
and a first click before it; then clicks that never convert, repeat clicks (logged but not
counted: first-click attribution) and the many messages nobody clicked are added around them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .randomids import unique_ids

_USER_AGENTS = np.array(
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/123.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
    ]
)


@dataclass(frozen=True)
class OfferCatalogue:
    """All networks' offers in one index space, and the creative each offer is bound to. An offer is
    imported once per affiliate account of ours in its network: one global offer per account."""

    network_ids: np.ndarray  # network_id per global offer
    offer_ids: np.ndarray  # TUNE offer id per global offer
    creative_ids: np.ndarray  # creative id per creative
    creative_offers: np.ndarray  # (n_creatives, 2) global offer indexes, -1 = no second offer
    creative_of_offer: np.ndarray  # creative index per global offer
    affiliate_ids: np.ndarray  # the account's affiliate id per global offer (its links' aff_id)


def bind_creatives(
    rng: np.random.Generator, network_ids: np.ndarray, offer_ids: np.ndarray, affiliate_ids: np.ndarray
) -> OfferCatalogue:
    """Each creative binds one or two offers (its {{link1}}/{{link2}}); every offer is in one creative."""
    order = rng.permutation(len(offer_ids))
    groups, i = [], 0
    while i < len(order):
        size = 2 if (rng.random() < 0.5 and i + 1 < len(order)) else 1
        groups.append(order[i : i + size])
        i += size
    creative_offers = np.full((len(groups), 2), -1, dtype=np.int64)
    creative_of_offer = np.empty(len(offer_ids), dtype=np.int64)
    for c, members in enumerate(groups):
        creative_offers[c, : len(members)] = members
        creative_of_offer[members] = c
    creative_ids = np.sort(rng.choice(np.arange(100, 10_000), size=len(groups), replace=False))
    return OfferCatalogue(network_ids, offer_ids, creative_ids, creative_offers, creative_of_offer, affiliate_ids)


@dataclass(frozen=True)
class TracklyLog:
    messages: pd.DataFrame
    links: pd.DataFrame
    clicks: pd.DataFrame
    # Aligned with the converting clicks passed in: what each conversion's click resolves to.
    converting_click_ids: np.ndarray
    converting_message_ids: np.ndarray
    converting_creative_ids: np.ndarray
    converting_campaign_ids: np.ndarray


def _utc(seconds: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(seconds, unit="s", utc=True)


def _random_ips(rng: np.random.Generator, n: int) -> list[str]:
    octets = rng.integers(1, 255, size=(n, 4))
    octets[:, 0] = rng.choice([23, 45, 66, 73, 98, 104, 142, 172, 185, 203], size=n)
    return [f"{a}.{b}.{c}.{d}" for a, b, c, d in octets.tolist()]


def build_trackly_log(
    rng: np.random.Generator,
    catalogue: OfferCatalogue,
    converting_offer: np.ndarray,
    converting_clicked_at: np.ndarray,
    start: int,
    end: int,
    extra_clicks: int,
    repeat_clicks: int,
    quiet_messages: int,
) -> TracklyLog:
    n_conv = len(converting_offer)
    n_offers = len(catalogue.offer_ids)
    # Messages that were clicked: first those whose click converted, then clicks that did not.
    other_offer = rng.integers(0, n_offers, size=extra_clicks)
    other_clicked_at = rng.integers(start, end, size=extra_clicks)
    click_offer = np.concatenate([converting_offer, other_offer]).astype(np.int64)
    first_click_at = np.concatenate([converting_clicked_at, other_clicked_at]).astype(np.int64)
    n_clicked = len(click_offer)
    sent_before_click = np.maximum(30, rng.exponential(2400, size=n_clicked)).astype(np.int64)
    clicked_sent_at = first_click_at - sent_before_click
    clicked_creative = catalogue.creative_of_offer[click_offer]

    quiet_creative = rng.integers(0, len(catalogue.creative_ids), size=quiet_messages)
    quiet_sent_at = rng.integers(start - 86400, end, size=quiet_messages)

    creative_index = np.concatenate([clicked_creative, quiet_creative])
    sent_at = np.concatenate([clicked_sent_at, quiet_sent_at])
    n_messages = len(sent_at)
    message_ids = unique_ids(rng, n_messages, 8, alphabet="base62")
    campaign_pool = np.sort(rng.choice(np.arange(1, 100_000), size=max(5, n_messages // 4000 + 5), replace=False))
    campaign_ids = campaign_pool[rng.integers(0, len(campaign_pool), size=n_messages)]
    contact_ids = rng.integers(1, max(2, n_messages // 2), size=n_messages)
    sending_list_ids = rng.integers(1, 13, size=n_messages)
    creative_ids = catalogue.creative_ids[creative_index]

    # One link per message per offer of its creative: slot-0 links first (link i = message i),
    # then slot-1 links for the messages whose creative binds a second offer.
    two_offer_messages = np.flatnonzero(catalogue.creative_offers[creative_index, 1] >= 0)
    link_message = np.concatenate([np.arange(n_messages), two_offer_messages])
    link_slot = np.repeat([0, 1], [n_messages, len(two_offer_messages)])
    link_offer = catalogue.creative_offers[creative_index[link_message], link_slot]
    link_ids = unique_ids(rng, len(link_message), 7, alphabet="base62")
    clicked = np.arange(n_clicked)
    in_second_slot = catalogue.creative_offers[clicked_creative, 1] == click_offer
    first_click_link = np.where(in_second_slot, n_messages + np.searchsorted(two_offer_messages, clicked), clicked)

    # Repeat clicks: the same link again, after the first click.
    repeated = rng.integers(0, n_clicked, size=repeat_clicks)
    repeat_at = first_click_at[repeated] + np.maximum(5, rng.exponential(7200, size=repeat_clicks)).astype(np.int64)
    click_message = np.concatenate([np.arange(n_clicked), repeated])
    click_link = np.concatenate([first_click_link, first_click_link[repeated]])
    clicked_at = np.concatenate([first_click_at, repeat_at])
    n_clicks = len(click_message)
    click_ids = unique_ids(rng, n_clicks, 24)
    click_offer_all = link_offer[click_link]

    messages = pd.DataFrame(
        {
            "message_id": message_ids,
            "creative_id": creative_ids,
            "campaign_id": campaign_ids,
            "contact_id": contact_ids,
            "sending_list_id": sending_list_ids,
            "sent_at": _utc(sent_at),
        }
    )
    links = pd.DataFrame(
        {
            "link_id": link_ids,
            "message_id": message_ids[link_message],
            "network_id": catalogue.network_ids[link_offer],
            "offer_id": catalogue.offer_ids[link_offer],
            "affiliate_id": catalogue.affiliate_ids[link_offer],
        }
    )
    clicks = pd.DataFrame(
        {
            "click_id": click_ids,
            "link_id": link_ids[click_link],
            "message_id": message_ids[click_message],
            "network_id": catalogue.network_ids[click_offer_all],
            "offer_id": catalogue.offer_ids[click_offer_all],
            "clicked_at": _utc(clicked_at),
            "ip": _random_ips(rng, n_clicks),
            "user_agent": _USER_AGENTS[rng.integers(0, len(_USER_AGENTS), size=n_clicks)],
            # The TUNE affiliate account the link was built for (`aff_id`): the log's optional column that
            # tells apart accounts of ours on one network.
            "affiliate_id": catalogue.affiliate_ids[click_offer_all],
        }
    )
    # Logs read naturally in time order; ids stay stable whatever the order.
    messages = messages.sort_values(["sent_at", "message_id"], kind="stable").reset_index(drop=True)
    clicks = clicks.sort_values(["clicked_at", "click_id"], kind="stable").reset_index(drop=True)
    return TracklyLog(
        messages=messages,
        links=links,
        clicks=clicks,
        converting_click_ids=click_ids[:n_conv],
        converting_message_ids=message_ids[:n_conv],
        converting_creative_ids=creative_ids[:n_conv],
        converting_campaign_ids=campaign_ids[:n_conv],
    )

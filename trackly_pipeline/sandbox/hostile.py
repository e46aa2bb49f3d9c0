"""Hostile rows for bad-input tests: the `hostile_rows` fault appends them to Report::getConversions pages.

Each row starts as a full copy of a real conversion (every Report::getConversions field) and breaks
exactly one thing, or carries a valid but awkward value. They come in HOSTILE_ROW_CASES order and
are appended after the page's real rows; `count` and `pageCount` are NOT changed (they still count
the real rows only), as a buggy report cache would do. The server keeps only the fields the request
asked for; a field a case removes stays missing.

None of these rows is in the world's ground truth: the valid ones are extra conversions the
pipeline should store verbatim, the invalid ones it should reject (quarantine/skip) without failing
the run and without touching the real conversions.
"""

from __future__ import annotations

import copy

import numpy as np

from .report_api import REPORT_FIELDS, render_full_rows
from .world import SandboxWorld

LONG_SUB_ID = ("hostile-" + "x" * 10_000)[:10_000]  # exactly 10,000 characters
QUOTED_SUB_ID = 'O\'Brien "quoted" ; DROP TABLE x; -- \u2603 \U0001f600'
QUOTED_SOURCE = "Robert'); DROP TABLE conversions;-- \\ back\\slash \t tab \u00e9\u00e8 \u4e2d\u6587"

# (label, expected_valid): in the order hostile_rows() returns the rows.
HOSTILE_ROW_CASES: list[tuple[str, bool]] = [
    ("missing_stat_id", False),
    ("stat_id_not_a_number", False),
    ("missing_datetime", False),
    ("datetime_not_a_date", False),
    ("payout_decimal_comma", False),
    ("payout_overflow_1e400", False),
    ("payout_huge_99999999999999", False),
    ("currency_not_iso_XXQ1", False),
    ("currency_lowercase_padded", False),
    ("status_unknown", False),
    ("duplicate_stat_id_other_payout", False),
    ("affiliate_info1_10000_chars", True),
    ("quotes_and_unicode_in_sub_ids", True),
]

HOSTILE_ROW_WHY: dict[str, str] = {
    "missing_stat_id": "no Stat.id (nor Stat.tune_event_id): the row has no key",
    "stat_id_not_a_number": 'Stat.id is "abc" (and tune_event_id is empty): not a conversion id',
    "missing_datetime": "no Stat.datetime: the conversion cannot be placed in time",
    "datetime_not_a_date": 'Stat.datetime is "not a date"',
    "payout_decimal_comma": 'Stat.payout is "12,50": not a number (decimal comma)',
    "payout_overflow_1e400": 'Stat.payout is "1e400": overflows a double to inf; not a finite amount',
    "payout_huge_99999999999999": 'Stat.payout is "99999999999999": does not fit DECIMAL(18,5), implausible',
    "currency_not_iso_XXQ1": 'Stat.currency is "XXQ1": not an ISO 4217 code',
    "currency_lowercase_padded": 'Stat.currency is "usd ": not an ISO 4217 code as sent',
    "status_unknown": 'Stat.status is "weird": not approved|pending|rejected',
    "duplicate_stat_id_other_payout": (
        "same Stat.id and tune_event_id as a real row served earlier in the sweep (the first real row of"
        " the page, else the network's first conversion) but payout + 1000.00: a conflicting duplicate; the"
        " real row's values are the truth, the conflict must not be double counted or silently win"
    ),
    "affiliate_info1_10000_chars": "valid: Stat.affiliate_info1 is 10,000 characters and must be stored verbatim",
    "quotes_and_unicode_in_sub_ids": (
        "valid: quotes, semicolons, SQL comment, backslashes, tab and non-BMP unicode in affiliate_info1..5,"
        " source and affiliate_unique1..5; stored verbatim"
    ),
}

HOSTILE_ID_BASE = 900_000_000  # Stat.id of the valid hostile rows: HOSTILE_ID_BASE + 100 * page + case index


def _base_rows(world: SandboxWorld, network_id: str, base_id: int | None) -> dict:
    table = world.conversions(network_id)
    clock = world.clock.epoch_seconds()
    visible = table.visible(clock)
    if base_id is not None:
        hit = np.flatnonzero(table.conversion_id[visible] == int(base_id))
        index = visible[hit[0]] if len(hit) else (visible[0] if len(visible) else 0)
    else:
        index = visible[0] if len(visible) else 0
    return render_full_rows(table, clock, np.array([index]))[0]


def hostile_rows(world: SandboxWorld, network_id: str, page: int, base_id: int | None = None) -> list[dict]:
    """The hostile rows for one page, full rows ({"Stat": {...}, "ConversionsMobile": {...}, "Offer": {...}}).

    `base_id`: the real conversion (Stat.id) the rows are cloned from and the duplicate repeats;
    default the network's first visible conversion. The server passes the page's first real row.
    """
    base = _base_rows(world, network_id, base_id)
    rows = []
    for position, (label, _) in enumerate(HOSTILE_ROW_CASES):
        row = copy.deepcopy(base)
        stat, mobile = row["Stat"], row["ConversionsMobile"]
        synthetic_id = HOSTILE_ID_BASE + 100 * int(page) + position
        stat["id"] = str(synthetic_id)
        stat["tune_event_id"] = f"hostile{synthetic_id:025d}"
        stat["ad_id"] = f"hostile{synthetic_id:023d}"
        if label == "missing_stat_id":
            del stat["id"], stat["tune_event_id"]
        elif label == "stat_id_not_a_number":
            stat["id"], stat["tune_event_id"] = "abc", ""
        elif label == "missing_datetime":
            del stat["datetime"], stat["date"]
        elif label == "datetime_not_a_date":
            stat["datetime"] = stat["date"] = "not a date"
        elif label == "payout_decimal_comma":
            stat["payout"] = "12,50"
        elif label == "payout_overflow_1e400":
            stat["payout"] = "1e400"
        elif label == "payout_huge_99999999999999":
            stat["payout"] = "99999999999999"
        elif label == "currency_not_iso_XXQ1":
            stat["currency"] = "XXQ1"
        elif label == "currency_lowercase_padded":
            stat["currency"] = "usd "
        elif label == "status_unknown":
            stat["status"] = "weird"
        elif label == "duplicate_stat_id_other_payout":
            stat["id"], stat["tune_event_id"], stat["ad_id"] = (
                base["Stat"]["id"],
                base["Stat"]["tune_event_id"],
                base["Stat"]["ad_id"],
            )
            whole, _, frac = base["Stat"]["payout"].partition(".")
            stat["payout"] = (
                f"{int(whole) + 1000}.{frac}" if not whole.startswith("-") else f"{int(whole) - 1000}.{frac}"
            )
        elif label == "affiliate_info1_10000_chars":
            stat["affiliate_info1"] = LONG_SUB_ID
        elif label == "quotes_and_unicode_in_sub_ids":
            for n in range(1, 6):
                stat[f"affiliate_info{n}"] = f"{QUOTED_SUB_ID} {n}"
                mobile[f"affiliate_unique{n}"] = f"{QUOTED_SUB_ID} u{n}"
            stat["source"] = QUOTED_SOURCE
        rows.append(row)
    return rows


def project(row: dict, fields: list[str]) -> dict:
    """Keep only the requested fields, in request order; fields the row lacks stay missing."""
    out: dict = {}
    for name in fields:
        model, _, attribute = name.partition(".")
        if attribute in row.get(model, {}):
            out.setdefault(model, {})[attribute] = row[model][attribute]
    return out


def add_hostile_rows(world: SandboxWorld, params: dict, body: dict) -> dict:
    """Append the page's hostile rows to a successful Report::getConversions reply (in place)."""
    response = body.get("response") or {}
    data = response.get("data")
    if response.get("status") != 1 or not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return body
    from .params import as_list

    fields = [f for f in as_list(params.get("fields")) if f in REPORT_FIELDS]
    first = data["data"][0].get("Stat", {}).get("id") if data["data"] else None
    page = int(data.get("page") or 1)
    extra = hostile_rows(world, str(params.get("NetworkId")), page, int(first) if first else None)
    data["data"].extend(project(row, fields) for row in extra)
    return body


# Offer::findAll rows added by the hostile_offers fault next to the page's real offers, keyed like
# them (by id), in HOSTILE_OFFER_CASES order: (label, expected_valid). The first is the original
# one, a bare row whose id is not a number; the others are copies of the reply's first real offer
# that break (or stretch) one field. None is in the world's ground truth.
HOSTILE_OFFER_ID = "not-a-number"
HOSTILE_OFFER_ID_BASE = 990_000_000  # Offer.id of the hostile copies: HOSTILE_OFFER_ID_BASE + case index
HOSTILE_OFFER_DST_GAP = "2026-03-08 02:30:00"  # does not exist in US zones (the acme network's)
HOSTILE_OFFER_CASES: list[tuple[str, bool]] = [
    ("id_not_a_number", False),
    ("id_beyond_int64", False),
    ("default_payout_6_decimals", False),
    ("advertiser_id_beyond_int64", False),
    ("name_lone_surrogate", False),
    ("expiration_date_in_dst_gap", True),
    ("default_payout_json_number", True),
]
HOSTILE_OFFER_WHY: dict[str, str] = {
    "id_not_a_number": 'Offer.id is "not-a-number" (keyed so too)',
    "id_beyond_int64": 'Offer.id is "9223372036854775808": 2**63, beyond BIGINT',
    "default_payout_6_decimals": 'Offer.default_payout is "0.123456": not exact in DECIMAL(18,5)',
    "advertiser_id_beyond_int64": 'Offer.advertiser_id is "9223372036854775808": 2**63, beyond BIGINT',
    "name_lone_surrogate": "Offer.name holds a lone surrogate (the JSON escape \\ud800): not storable text",
    "expiration_date_in_dst_gap": (
        f"valid: Offer.expiration_date is {HOSTILE_OFFER_DST_GAP!r}, a local time that does not exist in"
        " US zones; the field is not stored, so the offer must be stored"
    ),
    "default_payout_json_number": "valid: Offer.default_payout is the JSON number 12.34567, not a string",
}


def hostile_offer_id(label: str) -> str:
    """The Offer.id (and key) of a hostile offer as sent."""
    if label == "id_not_a_number":
        return HOSTILE_OFFER_ID
    if label == "id_beyond_int64":
        return str(2**63)
    return str(HOSTILE_OFFER_ID_BASE + [name for name, _ in HOSTILE_OFFER_CASES].index(label))


def hostile_offers(template: dict | None) -> dict[str, dict]:
    """The hostile offer rows, keyed by their id; `template` is a real entry ({"Offer": {...}, ...})."""
    rows: dict[str, dict] = {}
    for label, _ in HOSTILE_OFFER_CASES:
        offer_id = hostile_offer_id(label)
        if label == "id_not_a_number":
            rows[offer_id] = {"Offer": {"id": offer_id, "name": 'Broken "offer" \u2603', "status": "active"}}
            continue
        if template is None:  # no real offer to copy
            continue
        row = copy.deepcopy(template)
        offer = row["Offer"]
        offer["id"], offer["name"] = offer_id, f"Hostile offer {label}"
        if label == "default_payout_6_decimals":
            offer["default_payout"] = "0.123456"
        elif label == "advertiser_id_beyond_int64":
            offer["advertiser_id"] = str(2**63)
        elif label == "name_lone_surrogate":
            offer["name"] = "Broken \ud800 offer"
        elif label == "expiration_date_in_dst_gap":
            offer["expiration_date"] = HOSTILE_OFFER_DST_GAP
        elif label == "default_payout_json_number":
            offer["default_payout"] = 12.34567
        rows[offer_id] = row
    return rows


def add_hostile_offer(body: dict) -> dict:
    """Add the hostile offers to a successful Offer::findAll reply (paginated or not), in place.
    An empty catalog (sent as `[]`) is left alone."""
    response = body.get("response") or {}
    data = response.get("data")
    if response.get("status") != 1 or not isinstance(data, dict):
        return body
    rows = data.get("data") if "pageCount" in data else data
    if isinstance(rows, dict):
        template = next((row for row in rows.values() if isinstance(row, dict) and "Offer" in row), None)
        rows.update(hostile_offers(template))
    return body

"""An offer catalog with offers the warehouse cannot hold: each is rejected with a reason naming the
field (and quarantined, kind 'offer'), and every other offer is stored. The offers get the same value
checks as conversions (BIGINT ids, DECIMAL(18, 5) amounts, valid Unicode text, JSON numbers exact);
fields Trackly does not store never reject an offer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trackly_pipeline.tune import Offer
from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.offers import OfferRow, replace_offers
from trackly_pipeline.warehouse.sync_records import quarantine

from .conftest import SECRET_TOKEN
from .test_client_http import make_client

SYNCED_AT = datetime(2026, 3, 9, tzinfo=UTC)


def offer_entry(offer_id, **fields) -> dict:
    offer = {
        "id": offer_id,
        "name": f"Offer {offer_id}",
        "status": "active",
        "payout_type": "cpa_flat",
        "default_payout": "10.50000",
        "percent_payout": None,
        "currency": "USD",
        "advertiser_id": "9",
        "offer_url": "https://adv.example/?t={transaction_id}",
        "preview_url": "https://adv.example",
        "approve_conversions": "0",
        "expiration_date": "2030-01-01 00:00:00",
        "modified": 1700000000,
    }
    offer.update(fields)
    return {"Offer": offer, "Advertiser": {"id": "9", "company": "Acme"}}


# key -> (entry, raw bytes to put in place of "@raw@" or None, the reason's start or None when stored)
CATALOG: dict[str, tuple[dict, bytes | None, str | None]] = {
    "3": (offer_entry("3"), None, None),
    "4": (offer_entry("4", default_payout="0.123456"), None, "Offer.default_payout has more than 5 decimal places"),
    "9223372036854775808": (
        offer_entry("9223372036854775808"),
        None,
        "Offer.id is out of range for a 64-bit integer: '9223372036854775808'",
    ),
    "6": (offer_entry("6", advertiser_id="9223372036854775808"), None, "Offer.advertiser_id is out of range"),
    "7": (
        offer_entry("7", percent_payout="@raw@"),
        b"12.345678901234567891",
        "Offer.percent_payout has more than 5 decimal places: 12.345678901234567891",
    ),
    "8": (offer_entry("8", default_payout="@raw@"), b"99999999999.99999", None),
    "9": (offer_entry("9", name="@raw@"), rb'"Bad \ud800 name"', "Offer.name is not valid Unicode text"),
    "10": (
        offer_entry("10", name="@raw@"),
        b'"Caf\xe9"',
        "Offer.name is not valid Unicode text: lone surrogate U+DCE9",
    ),
    "11": (
        {**offer_entry("11"), "Advertiser": {"id": "9", "company": "@raw@"}},
        rb'"\udc00 Ltd"',
        "Advertiser.company is not valid Unicode text",
    ),
    "12": (offer_entry("12", expiration_date="2026-03-08 02:30:00"), None, None),  # a DST gap in New York
    "13": (offer_entry("13", approve_conversions="maybe", preview_url={"not": "text"}), None, None),
    "14": (offer_entry("14", default_payout="@raw@"), b"25", None),
    "15": (offer_entry("15", id="@raw@"), b"15", None),
    "16": (offer_entry("16", default_payout="@raw@"), b"1e400", "Offer.default_payout is out of range"),
    "17": (
        offer_entry("17", default_payout="@raw@"),
        b"0.1234567",
        "Offer.default_payout has more than 5 decimal places: 0.1234567",
    ),
}
STORED = [3, 8, 12, 13, 14, 15]


def catalog_reply() -> bytes:
    """One Offer::findAll page keyed by offer id, each "@raw@" replaced by its offer's bytes."""
    data = {
        "page": 1,
        "current": 0,
        "count": len(CATALOG),
        "pageCount": 1,
        "data": {key: entry for key, (entry, _, _) in CATALOG.items()},
    }
    body = json.dumps(
        {
            "request": {"Target": "Offer", "Method": "findAll", "NetworkToken": SECRET_TOKEN},
            "response": {"status": 1, "httpStatus": 200, "data": data, "errors": [], "errorMessage": None},
        }
    ).encode()
    for key, (_, raw, _) in CATALOG.items():
        if raw is not None:
            start = body.index(json.dumps(key).encode() + b": {")
            at = body.index(b'"@raw@"', start)
            body = body[:at] + raw + body[at + len(b'"@raw@"') :]
    assert b"@raw@" not in body
    return body


def stored_row(offer: Offer) -> OfferRow:
    """What the offers asset stores for an offer (defs/assets/offers.py offer_row, without links)."""
    return OfferRow(
        offer_id=offer.offer_id,
        name=offer.name,
        tune_name=offer.name,
        status=offer.status,
        payout=offer.default_payout,
        payout_type=offer.payout_type,
        percent_payout=offer.percent_payout,
        currency=offer.currency,
        advertiser_id=offer.advertiser_id,
        advertiser=offer.advertiser_name,
        offer_url=offer.offer_url,
        tracking_url="https://t.example/aff_c",
        postback_url="https://p.example/",
        modified_at=offer.modified,
    )


def test_one_bad_offer_is_quarantined_and_the_others_stored(scripted_server, tmp_path):
    server = scripted_server(catalog_reply())
    catalog = make_client(server.url).read_offer_catalog()
    assert sorted(offer.offer_id for offer in catalog.offers) == STORED
    expected_reasons = {key: reason for key, (_, _, reason) in CATALOG.items() if reason is not None}
    assert {r.conversion_id: r.reason for r in catalog.rejected}.keys() == expected_reasons.keys()
    for rejected in catalog.rejected:
        assert rejected.reason.startswith(expected_reasons[rejected.conversion_id]), rejected.reason

    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        with transaction(conn):
            quarantined = quarantine(
                conn, sync_id="offers-1", network="acme", kind="offer", rejected=catalog.rejected, received_at=SYNCED_AT
            )
            stats = replace_offers(
                conn, "acme", [stored_row(o) for o in catalog.offers], import_all=True, synced_at=SYNCED_AT
            )
        assert quarantined == len(expected_reasons) and stats.offers == len(STORED)
        payouts = dict(conn.execute("SELECT offer_id, payout FROM tune.offers WHERE network = 'acme'").fetchall())
        rows = conn.execute(
            "SELECT kind, record_id, reason, raw_json FROM ops.quarantine ORDER BY record_id"
        ).fetchall()
    assert payouts == {
        3: Decimal("10.5"),
        8: Decimal("99999999999.99999"),
        12: Decimal("10.5"),
        13: Decimal("10.5"),
        14: Decimal("25"),
        15: Decimal("10.5"),
    }
    assert {kind for kind, *_ in rows} == {"offer"}
    raws = {record_id: json.loads(raw) for _, record_id, _, raw in rows}
    assert raws["9"]["Offer"]["name"] == "Bad \\ud800 name"  # as received, the lone surrogate as its escape
    assert raws["10"]["Offer"]["name"] == "Caf\\udce9"  # the byte 0xE9 that is not UTF-8
    assert raws["7"]["Offer"]["percent_payout"] == "12.345678901234567891"  # every digit (a float would round)
    assert raws["17"]["Offer"]["default_payout"] == 0.1234567  # a number still, where a float is exact
    assert raws["4"]["Offer"]["default_payout"] == "0.123456"
    assert SECRET_TOKEN not in json.dumps(raws)


def test_fields_not_stored_never_reject_an_offer(scripted_server):
    server = scripted_server(catalog_reply())
    offers = {o.offer_id: o for o in make_client(server.url).read_offer_catalog().offers}
    assert offers[12].expiration_date is None  # 02:30 on 2026-03-08 does not exist in New York
    assert offers[13].approve_conversions is None and offers[13].preview_url is None
    assert offers[3].expiration_date == datetime(2030, 1, 1, 5, tzinfo=UTC)
    assert offers[3].approve_conversions is False and offers[3].preview_url == "https://adv.example"


def test_replace_offers_names_the_offer_and_field_it_cannot_store(tmp_path):
    """parse_offer_row keeps such offers out; should one get here, the error says which, and nothing
    is written."""
    good = OfferRow(
        offer_id=3,
        name="Good",
        tune_name="Good",
        status="active",
        payout=Decimal("10.5"),
        payout_type="cpa_flat",
        percent_payout=None,
        currency="USD",
        advertiser_id=None,
        advertiser=None,
        offer_url=None,
        tracking_url="https://t.example/aff_c",
        postback_url="https://p.example/",
        modified_at=None,
    )
    bad = OfferRow(**{**good.__dict__, "offer_id": 4, "payout": Decimal("0.123456")})
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        with (
            pytest.raises(
                ValueError,
                match=r"offer 4: payout cannot be stored as decimal128\(18, 5\): "
                r"Decimal\('0.123456'\)",
            ),
            transaction(conn),
        ):
            replace_offers(conn, "acme", [good, bad], import_all=True, synced_at=SYNCED_AT)
        assert conn.execute("SELECT count(*) FROM tune.offers").fetchone()[0] == 0

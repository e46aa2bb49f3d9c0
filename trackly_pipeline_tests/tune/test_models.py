"""Typed parsing of offer and conversion rows, and the validation reasons for bad rows."""

import copy
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from trackly_pipeline.tune import RowError, parse_conversion_row, parse_offer_row
from trackly_pipeline.tune.envelope import parse_body, rows_of

from .conftest import recorded_body

PRAGUE = ZoneInfo("Europe/Prague")  # the recorded network reports in Czech time
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def recorded_rows(prefix: str) -> list[dict]:
    data = parse_body(recorded_body(prefix))
    return rows_of(data["data"] if "pageCount" in data else data)


def report_row(**stat_overrides: object) -> dict:
    stat = {
        "id": "1001",
        "tune_event_id": "evt-1001",
        "ad_id": "102abc",
        "datetime": "2024-05-01 12:00:00",
        "offer_id": "7",
        "affiliate_id": "3",
        "goal_id": "0",
        "status": "approved",
        "status_code": "43",
        "is_adjustment": "0",
        "payout": "1.50000",
        "revenue": "2.25000",
        "sale_amount": "",
        "currency": "USD",
        "affiliate_info1": "msg-9",
        "affiliate_info2": "",
        "affiliate_info3": "",
        "affiliate_info4": "",
        "affiliate_info5": "",
        "source": "sms",
    }
    stat.update(stat_overrides)
    return {"Stat": stat, "ConversionsMobile": {"affiliate_unique1": "u1", "affiliate_unique2": ""}}


# ---- recorded rows -----------------------------------------------------------------------


def test_recorded_conversion_rows_parse_with_string_numbers():
    rows = {row["Conversion"]["id"]: row for row in recorded_rows("14")}
    conversion = parse_conversion_row(rows["55632"], PRAGUE)
    assert conversion.conversion_id == 55632
    assert conversion.ad_id == "102d365610c5506165491ff839583c"
    assert conversion.converted_at == utc(2016, 6, 30, 16, 29, 58)  # CEST = UTC+2
    assert conversion.offer_id == 9 and conversion.affiliate_id == 3 and conversion.goal_id == 0
    assert conversion.status == "approved" and conversion.status_code == 43
    assert conversion.is_adjustment is False
    assert conversion.payout == Decimal("700.00000")
    assert conversion.revenue == Decimal("1100.00000") and conversion.sale_amount == Decimal("1100.00000")
    assert conversion.currency == "CZK"
    assert (conversion.aff_sub, conversion.aff_sub2, conversion.aff_sub3) == ("FP", "PD", None)
    assert conversion.source == "NEX"
    assert conversion.tune_event_id is None  # Conversion::findAll has no tune_event_id
    assert conversion.affiliate_unique1 is None


@pytest.mark.parametrize("prefix", ["08", "12", "14", "16"])
def test_every_recorded_conversion_row_is_valid(prefix):
    rows = recorded_rows(prefix)
    assert rows
    for row in rows:
        conversion = parse_conversion_row(row, PRAGUE)
        assert conversion.converted_at.tzinfo is UTC
        assert conversion.status in {"approved", "pending", "rejected"}


def test_recorded_offer_rows_parse():
    offers = {o.offer_id: o for o in (parse_offer_row(r, PRAGUE) for r in recorded_rows("04"))}
    perfect = offers[1]
    assert perfect.name == "PerfectMoney" and perfect.status == "deleted"
    assert perfect.currency == "CZK" and perfect.payout_type == "cpa_flat"
    assert perfect.default_payout == Decimal("900.00000") and perfect.percent_payout == Decimal("90.00")
    assert perfect.advertiser_id is None and perfect.advertiser_name is None
    assert perfect.expiration_date == utc(2021, 2, 18, 21, 59, 59)  # CET = UTC+1
    assert perfect.modified == datetime.fromtimestamp(1464090634, UTC)
    assert perfect.approve_conversions is False  # null
    assert offers[3].name == "Půjčka7" and offers[3].advertiser_id == 42


def test_recorded_find_by_id_offer_with_zero_dates_and_nulls():
    offer = parse_offer_row(parse_body(recorded_body("01")))
    assert offer.offer_id == 196 and offer.status == "pending"
    assert offer.modified is None  # -62169966000 is TUNE's year-0 "never"
    assert offer.currency is None and offer.percent_payout is None
    assert offer.offer_url == "http://www.example.com"
    assert offer.expiration_date == utc(2030, 12, 12, 23, 59, 59)  # no zone given: UTC


def test_offer_zero_expiration_and_contained_advertiser_shapes():
    base = {
        "id": "5",
        "name": "X",
        "status": "active",
        "expiration_date": "0000-00-00 00:00:00",
        "approve_conversions": "1",
        "advertiser_id": "12",
    }
    flat = parse_offer_row({"Offer": base, "Advertiser": {"id": "12", "company": "Acme s.r.o."}})
    keyed = parse_offer_row({"Offer": base, "Advertiser": {"12": {"id": "12", "company": "Acme s.r.o."}}})
    empty = parse_offer_row({"Offer": base, "Advertiser": []})
    assert flat.advertiser_name == keyed.advertiser_name == "Acme s.r.o."
    assert empty.advertiser_name is None
    assert flat.expiration_date is None and flat.approve_conversions is True


def test_offer_without_id_is_an_error():
    with pytest.raises(RowError, match=r"Offer\.id is missing"):
        parse_offer_row({"Offer": {"name": "x"}})


# ---- report rows -------------------------------------------------------------------------


def test_report_row_all_fields():
    conversion = parse_conversion_row(report_row(), NEW_YORK)
    assert conversion.conversion_id == 1001 and conversion.tune_event_id == "evt-1001"
    assert conversion.converted_at == utc(2024, 5, 1, 16, 0, 0)  # EDT = UTC-4
    assert conversion.sale_amount is None and conversion.aff_sub2 is None
    assert conversion.affiliate_unique1 == "u1" and conversion.affiliate_unique2 is None
    assert conversion.affiliate_unique5 is None


def test_native_json_numbers_and_negative_adjustments():
    conversion = parse_conversion_row(
        report_row(id=5, offer_id=7, payout=-2.5, revenue=0.1, is_adjustment=1, status_code=52), NEW_YORK
    )
    assert conversion.conversion_id == 5
    assert conversion.payout == Decimal("-2.5") and conversion.revenue == Decimal("0.1")
    assert conversion.is_adjustment is True and conversion.status_code == 52


def test_unicode_sub_ids_survive():
    conversion = parse_conversion_row(report_row(affiliate_info1="zpráva-č.1 ✓", source="日本"), NEW_YORK)
    assert conversion.aff_sub == "zpráva-č.1 ✓" and conversion.source == "日本"


@pytest.mark.parametrize(
    "zone, local, later",
    [
        ("America/New_York", "2024-11-03 01:30:00", utc(2024, 11, 3, 6, 30)),  # 01:30 EST, not 01:30 EDT
        ("America/New_York", "2024-11-03 01:00:00", utc(2024, 11, 3, 6, 0)),  # the repeated hour's edges
        ("America/New_York", "2024-11-03 01:59:59", utc(2024, 11, 3, 6, 59, 59)),
        ("Australia/Lord_Howe", "2026-04-05 01:45:00", utc(2026, 4, 4, 15, 15)),  # a 30-minute shift
        ("Australia/Adelaide", "2026-04-05 02:30:00", utc(2026, 4, 4, 17, 0)),  # a half-hour offset (+09:30)
    ],
)
def test_ambiguous_fall_back_time_reads_as_the_later_instant(zone, local, later):
    """Never before the conversion happened: a click before it stays before it (docs/tables.md)."""
    conversion = parse_conversion_row(report_row(datetime=local), ZoneInfo(zone))
    assert conversion.converted_at == later


def test_times_next_to_the_repeated_hour_are_unambiguous():
    assert parse_conversion_row(report_row(datetime="2024-11-03 00:59:59"), NEW_YORK).converted_at == utc(
        2024, 11, 3, 4, 59, 59
    )
    assert parse_conversion_row(report_row(datetime="2024-11-03 02:00:00"), NEW_YORK).converted_at == utc(
        2024, 11, 3, 7
    )


def test_nonexistent_spring_forward_time_is_rejected():
    with pytest.raises(RowError, match=r"Stat.datetime does not exist in time zone America/New_York"):
        parse_conversion_row(report_row(datetime="2024-03-10 02:30:00"), NEW_YORK)


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"id": None}, "Stat.id is missing"),
        ({"id": ""}, "Stat.id is missing"),
        ({"id": "12a"}, "Stat.id is not an integer"),
        ({"id": "1.5"}, "Stat.id is not an integer"),
        ({"offer_id": None}, "Stat.offer_id is missing"),
        ({"offer_id": "seven"}, "Stat.offer_id is not an integer"),
        ({"datetime": None}, "Stat.datetime is missing"),
        ({"datetime": "2024-05-01T12:00:00Z"}, "Stat.datetime is not a 'YYYY-MM-DD HH:MM:SS' datetime"),
        ({"datetime": "0000-00-00 00:00:00"}, "Stat.datetime is not a 'YYYY-MM-DD HH:MM:SS' datetime"),
        ({"payout": None}, "Stat.payout is missing"),
        ({"payout": "abc"}, "Stat.payout is not a number"),
        ({"payout": "NaN"}, "Stat.payout is not finite"),
        ({"payout": "Infinity"}, "Stat.payout is not finite"),
        ({"payout": float("inf")}, "Stat.payout is not finite"),
        ({"payout": "1e12"}, "Stat.payout is out of range"),
        ({"revenue": "-1000000000000.5"}, "Stat.revenue is out of range"),
        ({"revenue": "12,5"}, "Stat.revenue is not a number"),
        ({"sale_amount": "nan"}, "Stat.sale_amount is not finite"),
        ({"status": "APPROVE"}, "Stat.status is not approved/pending/rejected"),
        ({"status": "app roved"}, "Stat.status is not approved/pending/rejected"),
        ({"status": "paid"}, "Stat.status is not approved/pending/rejected"),
        ({"status": None}, "Stat.status is missing"),
        ({"currency": "usd"}, "Stat.currency is not a 3-letter upper-case currency code"),
        ({"currency": "USDT"}, "Stat.currency is not a 3-letter upper-case currency code"),
        ({"is_adjustment": "maybe"}, "Stat.is_adjustment is not a boolean"),
        ({"affiliate_id": "x"}, "Stat.affiliate_id is not an integer"),
    ],
)
def test_invalid_rows_name_the_field(overrides, reason):
    with pytest.raises(RowError) as caught:
        parse_conversion_row(report_row(**overrides), NEW_YORK)
    assert caught.value.reason.startswith(reason)


def test_amount_just_under_the_limit_is_accepted():
    conversion = parse_conversion_row(report_row(payout="999999999999.99999"), NEW_YORK)
    assert conversion.payout == Decimal("999999999999.99999")


def test_row_without_stat_is_rejected():
    with pytest.raises(RowError, match="Stat is missing"):
        parse_conversion_row({"ConversionsMobile": {}}, NEW_YORK)


def test_parsing_does_not_modify_the_row():
    row = report_row()
    before = copy.deepcopy(row)
    parse_conversion_row(row, NEW_YORK)
    assert row == before

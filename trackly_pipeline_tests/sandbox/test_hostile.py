"""The hostile_rows fault over real HTTP: which rows, where, and that they survive the wire intact."""

from __future__ import annotations

import json

from trackly_pipeline.sandbox import HOSTILE_ROW_CASES, HOSTILE_ROW_WHY, FaultRule, hostile_rows
from trackly_pipeline.sandbox.hostile import LONG_SUB_ID, QUOTED_SUB_ID

from .test_api_report import ALL_FIELDS
from .tunecalls import control, fields

N = len(HOSTILE_ROW_CASES)


def get_page(tune, number, params=ALL_FIELDS, limit="50"):
    return tune.data(
        "Report", "getConversions", [*params, ("sort[Stat.id]", "asc"), ("limit", limit), ("page", str(number))]
    )


def test_cases_are_documented_and_mixed():
    labels = [label for label, _ in HOSTILE_ROW_CASES]
    assert len(set(labels)) == N and set(HOSTILE_ROW_WHY) == set(labels)
    assert {valid for _, valid in HOSTILE_ROW_CASES} == {True, False}


def test_hostile_rows_only_on_the_matching_page(tune, server):
    clean = [get_page(tune, p) for p in (1, 2, 3)]
    server.add_fault(FaultRule("hostile_rows", page=2, times=None))
    dirty = [get_page(tune, p) for p in (1, 2, 3)]
    assert dirty[0] == clean[0] and dirty[2] == clean[2]
    assert dirty[1]["data"][:-N] == clean[1]["data"]
    # count / pageCount unchanged: they count the real rows only
    assert (dirty[1]["count"], dirty[1]["pageCount"]) == (clean[1]["count"], clean[1]["pageCount"])
    extra = dict(zip([label for label, _ in HOSTILE_ROW_CASES], dirty[1]["data"][-N:]))
    stat = {label: row["Stat"] for label, row in extra.items()}

    assert "id" not in stat["missing_stat_id"] and "tune_event_id" not in stat["missing_stat_id"]
    assert stat["stat_id_not_a_number"]["id"] == "abc"
    assert "datetime" not in stat["missing_datetime"]
    assert stat["datetime_not_a_date"]["datetime"] == "not a date"
    assert stat["payout_decimal_comma"]["payout"] == "12,50"
    assert stat["payout_overflow_1e400"]["payout"] == "1e400"
    assert stat["payout_huge_99999999999999"]["payout"] == "99999999999999"
    assert stat["currency_not_iso_XXQ1"]["currency"] == "XXQ1"
    assert stat["currency_lowercase_padded"]["currency"] == "usd "
    assert stat["status_unknown"]["status"] == "weird"
    first_real = clean[1]["data"][0]["Stat"]
    duplicate = stat["duplicate_stat_id_other_payout"]
    assert (duplicate["id"], duplicate["tune_event_id"]) == (first_real["id"], first_real["tune_event_id"])
    assert duplicate["payout"] != first_real["payout"]
    assert stat["affiliate_info1_10000_chars"]["affiliate_info1"] == LONG_SUB_ID and len(LONG_SUB_ID) == 10_000
    quoted = extra["quotes_and_unicode_in_sub_ids"]
    assert quoted["Stat"]["affiliate_info1"].startswith(QUOTED_SUB_ID) and "\U0001f600" in QUOTED_SUB_ID
    assert quoted["ConversionsMobile"]["affiliate_unique1"].startswith(QUOTED_SUB_ID)
    # valid rows carry fresh ids that are not real conversions
    real_ids = {r["Stat"]["id"] for p in clean for r in p["data"]}
    assert stat["affiliate_info1_10000_chars"]["id"] not in real_ids
    assert server.injected == [("hostile_rows", "Report::getConversions", 2)]


def test_only_requested_fields_and_module_function_agrees(tune, server, world):
    server.add_fault(FaultRule("hostile_rows"))
    data = get_page(tune, 1, fields("Stat.id", "Stat.payout"), limit="5")
    extra = data["data"][-N:]
    assert extra[0] == {"Stat": {"payout": extra[0]["Stat"]["payout"]}}  # missing_stat_id keeps its hole
    assert all(set(r) == {"Stat"} and set(r["Stat"]) <= {"id", "payout"} for r in extra)
    full = hostile_rows(world, "acmenet", 1, int(data["data"][0]["Stat"]["id"]))
    assert [r["Stat"].get("payout") for r in full] == [r["Stat"]["payout"] for r in extra]
    assert get_page(tune, 1, fields("Stat.id"), limit="5")["data"] == [
        {"Stat": {"id": r["Stat"]["id"]}} for r in data["data"][:5]
    ]


def test_rule_through_control_endpoint_defaults_to_get_conversions(tune, server):
    reply = control(server, "POST", "/_sandbox/faults", [{"kind": "hostile_rows", "times": None}])
    assert reply.json()["faults"][0]["method"] == "Report::getConversions"
    assert tune.data("Offer", "findById", [("id", "1")]) is None
    raw = tune.raw(
        "Report", "getConversions", [*fields("Stat.id", "Stat.source", "Stat.affiliate_info1"), ("limit", "3")]
    )
    assert "\\ud83d\\ude00" in raw.text  # PHP-style escaping of the non-BMP character
    assert len(json.loads(raw.text)["response"]["data"]["data"]) == 3 + N

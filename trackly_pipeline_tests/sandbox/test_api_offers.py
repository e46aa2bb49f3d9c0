"""Offer::* and Application::getTimezone over real HTTP: envelope shapes, fields, filters, sorting."""

from __future__ import annotations

import math

import requests

from .tunecalls import fields


def test_unpaginated_find_all_is_keyed_by_offer_id(tune, world):
    data = tune.data("Offer", "findAll")
    offers = world.offers("acmenet")
    assert list(data) == [str(o.offer_id) for o in sorted(offers, key=lambda o: o.offer_id)]
    first = data[str(offers[0].offer_id)]
    assert list(first) == ["Offer"]
    offer = first["Offer"]
    assert offer["id"] == str(offers[0].offer_id)
    assert isinstance(offer["modified"], int) and offer["require_terms_and_conditions"] == 0
    assert offer["default_payout"].endswith("000") and "." in offer["default_payout"]
    assert offer["payout_type"] in {"cpa_flat", "cpa_percentage", "cpa_both", "cpc", "cpm"}


def test_paginated_find_all_and_the_empty_page(tune, world):
    total = len(world.offers("acmenet"))
    seen = []
    page_count = math.ceil(total / 7)
    for page in range(1, page_count + 1):
        data = tune.data("Offer", "findAll", [("limit", "7"), ("page", str(page)), *fields("id")])
        assert (data["page"], data["current"], data["count"], data["pageCount"]) == (page, 0, total, page_count)
        seen += list(data["data"])
        assert all(list(entry["Offer"]) == ["id"] for entry in data["data"].values())
    assert len(seen) == len(set(seen)) == total
    beyond = tune.data("Offer", "findAll", [("limit", "7"), ("page", str(page_count + 1))])
    assert beyond["data"] == [] and beyond["count"] == total


def test_no_match_is_an_empty_list_in_both_shapes(tune):
    nothing = [("filters[id]", "999999")]
    assert tune.data("Offer", "findAll", nothing) == []
    paged = tune.data("Offer", "findAll", [*nothing, ("limit", "10")])
    assert paged == {"page": 1, "current": 0, "count": 0, "pageCount": 0, "data": []}


def test_filters_equality_lists_operators_and_or(tune, world):
    offers = world.offers("acmenet")
    statuses = tune.data(
        "Offer", "findAll", [("filters[status][]", "active"), ("filters[status][]", "paused"), *fields("status")]
    )
    assert {e["Offer"]["status"] for e in statuses.values()} == {"active", "paused"}
    assert len(statuses) == sum(o.status in ("active", "paused") for o in offers)

    middle = sorted(o.offer_id for o in offers)[len(offers) // 2]
    greater = tune.data("Offer", "findAll", [("filters[id][GREATER_THAN]", str(middle))])
    assert set(greater) == {str(o.offer_id) for o in offers if o.offer_id > middle}

    one = tune.data("Offer", "findAll", [("filters[id]", str(middle))])
    assert list(one) == [str(middle)]

    either = tune.data("Offer", "findAll", [("filters[OR][status]", "deleted"), ("filters[OR][payout_type]", "cpm")])
    assert set(either) == {str(o.offer_id) for o in offers if o.status == "deleted" or o.payout_type == "cpm"}

    null_currency = tune.data("Offer", "findAll", [("filters[currency][NULL]", "1")])
    assert set(null_currency) == {str(o.offer_id) for o in offers if o.currency is None}


def test_sort_and_contain_advertiser(tune, world):
    data = tune.data(
        "Offer", "findAll", [("sort[default_payout]", "desc"), ("sort[id]", "asc"), ("contain[]", "Advertiser")]
    )
    payouts = [float(e["Offer"]["default_payout"]) for e in data.values()]
    assert payouts == sorted(payouts, reverse=True)
    by_id = {o.offer_id: o for o in world.offers("acmenet")}
    for key, entry in data.items():
        advertiser = by_id[int(key)].advertiser
        if advertiser is None:
            assert entry["Advertiser"] == []
        else:
            assert (entry["Advertiser"]["id"], entry["Advertiser"]["company"]) == (
                str(advertiser.id),
                advertiser.company,
            )
            assert entry["Offer"]["advertiser_id"] == str(advertiser.id)


def test_find_by_id_and_find_all_by_ids(tune, world):
    offer = world.offers("acmenet")[0]
    found = tune.data("Offer", "findById", [("id", str(offer.offer_id)), ("contain[]", "Advertiser")])
    assert found["Offer"] == offer.model and "Advertiser" in found
    assert tune.data("Offer", "findById", [("id", "999999")]) is None

    wanted = [o.offer_id for o in world.offers("acmenet")[:3]]
    several = tune.data("Offer", "findAllByIds", [("ids[]", str(i)) for i in [*wanted, 999999]])
    assert set(several) == {str(i) for i in wanted}
    assert tune.data("Offer", "findAllByIds", [("ids[]", "999999")]) == []


def test_both_url_forms_and_form_post_answer_alike(tune):
    params = [("filters[status]", "active"), *fields("id", "name")]
    by_apiv3 = tune.call("Offer", "findAll", params)
    by_v3 = tune.call("Offer", "findAll", params, form="v3")
    by_post = tune.call("Offer", "findAll", params, verb="POST")
    assert by_apiv3["response"] == by_v3["response"] == by_post["response"]
    assert by_v3["request"]["Target"] == "Offer"


def test_request_is_echoed_like_tune_token_included(tune, server):
    """TUNE echoes every parameter sent, the token too (tune-api.md 2.1); the client redacts it."""
    body = tune.call("Offer", "findAll", [("filters[id]", "62"), ("contain[]", "Country")])
    assert body["request"] == {
        "Target": "Offer",
        "Format": "json",
        "Service": "HasOffers",
        "Version": "2",
        "Method": "findAll",
        "NetworkId": "acmenet",
        "NetworkToken": server.world.token_for("acmenet"),
        "filters": {"id": "62"},
        "contain": ["Country"],
    }
    assert body["response"]["errors"] == [] and body["response"]["errorMessage"] is None


def test_json_is_php_flavoured(tune, server):
    reply = tune.raw("Offer", "findAll", [("contain[]", "Advertiser")])
    assert reply.headers["Content-Type"].startswith("application/json")
    assert "\\/" in reply.text and "/" not in reply.text.replace("\\/", "")  # slashes escaped
    assert reply.text.isascii()  # unicode escaped as \uXXXX
    assert ", " not in reply.text[:200]  # compact


def test_get_timezone(tune):
    for network_id, zone in (
        ("acmenet", "America/New_York"),
        ("boltmedia", "Europe/Berlin"),
        ("cobaltads", "Asia/Kolkata"),
    ):
        data = tune.data("Application", "getTimezone", network_id=network_id)
        assert data["Timezone"]["name"] == zone
    assert tune.data("Application", "getTimezone", network_id="cobaltads")["Timezone"]["gmt_offset"] == "+05:30"


def test_unknown_paths_are_404(server):
    assert requests.get(server.url + "/nope", timeout=5).status_code == 404

"""Every recorded TUNE reply (trackly_pipeline_tests/tune/recorded, a copy of shared/fixtures/tune-recorded)
against the sandbox's reply to the same call over HTTP (issue 15.6): the same envelope, the same nesting of
`data`, the same keys in every model, and in each model key a kind of value (string, number, null, ...) that
TUNE sends for that key. Then what the walk cannot see: every kind of value TUNE sends appears somewhere in
the sandbox's world, so that the pipeline's parsers meet them."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests

from trackly_pipeline.sandbox import SandboxServer, SandboxWorld

from .tunecalls import Tune

RECORDED = Path(__file__).resolve().parents[1] / "tune" / "recorded"
RECORDINGS = sorted(RECORDED.glob("*.json"))
NEVER_MODIFIED = -62169966000  # TUNE's "0000-00-00 00:00:00" as Unix seconds (recording 01)
NETWORK = "acmenet"

# Keys TUNE added after the 2016 recordings, which the sandbox sends: `code3c` (in 2018's recording 10,
# not in 2016's 05-07) and `tune_event_id` (TUNE's replacement for `id`, tune-api.md 4.1).
NEWER_KEYS = {"Country": {"code3c"}, "Conversion": {"tune_event_id"}}
# The request block TUNE always echoes; 18 and 20-22 echo another request than the one recorded.
FIXED_REQUEST_KEYS = ("Target", "Format", "Service", "Version")


def body(path: Path) -> dict:
    return json.loads(json.loads(path.read_text())["body"])


def recorded(prefix: str) -> dict:
    (path,) = RECORDED.glob(f"{prefix}-*.json")
    return body(path)


def kind(value) -> str:
    """A value's JSON kind, as a parser sees it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "list", dict: "object"}[type(value)]


def models_in(value):
    """(model name, model) for every Offer, Conversion, Advertiser and Country model in a reply."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("Offer", "Conversion", "Advertiser") and isinstance(item, dict):
                yield key, item
            elif key == "Country" and isinstance(item, dict):
                yield from (("Country", country) for country in item.values())
            else:
                yield from models_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from models_in(item)


def kinds_by_key(models) -> dict[str, dict[str, set[str]]]:
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for name, model in models:
        for key, value in model.items():
            seen[name][key].add(kind(value))
    return seen


# What TUNE sends in each model key, over all recordings.
TUNE_KINDS = kinds_by_key(m for path in RECORDINGS for m in models_in(body(path)))


def param_names(echoed: dict) -> set[str]:
    """The query parameter names a `request` block echoes (`filters[id]`, `contain[]`), without TUNE's own."""
    names = set()
    for key, value in echoed.items():
        if isinstance(value, dict):
            names |= {f"{key}[{sub}]" for sub in value}
        elif isinstance(value, list):
            names.add(f"{key}[]")
        elif key not in FIXED_REQUEST_KEYS:
            names.add(key)
    return names


def _keyed(value, name) -> bool:
    """An object keyed by row id (findAll's data) or, under `Country`, by country code."""
    return isinstance(value, dict) and bool(value) and (name == "Country" or all(k.isdigit() for k in value))


def differences(tune, ours, path: str = "", name: str | None = None, model: str | None = None) -> list[str]:
    """Where `ours` is not shaped like `tune`: key sets, nesting, kinds (empty: the same shape)."""
    where = path or "/"
    if _keyed(tune, name) or _keyed(ours, name):
        if not (_keyed(tune, name) and _keyed(ours, name)):
            return [f"{where}: TUNE sends {kind(tune)}, the sandbox {kind(ours)}"]
        entry_model = "Country" if name == "Country" else None

        # Entries differ (an offer with countries, one without): each of ours must have the shape of one of
        # TUNE's, and each of TUNE's must be met by one of ours.
        def fits(t, o):
            return not differences(t, o, f"{path}/<key>", None, entry_model)

        for o in ours.values():
            if not any(fits(t, o) for t in tune.values()):
                return differences(next(iter(tune.values())), o, f"{path}/<key>", None, entry_model)
        return [
            f"{where}: no entry of the sandbox's is shaped like TUNE's {sorted(t)}"
            for t in tune.values()
            if not any(fits(t, o) for o in ours.values())
        ]
    if kind(tune) != kind(ours):
        return [f"{where}: TUNE sends {kind(tune)}, the sandbox {kind(ours)}"]
    if isinstance(tune, list):
        if bool(tune) != bool(ours):
            return [f"{where}: TUNE sends {len(tune)} items, the sandbox {len(ours)}"]
        return [d for i, (t, o) in enumerate(zip(tune, ours)) for d in differences(t, o, f"{path}/{i}", name, model)]
    if not isinstance(tune, dict):
        return []
    found = []
    missing, extra = set(tune) - set(ours), set(ours) - set(tune) - NEWER_KEYS.get(model, set())
    if missing or extra:
        found.append(
            f"{where}: keys TUNE sends and the sandbox does not {sorted(missing)}, the other way {sorted(extra)}"
        )
    for key in tune.keys() & ours.keys():
        scalar = not isinstance(tune[key], (dict, list)) and not isinstance(ours[key], (dict, list))
        if model and scalar:  # a model's value: one TUNE sends for this key somewhere
            if kind(ours[key]) not in TUNE_KINDS[model][key]:
                found.append(
                    f"{where}/{key}: the sandbox sends {kind(ours[key])}, TUNE {sorted(TUNE_KINDS[model][key])}"
                )
        else:
            child = key if key in ("Offer", "Conversion", "Advertiser") else model
            found += differences(tune[key], ours[key], f"{path}/{key}", key, child)
    return found


@pytest.fixture(scope="module")
def sandbox(world):
    """The session's world (these tests only read it), served without a rate limit in the way."""
    with SandboxServer(world, rate_limit=(10_000, 1.0)) as server:
        yield world, server


class SameCall:
    """A recorded request as the sandbox can answer it: the recording's credentials placeholders
    replaced by the network's, and the ids it names by ids of the sandbox's world whose rows have the
    recorded shape (an offer with one country for 05, one with two for 10, ...)."""

    def __init__(self, world: SandboxWorld, server: SandboxServer) -> None:
        self.server = server
        tune = Tune(server, NETWORK)
        offers = world.offers(NETWORK)
        table = world.conversions(NETWORK)
        converting = Counter(table.offer_id[table.visible(world.clock.epoch_seconds())].tolist())
        # Chosen from the wire, and the first offer when none fits, so that a sandbox without such rows
        # is still compared (and shows its difference) rather than failing here.
        countries = {
            int(k): len(e["Country"]) for k, e in tune.data("Offer", "findAll", [("contain[]", "Country")]).items()
        }

        self.unfit: list[str] = []  # recordings the world has no row of the recorded kind for

        def pick(fits, prefix: str) -> int:
            found = next((o.offer_id for o in offers if fits(o)), None)
            if found is None:
                self.unfit.append(prefix)
            return offers[0].offer_id if found is None else found

        several = pick(lambda o: converting[o.offer_id] > 1, "08, 14, 17, 19")
        # 07: offers of one currency, some targeting a country and some none.
        currencies = sorted({o.currency for o in offers} - {None})
        mixed = next(
            (
                c
                for c in currencies
                if {bool(countries[o.offer_id]) for o in offers if o.currency == c} == {True, False}
            ),
            None,
        )
        if mixed is None:
            self.unfit.append("07")
            mixed = currencies[0]
        # 16: filters on four values of one conversion, as recorded (kept as recorded if findAll fails).
        sold = tune.call("Conversion", "findAll", [("filters[offer_id]", str(several))])["response"]["data"]
        one = next((e["Conversion"] for e in sold.values() if e["Conversion"]["source"]), None) if sold else None
        if one is None:
            self.unfit.append("16")
        self.replace = {
            "01": {"id": offers[0].offer_id},
            "02": {"id": max(o.offer_id for o in offers) + 1},  # none such: data null
            "05": {"filters[id]": pick(lambda o: countries[o.offer_id] == 1, "05")},
            "06": {"id": pick(lambda o: countries[o.offer_id] == 1, "06")},
            "07": {"filters[currency]": mixed},
            "08": {"filters[offer_id]": several},
            "10": {"id": pick(lambda o: countries[o.offer_id] == 2, "10")},
            "11": {"id": pick(lambda o: o.advertiser is not None, "11")},
            "14": {"filters[offer_id]": several},
            "15": {"filters[offer_id]": pick(lambda o: not converting[o.offer_id], "15")},
            "16": {f"filters[{k}]": one[k] for k in ("status", "source", "offer_id", "session_ip")} if one else {},
            "17": {"filters[offer_id]": several},
            "19": {"filters[offer_id]": several},
        }

    def reply(self, path: Path, server: SandboxServer) -> requests.Response:
        recording = json.loads(path.read_text())
        replace = {k: str(v) for k, v in self.replace.get(path.name[:2], {}).items()}
        params = []
        for key, value in parse_qsl(recording["request_query"]):
            if key == "NetworkId":
                value = NETWORK
            elif key == "NetworkToken" and value == "token":  # the placeholder; 23 sent a wrong one
                value = self.server.world.token_for(NETWORK)
            params.append((key, replace.pop(key, value)))
        assert not replace, f"{path.name}: the recorded query has no {sorted(replace)}"
        return requests.get(server.api_url, params=params, timeout=10)


def test_every_recorded_reply_has_the_shape_of_the_sandboxs_reply_to_the_same_call(sandbox):
    world, server = sandbox
    same_call = SameCall(world, server)
    compared, found = [], {}
    # TUNE's rate-limit replies (18, 20-22) are met by a sandbox past its own limit, one call a minute.
    with SandboxServer(world, rate_limit=(1, 60.0)) as limited:
        Tune(limited, NETWORK).data("Application", "getTimezone")
        for path in RECORDINGS:
            recording = json.loads(path.read_text())
            tune = json.loads(recording["body"])
            rate_limited = "exceeded rate limit" in recording["body"]
            reply = same_call.reply(path, limited if rate_limited else server)
            assert reply.status_code == recording["http_status"], path.name
            ours = reply.json()
            if rate_limited:
                assert "exceeded rate limit" in ours["response"]["errorMessage"]
            if "request" in tune and param_names(tune["request"]) != param_names(
                dict(parse_qsl(recording["request_query"]))
            ):
                # The recording paired this body with another request (README: 08 is an edited copy of 16,
                # 18 and 20-22 answer a findById): only the keys TUNE always echoes can be compared.
                tune["request"] = {k: tune["request"][k] for k in FIXED_REQUEST_KEYS}
                ours["request"] = {k: ours["request"][k] for k in FIXED_REQUEST_KEYS}
            if diffs := differences(tune, ours):
                found[path.name] = diffs
            compared.append(path.name)
    assert found == {}
    assert same_call.unfit == []  # each recording met a row of its kind (a country, an advertiser, ...)
    assert len(compared) == 23  # a walk that found no recording compared nothing
    # 23, TUNE's reply to a wrong token, is the sandbox's to the letter.
    assert same_call.reply(RECORDED / "23-test-test.json", server).json() == recorded("23")


def test_the_walk_sees_what_it_must(sandbox):
    """The comparison itself: a null where TUNE sends "", a flat Country, a key less, each is a difference."""
    tune = recorded("05")
    assert differences(tune, json.loads(json.dumps(tune))) == []
    ours = json.loads(json.dumps(tune))
    ours["response"]["data"]["62"]["Offer"]["note"] = None
    assert differences(tune, ours) == ["/response/data/<key>/Offer/note: the sandbox sends null, TUNE ['string']"]
    ours = json.loads(json.dumps(tune))
    ours["response"]["data"]["62"]["Country"] = ours["response"]["data"]["62"]["Country"]["ES"]
    assert differences(tune, ours)
    ours = json.loads(json.dumps(tune))
    del ours["response"]["data"]["62"]["Offer"]["modified"]
    assert differences(tune, ours)


def test_offers_hold_every_kind_of_value_tune_sends(sandbox):
    """The walk checks that the sandbox sends nothing TUNE does not; this, that every kind TUNE sends for an
    Offer key (a null description, `0` as a number, `modified` negative for never) is in the sandbox's world."""
    world, server = sandbox
    ours = kinds_by_key(models_in([Tune(server, n.network_id).data("Offer", "findAll") for n in world.networks]))
    missing = {
        key: sorted(kinds - ours["Offer"][key])
        for key, kinds in TUNE_KINDS["Offer"].items()
        if kinds - ours["Offer"][key]
    }
    assert missing == {}
    for network in world.networks:  # each network, so that every sync meets them
        models = [m for _, m in models_in(Tune(server, network.network_id).data("Offer", "findAll"))]
        assert any(m["modified"] == NEVER_MODIFIED for m in models)
        assert any(m["description"] is None for m in models)
        assert any(kind(m["set_session_on_impression"]) == "number" for m in models)
        assert any(m["require_terms_and_conditions"] == 1 for m in models)


def test_contained_country_is_keyed_by_code_even_for_one(sandbox):
    """Recording 05: one country is `{"ES": {...}}`, not a flat object; 10: several, keyed alike; 07: none is []."""
    world, server = sandbox
    sizes = set()
    for network in world.networks:
        for entry in Tune(server, network.network_id).data("Offer", "findAll", [("contain[]", "Country")]).values():
            countries = entry["Country"]
            if countries == []:
                sizes.add(0)
                continue
            for code, country in countries.items():
                assert list(country) == ["id", "code", "name", "code3c", "regions"]
                assert country["code"] == code and len(code) == 2 and country["regions"] == []
            sizes.add(min(len(countries), 2))
    assert sizes == {0, 1, 2}
    tune = Tune(server)
    one = next(e for e in tune.data("Offer", "findAll", [("contain[]", "Country")]).values() if len(e["Country"]) == 1)
    found = tune.data("Offer", "findById", [("id", one["Offer"]["id"]), ("contain[]", "Country")])
    assert found["Country"] == one["Country"]


def test_contained_advertiser_is_the_whole_model(sandbox):
    """Recording 11 (byte for byte from TUNE): the contained Advertiser with all its keys, in TUNE's order."""
    world, server = sandbox
    tune_advertiser = recorded("11")["response"]["data"]["Advertiser"]
    seen = 0
    for network in world.networks:
        offers = {str(o.offer_id): o for o in world.offers(network.network_id)}
        data = Tune(server, network.network_id).data("Offer", "findAll", [("contain[]", "Advertiser")])
        for key, entry in data.items():
            advertiser = offers[key].advertiser
            if advertiser is None:
                assert entry["Advertiser"] == [] and entry["Offer"]["advertiser_id"] is None
                continue
            model = entry["Advertiser"]
            assert list(model) == list(tune_advertiser)
            assert (model["id"], model["company"]) == (str(advertiser.id), advertiser.company)
            seen += 1
    assert seen


def test_conversion_find_all_filters_pages_and_picks_fields(sandbox):
    world, server = sandbox
    tune = Tune(server, "boltmedia")
    offer_id = str(world.conversions("boltmedia").offer_id[0])
    page = tune.data(
        "Conversion",
        "findAll",
        [("fields[]", "datetime"), ("fields[]", "country_code"), ("filters[offer_id]", offer_id), ("limit", "1")],
    )
    assert page["count"] == page["pageCount"] > 1  # 17: limit 1 on a big result
    ((key, entry),) = page["data"].items()
    assert list(entry["Conversion"]) == ["datetime", "country_code"]  # fields[], in the order asked
    everything = tune.data("Conversion", "findAll", [("filters[offer_id]", offer_id)])
    assert len(everything) == page["count"] and {e["Conversion"]["offer_id"] for e in everything.values()} == {offer_id}
    assert key == min(everything, key=int)  # ascending id by default
    second = tune.data("Conversion", "findAll", [("limit", "2"), ("page", "2")])
    first = tune.data("Conversion", "findAll", [("limit", "2")])
    assert len(second["data"]) == 2 and not set(first["data"]) & set(second["data"])
    assert second["pageCount"] == -(-second["count"] // 2)


def test_conversion_model_has_tunes_keys_and_strings_only(sandbox):
    """Recordings 08, 12, 14, 16: 39 keys, every value a string ("" and "0" where there is none), in
    Conversion::findAll and Conversion::findUpdatedConversions alike."""
    world, server = sandbox
    tune_keys = set(TUNE_KINDS["Conversion"])
    assert len(tune_keys) == 39 and all(kinds == {"string"} for kinds in TUNE_KINDS["Conversion"].values())
    clock = world.clock.now()
    window = [
        ("start_date", clock.replace(year=clock.year - 1).strftime("%Y-%m-%d %H:%M:%S")),
        ("end_date", clock.strftime("%Y-%m-%d %H:%M:%S")),
    ]
    for network in world.networks:
        tune = Tune(server, network.network_id)
        for method, params in (("findUpdatedConversions", window), ("findAll", ())):
            models = [m for _, m in models_in(tune.data("Conversion", method, params))]
            assert models, method
            for model in models:
                assert set(model) == tune_keys | {"tune_event_id"}, (method, sorted(tune_keys - set(model)))
                assert all(isinstance(value, str) for value in model.values()), model
            assert any(m["affiliate_info5"] == "" for m in models)


def test_conversion_values_agree_with_the_report(sandbox):
    """The model's values are the conversion's, as Report::getConversions gives them."""
    world, server = sandbox
    tune = Tune(server, "cobaltads")
    models = {k: e["Conversion"] for k, e in tune.data("Conversion", "findAll").items()}
    report = tune.data(
        "Report",
        "getConversions",
        [
            ("fields[]", f)
            for f in (
                "Stat.id",
                "Stat.ad_id",
                "Stat.datetime",
                "Stat.offer_id",
                "Stat.payout",
                "Stat.status",
                "Stat.affiliate_info1",
                "Stat.source",
                "Stat.currency",
                "Stat.affiliate_id",
            )
        ],
    )["data"]
    assert len(report) == len(models)
    offers = {str(o.offer_id): o for o in world.offers("cobaltads")}
    for row in report:
        stat, model = row["Stat"], models[row["Stat"]["id"]]
        for name in (
            "ad_id",
            "datetime",
            "offer_id",
            "payout",
            "status",
            "currency",
            "affiliate_id",
            "affiliate_info1",
            "source",
        ):
            assert model[name] == stat[name], name
        offer = offers[model["offer_id"]]
        assert model["payout_type"] == offer.payout_type and model["revenue_type"] == offer.model["revenue_type"]
        assert model["advertiser_id"] == (str(offer.advertiser.id) if offer.advertiser else "0")
        assert model["session_datetime"] <= model["datetime"]

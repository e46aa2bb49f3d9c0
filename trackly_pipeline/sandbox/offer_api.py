"""Offer::findAll, Offer::findAllByIds and Offer::findById over a network's offers."""

from __future__ import annotations

from .model_filters import row_matches, sort_rows
from .networks import SandboxNetwork
from .offers import OFFER_FIELDS, SandboxOffer
from .paging import limit_and_page, page_slice
from .params import as_list
from .wire import ApiError, page_envelope

# Models Offer::find* can contain. Advertiser and Country are modelled (recordings 11, 05, 10); the
# others come back empty, which is what TUNE sends for an offer without such related rows (`[]`).
_CONTAINABLE = (
    "Advertiser",
    "AffiliateTierPayout",
    "AffiliateTierRevenue",
    "Browser",
    "Country",
    "Goal",
    "Hostname",
    "OfferCategory",
    "OfferGroup",
    "OfferUrl",
    "PayoutGroup",
    "RevenueGroup",
    "Stat",
    "Subscription",
    "Thumbnail",
    "TrackingLink",
)


def _fields(params: dict) -> list[str]:
    wanted = as_list(params.get("fields")) or list(OFFER_FIELDS)
    for name in wanted:
        if name not in OFFER_FIELDS:
            raise ApiError(f"Field {name} does not exist in Offer")
    return wanted


def _contains(params: dict) -> list[str]:
    wanted = as_list(params.get("contain"))
    for name in wanted:
        if name not in _CONTAINABLE:
            raise ApiError(f"Contain {name} is not valid for Offer")
    return wanted


def _entry(offer: SandboxOffer, fields: list[str], contains: list[str]) -> dict:
    entry: dict = {"Offer": {name: offer.model[name] for name in fields}}
    for name in contains:
        if name == "Advertiser" and offer.advertiser is not None:
            entry[name] = offer.advertiser.model()  # one row: a flat object
        elif name == "Country":
            entry[name] = offer.country_model()  # keyed by code, even for one
        else:
            entry[name] = []
    return entry


def _keyed(offers: list[SandboxOffer], params: dict) -> dict | list:
    """Id-keyed object of entries; PHP encodes an empty one as `[]`."""
    fields, contains = _fields(params), _contains(params)
    return {str(o.offer_id): _entry(o, fields, contains) for o in offers} or []


def find_all(network: SandboxNetwork, offers: list[SandboxOffer], params: dict):
    filters = params.get("filters") or {}
    if not isinstance(filters, dict):
        raise ApiError("filters must be an array")
    sort = params.get("sort") or {"id": "asc"}
    if not isinstance(sort, dict):
        raise ApiError("sort must be an array")
    limit, page = limit_and_page(params)
    by_model = {id(o.model): o for o in offers}
    matching = [o.model for o in offers if row_matches(o.model, filters)]
    ordered = [by_model[id(m)] for m in sort_rows(matching, sort)]
    if limit is None:
        return _keyed(ordered, params)
    return page_envelope(page, limit, len(ordered), _keyed(ordered[page_slice(limit, page)], params))


def find_all_by_ids(network: SandboxNetwork, offers: list[SandboxOffer], params: dict):
    wanted = {str(i) for i in as_list(params.get("ids"))}
    if not wanted:
        raise ApiError("Missing required argument: ids")
    return _keyed([o for o in offers if str(o.offer_id) in wanted], params)


def find_by_id(network: SandboxNetwork, offers: list[SandboxOffer], params: dict):
    wanted = params.get("id")
    if not wanted:
        raise ApiError("Missing required argument: id")
    for offer in offers:
        if str(offer.offer_id) == str(wanted):
            return _entry(offer, _fields(params), _contains(params))
    return None

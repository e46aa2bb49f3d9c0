"""Synthetic TUNE offers for one network, and their rendering as the `Offer` model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from .money import tune_amount
from .networks import SandboxNetwork

PAYOUT_TYPES = ("cpa_flat", "cpa_percentage", "cpa_both", "cpc", "cpm")
OFFER_STATUSES = ("active", "paused", "pending", "expired", "deleted")
# Most offers are live; conversions also land on offers that were paused or retired later.
_STATUS_WEIGHTS = (0.62, 0.12, 0.08, 0.1, 0.08)
# How likely conversions are to land on an offer of each status (pending offers never ran).
CONVERSION_WEIGHT_BY_STATUS = {"active": 1.0, "paused": 0.5, "pending": 0.0, "expired": 0.35, "deleted": 0.2}

ADVERTISER_NAMES = (
    "Acme Lending LLC",
    "Zenith Insurance Group",
    "Müller & Söhne GmbH",
    'O\'Brien "Best" Loans',
    "Café Niño S.L.",
    "Nordlicht Energie AG",
    "Bharat Fintech Pvt. Ltd.",
    "株式会社サンプル",
    "Łódź Telecom Sp. z o.o.",
    "Brightside Solar Inc.",
    "Kestrel Mobile Ltd",
    "Smith & Wesson's Deals",
    "Crédit Rapide SA",
    "Pioneer Health Plans",
    "BlueFin Travel",
    "Østergaard Media ApS",
)
_BRANDS = (
    "Zap",
    "Nimbus",
    "Vertex",
    "Orbit",
    "Quill",
    "Harbor",
    "Lumen",
    "Pixel",
    "Atlas",
    "Sprout",
    "Echo",
    "Cobra",
    "Maple",
    "Falcon",
    "Juniper",
    "Summit",
    "Tango",
    "Radiant",
    "Nova",
    "Kite",
)
_VERTICALS = (
    "Loans",
    "Insurance",
    "Solar",
    "Dating",
    "Sweepstakes",
    "VPN",
    "Meal Kit",
    "Credit Card",
    "Mobile Plan",
    "Home Security",
)
_COUNTRIES = ("US", "UK", "DE", "IN", "CA", "FR")  # as offer names say them
# contain[]=Country's model per country (recordings 05, 10): TUNE's numeric id, ISO code, lower-case name, ISO alpha-3.
COUNTRY_MODELS = {
    "US": ("840", "US", "united states", "USA"),
    "UK": ("826", "GB", "united kingdom", "GBR"),
    "DE": ("276", "DE", "germany", "DEU"),
    "IN": ("356", "IN", "india", "IND"),
    "CA": ("124", "CA", "canada", "CAN"),
    "FR": ("250", "FR", "france", "FRA"),
}
# TUNE's "0000-00-00 00:00:00" as Unix seconds: what `modified` says of an offer never modified (recording 01).
NEVER_MODIFIED = -62169966000
_URL_TEMPLATES = (
    "https://{slug}.example.com/landing?tid={{transaction_id}}&sub={{aff_sub}}",
    "https://go.{slug}.example.net/c?click={{transaction_id}}&aff={{affiliate_id}}&src={{source}}",
    "https://{slug}.example.org/offer/{{offer_id}}?t={{transaction_id}}&s2={{aff_sub2}}",
    "http://www.{slug}.example.com/?utm_source=affiliate&transaction_id={{transaction_id}}",
)

# Every field of the Offer model in the order TUNE sends them, with its usual default value.
OFFER_FIELD_DEFAULTS: dict[str, object] = {
    "id": None,
    "display_advertiser": "0",
    "advertiser_id": None,
    "name": "",
    "description": "",
    "require_approval": "0",
    "require_terms_and_conditions": 0,
    "terms_and_conditions": None,
    "preview_url": "",
    "offer_url": "",
    "currency": None,
    "default_payout": "0.00000",
    "max_payout": "0.00000",
    "protocol": "server",
    "status": "active",
    "expiration_date": "0000-00-00 00:00:00",
    "is_private": "0",
    "payout_type": "cpa_flat",
    "tiered_payout": "0",
    "tiered_revenue": "0",
    "percent_payout": None,
    "revenue_type": "cpa_flat",
    "max_percent_payout": None,
    "redirect_offer_id": None,
    "converted_offer_type": "",
    "converted_offer_id": None,
    "converted_offer_url": None,
    "conversion_ratio_threshold": None,
    "featured": None,
    "is_subscription": "0",
    "subscription_duration": None,
    "subscription_frequency": None,
    "customer_list_id": None,
    "ref_id": "",
    "rating": None,
    "disable_click_macro": "0",
    "click_macro_url": None,
    "conversion_cap": "0",
    "monthly_conversion_cap": "0",
    "payout_cap": "0.00",
    "monthly_payout_cap": "0.00",
    "revenue_cap": "0.00",
    "monthly_revenue_cap": "0.00",
    "target_browsers": "0",
    "approve_conversions": None,
    "allow_multiple_conversions": "0",
    "allow_website_links": "0",
    "allow_direct_links": "0",
    "show_custom_variables": "0",
    "session_hours": "24",
    "session_impression_hours": "24",
    "set_session_on_impression": "0",
    "is_seo_friendly_301": "0",
    "show_mail_list": "0",
    "dne_list_id": None,
    "email_instructions": "0",
    "email_instructions_from": None,
    "email_instructions_subject": None,
    "enforce_geo_targeting": "0",
    "enforce_secure_tracking_link": "0",
    "hostname_id": None,
    "has_goals_enabled": "0",
    "default_goal_name": None,
    "enforce_encrypt_tracking_pixels": "0",
    "modified": 0,
    "enable_offer_whitelist": "0",
    "note": "",
    "use_target_rules": "0",
    "use_payout_groups": "0",
    "use_revenue_groups": "0",
    "website_links_copy_static_params": "0",
    "create_date_utc": "0000-00-00 00:00:00",
    "lifetime_revenue_cap": "0.00",
    "lifetime_conversion_cap": "0.00",
    "lifetime_payout_cap": "0.00",
    "is_expired": "0",
    "dne_download_url": None,
    "dne_unsubscribe_url": None,
    "dne_third_party_list": False,
}
OFFER_FIELDS: tuple[str, ...] = tuple(OFFER_FIELD_DEFAULTS)


@dataclass(frozen=True)
class Advertiser:
    id: int
    company: str

    @property
    def account_manager_id(self) -> str:
        return str(10 + self.id % 17)

    def model(self) -> dict:
        """The contained `Advertiser` with every key TUNE sends, in its order (recording 11); the
        values are a function of the id, so no random draw changes."""
        added = datetime(2015, 1, 5, tzinfo=UTC) + timedelta(seconds=self.id * 7_919_993 % (365 * 86_400))
        return {
            "date_added": added.strftime("%Y-%m-%d %H:%M:%S"),
            "status": "active",
            "id": str(self.id),
            "company": self.company,
            "address1": "",
            "address2": "",
            "city": "",
            "region": "",
            "country": ("US", "DE", "IN", "GB")[self.id % 4],
            "other": None,
            "zipcode": "",
            "phone": "",
            "fax": "",
            "website": "",
            "wants_alerts": "1" if self.id % 2 else "0",
            "conversion_security_token": None,
            "tmp_token": None,
            "account_manager_id": self.account_manager_id,
            "signup_ip": "",
            "modified": int((added + timedelta(days=200 + self.id % 300)).timestamp()),
            "SHARED_Network_Map_id": None,
            "SHARED_Accounts_id": None,
            "ref_id": "",
            "AFFILIATE_NETWORK_Brands_id": None,
            "_NETWORK_affiliate_id": None,
            "_NETWORK_affiliate_status": None,
            "_NETWORK_brand_active": "1",
            "expose_subs": "0",
        }


@dataclass(frozen=True)
class SandboxOffer:
    """An offer's economics (what conversions are computed from) plus its rendered Offer model."""

    offer_id: int
    status: str
    payout_type: str
    default_payout_cents: int
    percent_payout: float  # percent of sale paid to the affiliate
    revenue_cents: int  # flat network revenue (TUNE calls it max_payout)
    revenue_percent: float  # percent of sale taken as revenue (max_percent_payout)
    approve_conversions: bool
    has_goals: bool
    currency: str | None  # None = network default
    advertiser: Advertiser | None
    model: dict  # the Offer model exactly as the API renders it
    countries: tuple[str, ...] = ()  # targeted countries, keys of COUNTRY_MODELS (contain[]=Country)

    def effective_currency(self, network: SandboxNetwork) -> str:
        return self.currency or network.default_currency

    @property
    def uses_sale_amount(self) -> bool:
        return self.payout_type in ("cpa_percentage", "cpa_both")

    def country_model(self) -> dict | list:
        """contain[]=Country: keyed by ISO code, also for one country (recording 05); `[]` for none (07)."""
        rows = (COUNTRY_MODELS[c] for c in self.countries)
        return {
            code: {"id": id_, "code": code, "name": name, "code3c": code3, "regions": []}
            for id_, code, name, code3 in sorted(rows, key=lambda r: r[1])
        } or []


def _percent_text(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _economics(rng: np.random.Generator, payout_type: str) -> tuple[int, float, int, float]:
    """(default payout cents, payout %, flat revenue cents, revenue %) for a payout type."""
    flat = pct = 0
    if payout_type == "cpa_flat":
        flat = int(rng.integers(500, 15001))
    elif payout_type == "cpa_percentage":
        pct = float(rng.integers(5, 41))
    elif payout_type == "cpa_both":
        flat, pct = int(rng.integers(200, 3001)), float(rng.integers(2, 16))
    elif payout_type == "cpc":
        flat = int(rng.integers(10, 151))
    else:  # cpm
        flat = int(rng.integers(100, 1001))
    margin = float(rng.uniform(1.15, 1.5))
    return flat, pct, round(flat * margin), round(pct * margin, 2)


def _spread(rng: np.random.Generator, values: tuple[str, ...], n: int, weights=None) -> list[str]:
    """n picks that include every value at least once (n >= len(values))."""
    picks = list(values) + list(rng.choice(values, size=n - len(values), p=weights))
    rng.shuffle(picks)
    return [str(p) for p in picks]


def generate_offers(rng: np.random.Generator, network: SandboxNetwork, anchor: datetime) -> list[SandboxOffer]:
    zone = ZoneInfo(network.timezone)
    count = int(rng.integers(20, 41))
    offer_ids = np.sort(rng.choice(np.arange(1, 2000), size=count, replace=False))
    payout_types = _spread(rng, PAYOUT_TYPES, count)
    statuses = _spread(rng, OFFER_STATUSES, count, weights=_STATUS_WEIGHTS)
    advertiser_pool = [
        Advertiser(id=int(aid), company=ADVERTISER_NAMES[int(name)])
        for aid, name in zip(
            rng.choice(np.arange(2, 500), size=8, replace=False),
            rng.choice(len(ADVERTISER_NAMES), size=8, replace=False),
        )
    ]
    offers = []
    for position, (offer_id, payout_type, status) in enumerate(zip(offer_ids, payout_types, statuses)):
        offer_id = int(offer_id)
        flat, pct, revenue_flat, revenue_pct = _economics(rng, payout_type)
        currency = None if rng.random() < 0.4 else str(rng.choice(network.currencies))
        advertiser = None if rng.random() < 0.1 else advertiser_pool[int(rng.integers(len(advertiser_pool)))]
        approve = bool(rng.random() < 0.3)
        has_goals = bool(rng.random() < 0.4)
        brand, vertical = _BRANDS[int(rng.integers(len(_BRANDS)))], _VERTICALS[int(rng.integers(len(_VERTICALS)))]
        country = _COUNTRIES[int(rng.integers(len(_COUNTRIES)))]
        name = f"{brand} {vertical} - {country} ({payout_type.upper()})"
        slug = f"{brand}{vertical}".lower().replace(" ", "")
        url = _URL_TEMPLATES[int(rng.integers(len(_URL_TEMPLATES)))].format(slug=slug)
        if status == "expired":
            expires = anchor - timedelta(days=int(rng.integers(1, 90)))
        else:
            expires = anchor + timedelta(days=int(rng.integers(60, 2000)))
        expires = expires.astimezone(zone).replace(hour=23, minute=59, second=59)
        created = anchor - timedelta(days=int(rng.integers(120, 900)), seconds=int(rng.integers(86400)))
        modified = anchor - timedelta(seconds=int(rng.integers(3600, 200 * 86400)))
        uses_percent = payout_type in ("cpa_percentage", "cpa_both")
        model = dict(OFFER_FIELD_DEFAULTS)
        model.update(
            {
                "id": str(offer_id),
                "advertiser_id": None if advertiser is None else str(advertiser.id),
                "name": name,
                "description": f"{name}. Traffic: SMS allowed, no incentives.",
                "preview_url": f"https://{slug}.example.com",
                "offer_url": url,
                "currency": currency,
                "default_payout": tune_amount(flat),
                "max_payout": tune_amount(revenue_flat),
                "protocol": ("server", "https_img", "http")[int(rng.integers(3))],
                "status": status,
                "expiration_date": expires.strftime("%Y-%m-%d %H:%M:%S"),
                "payout_type": payout_type,
                "revenue_type": payout_type,
                "percent_payout": _percent_text(pct if uses_percent else None),
                "max_percent_payout": _percent_text(revenue_pct if uses_percent else None),
                "approve_conversions": "1" if approve else ("0" if rng.random() < 0.5 else None),
                "allow_multiple_conversions": "1" if has_goals else "0",
                "has_goals_enabled": "1" if has_goals else "0",
                "default_goal_name": ("Lead", "Sale", "Install")[int(rng.integers(3))] if has_goals else None,
                "ref_id": f"REF-{offer_id:05d}" if rng.random() < 0.5 else "",
                "rating": None if rng.random() < 0.5 else str(int(rng.integers(1, 6))),
                "session_hours": ("24", "168", "672")[int(rng.integers(3))],
                "modified": int(modified.timestamp()),
                "create_date_utc": "0000-00-00 00:00:00"
                if rng.random() < 0.2
                else created.strftime("%Y-%m-%d %H:%M:%S"),
                "is_expired": "1" if status == "expired" else "0",
            }
        )
        _as_tune_sends(model, position, slug)
        offers.append(
            SandboxOffer(
                offer_id=offer_id,
                status=status,
                payout_type=payout_type,
                default_payout_cents=flat,
                percent_payout=pct,
                revenue_cents=revenue_flat,
                revenue_percent=revenue_pct,
                approve_conversions=approve,
                has_goals=has_goals,
                currency=currency,
                advertiser=advertiser,
                model=model,
                countries=_targeting(country, position),
            )
        )
    return offers


def _targeting(country: str, position: int) -> tuple[str, ...]:
    """The countries an offer targets: the one its name says, a neighbour too for every 6th offer,
    none for another 6th (by position, so every network has each shape and no draw changes)."""
    if position % 6 == 5:
        return ()
    if position % 6 == 2:
        return (country, _COUNTRIES[(_COUNTRIES.index(country) + 1) % len(_COUNTRIES)])
    return (country,)


def _as_tune_sends(model: dict, position: int, slug: str) -> None:
    """Give a quarter of the offers each of three spellings recorded TUNE offers have (by position, so
    every network has each and no random draw changes), so that the parsers meet them. Nothing here
    changes what an offer means (its payout, status, currency, advertiser, URL)."""
    kind = position % 4
    if kind == 1:  # "0" and "" where other rows have null (recording 05)
        model.update(
            {
                "redirect_offer_id": "0",
                "converted_offer_id": "0",
                "converted_offer_url": "",
                "customer_list_id": "0",
                "dne_list_id": "0",
                "email_instructions_from": "",
                "email_instructions_subject": "",
            }
        )
    elif kind == 2:  # an old row (recordings 01, 04): nulls, a number for a flag, never modified
        model.update(
            {
                "description": None,
                "converted_offer_type": None,
                "ref_id": None,
                "set_session_on_impression": 0,
                "modified": NEVER_MODIFIED,
            }
        )
    elif kind == 3:  # terms to accept (recording 10)
        model.update({"require_terms_and_conditions": 1, "terms_and_conditions": f"https://{slug}.example.com/terms"})


@dataclass(frozen=True)
class OfferChange:
    """An edit to one offer that takes effect at `at` (UTC epoch seconds, after the anchor)."""

    offer_id: int
    at: int
    kind: str  # payout | status | name | offer_url
    model: dict  # Offer model fields that change (plus `modified` = at)
    economics: dict  # SandboxOffer fields that change (status, default_payout_cents)


# (kind, seconds after the anchor): an offer sync before and after a clock advance sees differences.
OFFER_CHANGE_SCHEDULE = (
    ("payout", 3600),
    ("status", 3 * 3600),
    ("name", 86_400),
    ("offer_url", 2 * 86_400),
    ("status", 2 * 86_400 + 6 * 3600),
)


def plan_offer_changes(rng: np.random.Generator, offers: list[SandboxOffer], anchor: datetime) -> list[OfferChange]:
    """Deterministic edits: a payout raise, a pause (undone later), a rename and a new offer_url."""
    base = int(anchor.timestamp())
    active = [o for o in offers if o.status == "active"]
    paying = [o for o in active if o.payout_type in ("cpa_flat", "cpa_both")] or active or offers
    payout_offer = paying[int(rng.integers(len(paying)))]
    others = [o for o in (active or offers) if o is not payout_offer] or [payout_offer]
    paused_offer = others[int(rng.integers(len(others)))]
    rest = [o for o in offers if o is not payout_offer and o is not paused_offer]
    renamed, moved = (rest[i] for i in rng.choice(len(rest), size=2, replace=False))
    new_cents = round(payout_offer.default_payout_cents * 1.25) or 100
    changes = []
    for kind, after in OFFER_CHANGE_SCHEDULE:
        at = base + after
        if kind == "payout":
            offer, model, economics = (
                payout_offer,
                {"default_payout": tune_amount(new_cents)},
                {"default_payout_cents": new_cents},
            )
        elif kind == "status":
            back = any(c.kind == "status" for c in changes)
            status = paused_offer.status if back else "paused"
            offer, model, economics = paused_offer, {"status": status}, {"status": status}
        elif kind == "name":
            offer, model, economics = renamed, {"name": renamed.model["name"] + " [v2]"}, {}
        else:
            url = moved.model["offer_url"].replace(".example.", ".example-v2.", 1)
            offer, model, economics = moved, {"offer_url": url}, {}
        changes.append(OfferChange(offer.offer_id, at, kind, {**model, "modified": at}, economics))
    return changes


def offers_at(offers: list[SandboxOffer], changes: list[OfferChange], seconds: int) -> list[SandboxOffer]:
    """The offers with every change effective at or before `seconds` applied (in time order)."""
    from dataclasses import replace

    by_id = {o.offer_id: o for o in offers}
    for change in sorted(changes, key=lambda c: c.at):
        if change.at <= seconds:
            current = by_id[change.offer_id]
            by_id[change.offer_id] = replace(current, model={**current.model, **change.model}, **change.economics)
    return [by_id[o.offer_id] for o in offers]

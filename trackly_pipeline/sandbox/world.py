"""SandboxWorld: the deterministic synthetic state behind the sandbox (both TUNE and Trackly)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from . import exports, source_frames
from .accounts import check_accounts, merge_accounts
from .clock import SandboxClock, as_utc
from .conversions import NetworkConversions, TracklyRefs, finalize_conversions, plan_conversions
from .hard_cases import HARD_CASE_COLUMNS, plant_hard_cases
from .networks import DEFAULT_NETWORKS, SandboxNetwork, network_token
from .offers import OfferChange, SandboxOffer, generate_offers, offers_at, plan_offer_changes
from .partners import add_other_partners
from .resends import plan_resends
from .trackly_activity import TracklyLog, bind_creatives, build_trackly_log

# Independent random streams, so that e.g. offers do not shift when conversion counts change.
_STREAM_CATALOGUE, _STREAM_TRACKLY = 1, 2
_STREAM_OFFERS, _STREAM_PLAN, _STREAM_FINALIZE, _STREAM_OFFER_CHANGES, _STREAM_PARTNERS = 100, 200, 300, 400, 500
_STREAM_HARD_CASES = 600
_STREAM_RESENDS = 700  # resends.py
_STREAM_ACCOUNTS = 800  # accounts.py: Stat.ids across our accounts on one network

# Trackly volume relative to conversions: clicks ~2x, messages ~5x.
_EXTRA_CLICKS_PER_CONVERSION = 0.85
_REPEAT_CLICKS_PER_CONVERSION = 0.25
_MESSAGES_PER_CONVERSION = 5


def _floor_to_hour(moment: datetime) -> datetime:
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


class SandboxWorld:
    """Offers and conversions per network plus the Trackly log, all derived from one seed.

    Conversions are visible once their time is <= `clock`, each with its status as of the clock.
    `networks` are the TUNE networks (our first affiliate account in each); `accounts` every account
    of ours, those and the further ones on the same networks (accounts.py), each its own key.
    """

    def __init__(
        self,
        *,
        seed: int,
        anchor: datetime,
        history_days: int,
        future_days: int,
        networks: tuple[SandboxNetwork, ...],
        offers: dict[str, list[SandboxOffer]],
        conversions: dict[str, NetworkConversions],
        trackly: TracklyLog,
        hard_cases: pd.DataFrame | None = None,
        accounts: tuple[SandboxNetwork, ...] = (),
    ) -> None:
        self.seed = seed
        self.anchor = anchor
        self.history_days = history_days
        self.future_days = future_days
        self.networks = networks
        self.accounts = networks + tuple(accounts)
        self.clock = SandboxClock(anchor)
        self._offers = offers
        self._conversions = conversions
        self._trackly = trackly
        self._hard_cases = hard_cases if hard_cases is not None else pd.DataFrame(columns=list(HARD_CASE_COLUMNS))
        self._by_id = {n.network_id: n for n in networks}
        self._tokens = {n.network_id: network_token(seed, n.network_id) for n in networks}
        self._offer_changes = {
            n.network_id: plan_offer_changes(
                np.random.default_rng([seed, _STREAM_OFFER_CHANGES + i]), offers[n.network_id], anchor
            )
            for i, n in enumerate(networks)
        }
        self._offers_cache: dict[tuple[str, int], list[SandboxOffer]] = {}
        self._clicks_by_network: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @classmethod
    def generate(
        cls,
        seed: int = 7,
        anchor: datetime | None = None,
        history_days: int = 30,
        future_days: int = 3,
        conversions_per_network: int = 2000,
        networks: Iterable[SandboxNetwork] = DEFAULT_NETWORKS,
        accounts: Iterable[SandboxNetwork] = (),
    ) -> SandboxWorld:
        """`accounts`: further affiliate accounts of ours on `networks` (e.g. SECOND_ACCOUNTS), each
        with conversions and Trackly clicks of its own. Without them every value is as it always was."""
        networks = tuple(networks)
        if len({n.network_id for n in networks}) != len(networks) or len({n.key for n in networks}) != len(networks):
            raise ValueError("network ids and keys must be unique")
        extra = tuple(accounts)
        check_accounts(networks, extra)
        everyone = networks + extra  # each network's first account first
        anchor = _floor_to_hour(anchor or datetime.now(UTC))
        start = int((anchor - timedelta(days=history_days)).timestamp())
        end = int((anchor + timedelta(days=future_days)).timestamp())

        def stream(base: int, index: int = 0) -> np.random.Generator:
            return np.random.default_rng([seed, base + index])

        offers = {n.network_id: generate_offers(stream(_STREAM_OFFERS, i), n, anchor) for i, n in enumerate(networks)}
        plans = [
            plan_conversions(stream(_STREAM_PLAN, i), n, offers[n.network_id], conversions_per_network, start, end)
            for i, n in enumerate(everyone)
        ]

        # One offer catalogue across networks: creatives may bind offers of different networks. Each
        # account imports its network's offers and links them with its own affiliate id.
        network_of_offer = np.array([n.network_id for n in everyone for _ in offers[n.network_id]])
        affiliate_of_offer = np.array(
            [int(n.affiliate_id) for n in everyone for _ in offers[n.network_id]], dtype=np.int64
        )
        offer_ids = np.array([o.offer_id for n in everyone for o in offers[n.network_id]], dtype=np.int64)
        first_offer = np.cumsum([0] + [len(offers[n.network_id]) for n in everyone])
        catalogue = bind_creatives(stream(_STREAM_CATALOGUE), network_of_offer, offer_ids, affiliate_of_offer)

        clicked = [np.flatnonzero(p.needs_click) for p in plans]
        converting_offer = np.concatenate(
            [first_offer[i] + p.offer_index[rows] for i, (p, rows) in enumerate(zip(plans, clicked))]
        )
        converting_at = np.concatenate([p.clicked_at[rows] for p, rows in zip(plans, clicked)])
        total = conversions_per_network * len(everyone)
        trackly = build_trackly_log(
            stream(_STREAM_TRACKLY),
            catalogue,
            converting_offer.astype(np.int64),
            converting_at.astype(np.int64),
            start,
            end,
            extra_clicks=round(total * _EXTRA_CLICKS_PER_CONVERSION),
            repeat_clicks=round(total * _REPEAT_CLICKS_PER_CONVERSION),
            quiet_messages=max(
                0,
                total * _MESSAGES_PER_CONVERSION - len(converting_offer) - round(total * _EXTRA_CLICKS_PER_CONVERSION),
            ),
        )

        finalized: dict[str, list[NetworkConversions]] = {}
        all_message_ids = trackly.messages["message_id"].to_numpy()
        offset = 0
        for i, (network, plan, rows) in enumerate(zip(everyone, plans, clicked)):
            size = len(plan.converted_at)
            refs = TracklyRefs(
                click_id=np.full(size, "", dtype=object),
                message_id=np.full(size, "", dtype=object),
                creative_id=np.full(size, -1, dtype=np.int64),
                campaign_id=np.full(size, -1, dtype=np.int64),
                all_message_ids=all_message_ids,
            )
            mine = slice(offset, offset + len(rows))
            refs.click_id[rows] = trackly.converting_click_ids[mine]
            refs.message_id[rows] = trackly.converting_message_ids[mine]
            refs.creative_id[rows] = trackly.converting_creative_ids[mine]
            refs.campaign_id[rows] = trackly.converting_campaign_ids[mine]
            offset += len(rows)
            table = finalize_conversions(stream(_STREAM_FINALIZE, i), plan, refs)
            finalized.setdefault(network.network_id, []).append(table)
        conversions = {}
        for i, network in enumerate(networks):
            tables = finalized[network.network_id]
            ours = tables[0] if len(tables) == 1 else merge_accounts(stream(_STREAM_ACCOUNTS, i), tables)
            conversions[network.network_id] = add_other_partners(stream(_STREAM_PARTNERS, i), ours)

        # The hard cases are planted on each network's first account (its offers' first creative).
        creatives_by_offer: dict[tuple[str, int], int] = {}
        for network_id, offer_id, creative in zip(network_of_offer, offer_ids, catalogue.creative_of_offer):
            creatives_by_offer.setdefault((str(network_id), int(offer_id)), int(catalogue.creative_ids[creative]))
        trackly, conversions, hard_cases = plant_hard_cases(
            stream(_STREAM_HARD_CASES), trackly, conversions, creatives_by_offer, int(anchor.timestamp())
        )

        # Last, on a stream of its own: every other value of the world stays as it was.
        conversions = {
            key: plan_resends(stream(_STREAM_RESENDS, i), table, anchor, future_days)
            for i, (key, table) in enumerate(conversions.items())
        }

        return cls(
            seed=seed,
            anchor=anchor,
            history_days=history_days,
            future_days=future_days,
            networks=networks,
            offers=offers,
            conversions=conversions,
            trackly=trackly,
            hard_cases=hard_cases,
            accounts=extra,
        )

    # -- networks and credentials -------------------------------------------------------------

    def network(self, network_id: str) -> SandboxNetwork:
        """The network's first account (its network-level settings are every account's there)."""
        return self._by_id[network_id]

    def account(self, key: str) -> SandboxNetwork:
        for account in self.accounts:
            if account.key == key:
                return account
        raise KeyError(key)

    def find_network(self, network_id: str | None) -> SandboxNetwork | None:
        return self._by_id.get(network_id or "")

    def token_for(self, network_id: str) -> str:
        return self._tokens[network_id]

    def token_env(self, network: SandboxNetwork | str | None = None) -> dict[str, str]:
        """{"TUNE_<KEY>_TOKEN": token} for one network (object, key or id: every account on it), or
        for all of them. The token is the network's: every account on a network has the same."""
        if network is None:
            chosen = self.accounts
        else:
            wanted = network if isinstance(network, str) else network.network_id
            chosen = tuple(n for n in self.accounts if wanted in (n.network_id, n.key))
            if not chosen:
                raise KeyError(wanted)
        return {n.token_env_var: self._tokens[n.network_id] for n in chosen}

    # -- data the API serves ------------------------------------------------------------------

    def offers(self, network_id: str, as_of: datetime | None = None) -> list[SandboxOffer]:
        """The network's offers as of `as_of` (default the clock): see offer_changes()."""
        seconds = int(as_utc(as_of).timestamp()) if as_of else self.clock.epoch_seconds()
        changes = self._offer_changes[network_id]
        applied = sum(1 for c in changes if c.at <= seconds)
        key = (network_id, applied)
        if key not in self._offers_cache:
            self._offers_cache[key] = offers_at(self._offers[network_id], changes, seconds)
        return self._offers_cache[key]

    def offer_changes(self, network_id: str) -> list[OfferChange]:
        """The scheduled offer edits (payout, status, name, offer_url) after the anchor, in time order."""
        return list(self._offer_changes[network_id])

    def conversions(self, network_id: str) -> NetworkConversions:
        return self._conversions[network_id]

    def network_clicks(
        self, network_id: str, clock_seconds: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(offer_id, network-local day start as naive epoch seconds, affiliate id of the link) of the
        Trackly clicks on the network's offers up to the clock, for Report::getStats."""
        if network_id not in self._clicks_by_network:
            clicks = self._trackly.clicks
            mine = clicks[clicks.network_id == network_id]
            utc = mine.clicked_at.dt.tz_convert("UTC").dt.tz_localize(None)
            at = utc.to_numpy().astype("datetime64[s]").astype(np.int64)
            local = mine.clicked_at.dt.tz_convert(self.network(network_id).timezone).dt.tz_localize(None)
            local_seconds = local.to_numpy().astype("datetime64[s]").astype(np.int64)
            self._clicks_by_network[network_id] = (
                mine.offer_id.to_numpy(np.int64),
                at,
                local_seconds - local_seconds % 86_400,
                mine.affiliate_id.to_numpy(np.int64),
            )
        offer_id, at, day, affiliate_id = self._clicks_by_network[network_id]
        clock_seconds = self.clock.epoch_seconds() if clock_seconds is None else clock_seconds
        shown = at <= clock_seconds
        return offer_id[shown], day[shown], affiliate_id[shown]

    # -- ground truth and Trackly logs --------------------------------------------------------

    def ground_truth_conversions(
        self,
        network_id: str | None = None,
        as_of: datetime | None = None,
        *,
        as_served: bool = False,
        key: str | None = None,
    ) -> pd.DataFrame:
        """Our affiliate accounts' conversions at `as_of` (default the clock) as the pipeline should
        hold them: one TUNE serves unreadable at that moment (resends.py) in its last good state.
        `as_served`: every one in TUNE's own state, as its reports count them. Every account's, or
        those of the accounts on `network_id`, or of the account `key` alone; `network_key` says whose."""
        as_of_seconds = int(as_utc(as_of).timestamp()) if as_of else self.clock.epoch_seconds()
        if network_id:
            self.network(network_id)  # KeyError for a network the world does not have
        chosen = [a for a in self.accounts if network_id in (None, "", a.network_id) and key in (None, a.key)]
        if key is not None and not chosen:
            raise KeyError(key)
        frames = [
            source_frames.conversions_frame(self._account_table(a), as_of_seconds, held=not as_served) for a in chosen
        ]
        return pd.concat(frames, ignore_index=True)

    def _account_table(self, account: SandboxNetwork) -> NetworkConversions:
        """The network's conversion table seen from `account`: its `ours` are that account's rows."""
        table = self._conversions[account.network_id]
        return table if table.network == account else replace(table, network=account)

    def ground_truth_stats(
        self, network_id: str, as_of: datetime | None = None, *, key: str | None = None
    ) -> pd.DataFrame:
        """What Report::getStats grouped by Stat.date, Stat.offer_id, Stat.currency should say when
        filtered on the affiliate id of account `key` (default: the network's first), computed from
        the ground-truth conversions and the click log (see stats_api for the semantics).
        Columns: network_key, network_id, date (datetime.date, network-local), offer_id, currency,
        clicks, conversions, pending_conversions, payout, revenue, sale_amount, pending_payout (Decimal)."""
        as_of = as_utc(as_of) if as_of else self.clock.now()
        account = self.account(key) if key else self.network(network_id)
        if account.network_id != network_id:
            raise KeyError(f"{key} is not on {network_id}")
        return source_frames.stats_frame(
            account,
            self.ground_truth_conversions(network_id, as_of, as_served=True, key=account.key),
            self._trackly.clicks,
            {o.offer_id: o.effective_currency(account) for o in self._offers[network_id]},
            as_of,
        )

    def ground_truth_offers(self, network_id: str, as_of: datetime | None = None) -> pd.DataFrame:
        """The offers as Offer::findAll serves them at `as_of` (default the clock)."""
        return source_frames.offers_frame(self.network(network_id), self.offers(network_id, as_of))

    def hard_cases(self) -> pd.DataFrame:
        """The conversions planted at the edges of the attribution rule (hard_cases.py), one row each:
        network_key, conversion_id, case, and the designed expected_method, expected_click_id,
        expected_message_id, expected_reason, expected_creative_id."""
        return self._hard_cases.copy()

    def messages_frame(self, *, with_positions: bool = False) -> pd.DataFrame:
        """The message log; `with_positions` adds source_file (the file's name) and source_row as
        write_trackly_logs writes them."""
        return exports.logged_messages(self._trackly) if with_positions else self._trackly.messages.copy()

    def clicks_frame(self, *, with_positions: bool = False) -> pd.DataFrame:
        """The click log; `with_positions` as for messages_frame."""
        return exports.logged_clicks(self._trackly) if with_positions else self._trackly.clicks.copy()

    def links_frame(self) -> pd.DataFrame:
        return self._trackly.links.copy()

    def write_trackly_logs(self, directory: str | Path) -> list[Path]:
        return exports.write_trackly_logs(self._trackly, Path(directory))

    def write_ground_truth(self, path: str | Path) -> Path:
        return exports.write_parquet(self.ground_truth_conversions(), Path(path))

    def write_fx_rates(self, path: str | Path, reporting_currency: str = "USD") -> Path:
        currencies = {reporting_currency}
        for n in self.networks:
            currencies.update(n.currencies, {n.default_currency})
        first = (self.anchor - timedelta(days=self.history_days + 7)).date()
        last = (self.anchor + timedelta(days=self.future_days + 1)).date()
        return exports.write_fx_rates(Path(path), self.seed, sorted(currencies), first, last, reporting_currency)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self._conversions.items())
        return f"SandboxWorld(seed={self.seed}, anchor={self.anchor.isoformat()}, conversions: {sizes})"

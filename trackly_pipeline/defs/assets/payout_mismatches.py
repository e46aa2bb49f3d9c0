"""analytics/payout_mismatches: offers whose conversions were paid differently from the offer's
default payout, labelled by likely cause; and a check that warns when a cause needs action."""

from datetime import datetime, timezone

import dagster as dg

from trackly_pipeline.config import TracklyConfig
from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.assets.offers import offers_asset_key
from trackly_pipeline.defs.asset_args import ANALYTICS_GROUP, DUCKDB_POOL, SQL_KINDS, asset_args
from trackly_pipeline.defs.metadata import markdown_table, preview
from trackly_pipeline.defs.resources import WarehouseResource
from trackly_pipeline.warehouse.database import transaction
from trackly_pipeline.warehouse.diagnostics import ACTIONABLE_CAUSES, CAUSES, rebuild_payout_mismatches

PAYOUT_MISMATCHES = dg.AssetKey(["analytics", "payout_mismatches"])
CHECK_NAME = "no_actionable_payout_mismatches"

_LIST = (
    "SELECT network, offer_id, offer_name, offer_payout, payout_type, offer_currency, conversion_currency, "
    "likely_cause, conversions, min_paid, max_paid, typical_paid FROM analytics.payout_mismatches "
)


def build_payout_mismatch_asset(settings: TracklyConfig) -> dg.AssetsDefinition:
    upstream = [key for n in settings.networks
                for key in (offers_asset_key(n.key), conversions_asset_key(n.key), attributed_asset_key(n.key))]

    @dg.asset(
        key=PAYOUT_MISMATCHES,
        deps=upstream,
        **asset_args(ANALYTICS_GROUP, SQL_KINDS),
        description=(
            "analytics.payout_mismatches: per network, offer, conversion currency and likely cause "
            f"({', '.join(CAUSES)}), the conversions paid differently from the offer's default payout. "
            "Rebuilt whole from tune.conversions, tune.offers and tune.offer_changes."
        ),
    )
    def payout_mismatches(warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.get().connect() as conn:
            with transaction(conn):
                counts = rebuild_payout_mismatches(conn, datetime.now(timezone.utc))
            offers = conn.execute("SELECT count(*) FROM analytics.payout_mismatches").fetchall()[0][0]
            sample = preview(conn, _LIST + "ORDER BY conversions DESC, network, offer_id LIMIT 10")
        return dg.MaterializeResult(metadata={
            "dagster/row_count": offers,
            **{f"conversions: {cause}": n for cause, n in counts.items()},
            "preview": sample,
        })

    return payout_mismatches


def build_payout_mismatch_check() -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=PAYOUT_MISMATCHES,
        name=CHECK_NAME,
        pool=DUCKDB_POOL,
        description=(
            "Lists every offer in analytics.payout_mismatches with its likely cause; warns when a cause "
            f"needs action ({', '.join(ACTIONABLE_CAUSES)}: re-sync the offers, or fix the currency). "
            "Custom payouts per affiliate and non-flat payout types are listed but expected."
        ),
    )
    def no_actionable_payout_mismatches(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.get().connect() as conn:
            cursor = conn.execute(
                _LIST + "ORDER BY likely_cause IN ('stale offer sync', 'currency') DESC, conversions DESC, "
                "network, offer_id LIMIT 50")
            columns, rows = [d[0] for d in cursor.description], cursor.fetchall()
            per_cause = dict(conn.execute(
                "SELECT likely_cause, count(*) FROM analytics.payout_mismatches GROUP BY ALL").fetchall())
            actionable = conn.execute(
                "SELECT count(*) FROM analytics.payout_mismatches WHERE list_contains($causes, likely_cause)",
                {"causes": list(ACTIONABLE_CAUSES)},
            ).fetchall()[0][0]
        return dg.AssetCheckResult(
            passed=actionable == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{actionable} offer(s) with a mismatch to act on" if actionable else None,
            metadata={
                "actionable_offers": actionable,
                **{f"offers: {cause}": int(per_cause.get(cause, 0)) for cause in CAUSES},
                "mismatches": dg.MetadataValue.md(markdown_table(columns, rows)),
            },
        )

    return no_actionable_payout_mismatches

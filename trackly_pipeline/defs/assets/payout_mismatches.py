"""analytics/payout_mismatches: offers whose conversions were paid differently from the offer's
default payout, labelled by likely cause; and a check that warns when a cause needs action."""

from datetime import UTC, datetime

import dagster as dg

from trackly_pipeline.config import TracklyConfig
from trackly_pipeline.defs.asset_args import ANALYTICS_GROUP, SQL_KINDS, asset_args, warehouse_pool
from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.assets.offers import offers_asset_key
from trackly_pipeline.defs.metadata import lake_commits, markdown_table, preview
from trackly_pipeline.defs.resources import WarehouseResource
from trackly_pipeline.warehouse.asset_counts import payout_mismatch_rows
from trackly_pipeline.warehouse.checks import review_payout_mismatches
from trackly_pipeline.warehouse.diagnostics import ACTIONABLE_CAUSES, CAUSES, rebuild_payout_mismatches

PAYOUT_MISMATCHES = dg.AssetKey(["analytics", "payout_mismatches"])
CHECK_NAME = "no_actionable_payout_mismatches"


def build_payout_mismatch_asset(settings: TracklyConfig) -> dg.AssetsDefinition:
    upstream = [
        key
        for n in settings.networks
        for key in (offers_asset_key(n.key), conversions_asset_key(n.key), attributed_asset_key(n.key))
    ]

    @dg.asset(
        key=PAYOUT_MISMATCHES,
        deps=upstream,
        **asset_args(ANALYTICS_GROUP, SQL_KINDS, pool=warehouse_pool(settings)),
        description=(
            "analytics.payout_mismatches: per network, offer, conversion currency and likely cause "
            f"({', '.join(CAUSES)}), the conversions paid differently from the offer's default payout. "
            "Rebuilt whole from tune.conversions, tune.offers and tune.offer_changes."
        ),
    )
    def payout_mismatches(warehouse: WarehouseResource) -> dg.MaterializeResult:
        db = warehouse.get()
        with db.connect() as conn:
            counts = db.write(conn, lambda: rebuild_payout_mismatches(conn, datetime.now(UTC)))
            offers = payout_mismatch_rows(conn)
            sample = preview(conn, "preview_payout_mismatches.sql")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": offers,
                **{f"conversions: {cause}": n for cause, n in counts.items()},
                "preview": sample,
                **lake_commits(db),
            }
        )

    return payout_mismatches


def build_payout_mismatch_check(settings: TracklyConfig) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=PAYOUT_MISMATCHES,
        name=CHECK_NAME,
        pool=warehouse_pool(settings),
        description=(
            "Lists every offer in analytics.payout_mismatches with its likely cause; warns when a cause "
            f"needs action ({', '.join(ACTIONABLE_CAUSES)}: re-sync the offers, or fix the currency). "
            "Custom payouts per affiliate and non-flat payout types are listed but expected."
        ),
    )
    def no_actionable_payout_mismatches(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.get().connect() as conn:
            review = review_payout_mismatches(conn, ACTIONABLE_CAUSES)
        actionable = review.actionable
        return dg.AssetCheckResult(
            passed=actionable == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{actionable} offer(s) with a mismatch to act on" if actionable else None,
            metadata={
                "actionable_offers": actionable,
                **{f"offers: {cause}": int(review.offers_per_cause.get(cause, 0)) for cause in CAUSES},
                "mismatches": dg.MetadataValue.md(markdown_table(review.listed.columns, review.listed.rows)),
            },
        )

    return no_actionable_payout_mismatches

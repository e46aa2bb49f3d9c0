"""Daily revenue rollups per message, creative and offer, rebuilt for the days that changed; then
the analysts' read-only copy of the warehouse is published."""

import dagster as dg

from trackly_pipeline.config import TracklyConfig
from trackly_pipeline.defs.asset_args import ANALYTICS_GROUP, SQL_KINDS, warehouse_pool
from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.assets.trackly_logs import CLICKS, MESSAGES
from trackly_pipeline.defs.metadata import lake_commits, preview
from trackly_pipeline.defs.resources import WarehouseResource
from trackly_pipeline.defs.sync_log import ALL_NETWORKS, SyncAttempt, logged_sync
from trackly_pipeline.warehouse.networks import identities, refuse_unconfigured
from trackly_pipeline.warehouse.sync_records import record_sync
from trackly_pipeline.warehouse.transforms import rebuild_rollups

REVENUE_BY_MESSAGE = dg.AssetKey(["analytics", "revenue_by_message"])
REVENUE_BY_CREATIVE = dg.AssetKey(["analytics", "revenue_by_creative"])
REVENUE_BY_OFFER = dg.AssetKey(["analytics", "revenue_by_offer"])
ROLLUPS = (REVENUE_BY_MESSAGE, REVENUE_BY_CREATIVE, REVENUE_BY_OFFER)

_TOP = {
    REVENUE_BY_MESSAGE: "preview_revenue_by_message.sql",
    REVENUE_BY_CREATIVE: "preview_revenue_by_creative.sql",
    REVENUE_BY_OFFER: "preview_revenue_by_offer.sql",
}


def build_rollup_assets(settings: TracklyConfig) -> dg.AssetsDefinition:
    upstream = [*(attributed_asset_key(n.key) for n in settings.networks), CLICKS, MESSAGES]
    configured = identities(settings.networks)
    grain = {REVENUE_BY_MESSAGE: "message", REVENUE_BY_CREATIVE: "creative", REVENUE_BY_OFFER: "offer"}

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                key,
                deps=upstream,
                group_name=ANALYTICS_GROUP,
                kinds=set(SQL_KINDS),
                description=(
                    f"analytics.{key.path[-1]}: revenue per {grain[key]} and UTC day in "
                    f"{settings.reporting_currency}, rebuilt for the days marked in ops.dirty_days."
                ),
            )
            for key in ROLLUPS
        ],
        pool=warehouse_pool(settings),
        can_subset=False,
    )
    def revenue_rollups(warehouse: WarehouseResource):
        db = warehouse.get()
        # One step for every network: logged under network '*'. A publish that fails leaves the
        # rebuilt rollups and the months still pending, published by the next run.
        attempt = SyncAttempt(ALL_NETWORKS, "rollups")
        with logged_sync(db, attempt, secrets=()), db.connect() as conn:

            def rebuild() -> list:
                # A stored key no longer configured (renamed, removed) would be summed with the
                # others: nothing is rebuilt or published until `trackly network rename/forget`.
                refuse_unconfigured(conn, configured)
                days = rebuild_rollups(conn)
                attempt.rows = len(days)
                # Recorded before publishing, so that the copy carries it; a failed publish replaces it.
                record_sync(conn, attempt.entry("success"))
                return days

            days = db.write(conn, rebuild)
            tops = {key: preview(conn, sql_file) for key, sql_file in _TOP.items()}
            # Analysts read this copy, which a writer never locks (README, "Querying while the pipeline runs").
            published = db.publish(conn)
        for key in ROLLUPS:
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    "days_rebuilt": len(days),
                    "first_day": str(days[0]) if days else None,
                    "last_day": str(days[-1]) if days else None,
                    "top": tops[key],
                    # On a lake analysts read the lake itself: there is no copy.
                    **({"analysts_copy": dg.MetadataValue.path(str(published))} if published else {}),
                    **lake_commits(db),
                },
            )

    return revenue_rollups

"""Attributed conversions per network: each conversion of the run's hours resolved to its click
and message (ad_id, then the configured sub-id field), priced in the reporting currency."""

from datetime import UTC, datetime

import dagster as dg
import duckdb

from trackly_pipeline.config import NetworkConfig, TracklyConfig
from trackly_pipeline.defs.asset_args import SQL_KINDS, asset_args, network_group, warehouse_pool
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.assets.offers import offers_asset_key
from trackly_pipeline.defs.assets.trackly_logs import CLICKS, MESSAGES
from trackly_pipeline.defs.metadata import (
    add_partition_metadata,
    counts_by_partition,
    lake_commits,
    preview,
    window_text,
)
from trackly_pipeline.defs.present import Clock, refuse_unended_hours
from trackly_pipeline.defs.resources import WarehouseResource
from trackly_pipeline.defs.sync_log import SyncAttempt, logged_sync
from trackly_pipeline.warehouse.duplicates import refuse_duplicates
from trackly_pipeline.warehouse.fx_rates import load_fx_rates
from trackly_pipeline.warehouse.network_terms import (
    RESWEEP_TAG,
    attribution_change,
    record_attributed_terms,
    require_whole_history,
)
from trackly_pipeline.warehouse.networks import identities, register, write_networks
from trackly_pipeline.warehouse.sync_records import record_sync
from trackly_pipeline.warehouse.transforms import attribute_window

METHODS = ("ad_id_click", "sub_id_click", "sub_id_message", "unattributed")


def attributed_asset_key(network_key: str) -> dg.AssetKey:
    return dg.AssetKey(["analytics", network_key, "attributed_conversions"])


def network_rows(settings: TracklyConfig) -> list[tuple[str, str, str, str | None, int | None]]:
    return [
        (n.key, n.network_id, n.message_id_field, n.default_currency, int(n.affiliate_id)) for n in settings.networks
    ]


def attribute_network(
    conn: duckdb.DuckDBPyConnection,
    network: NetworkConfig,
    settings: TracklyConfig,
    start: datetime,
    end: datetime,
    attributed_at: datetime,
) -> dict[str, int]:
    """`attribute_window` over [start, end) with the network's configured rules: what the attribution
    asset and every repair that attributes again (`trackly network dedupe`) run."""
    return attribute_window(
        conn,
        network=network.key,
        message_id_field=network.message_id_field,
        start=start,
        end=end,
        reporting_currency=settings.reporting_currency,
        attributed_at=attributed_at,
        window_days=network.attribution_window_days,
        offer_window_days=network.offer_attribution_window_days,
        clock_skew_s=network.attribution_clock_skew_s,
    )


def build_attribution_asset(
    network: NetworkConfig, settings: TracklyConfig, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    configured = identities(settings.networks)

    @dg.asset(
        key=attributed_asset_key(network.key),
        deps=[conversions_asset_key(network.key), offers_asset_key(network.key), CLICKS, MESSAGES],
        **asset_args(
            network_group(network.key), SQL_KINDS, pool=warehouse_pool(settings, network.key), partitions=partitions
        ),
        description=(
            f"Network {network.key!r}'s rows of analytics.attributed_conversions: every conversion of "
            f"the run's hours with its click, message, creative and campaign (ad_id, then "
            f"{network.message_id_field}), or 'unattributed'."
        ),
    )
    def attributed_conversions(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, clock: dg.ResourceParam[Clock]
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        now = clock.now()
        refuse_unended_hours(network.key, "attribution", start, end, now)
        db = warehouse.get()
        attempt = SyncAttempt(network.key, "attribution", start, end, present_at=now)
        # Logged like the sweeps, so a network whose conversions arrive but stop being attributed
        # (a missing rates file, a bad config) shows in ops.sync_log too.
        with logged_sync(db, attempt, secrets=()), db.connect() as conn:

            def attribute() -> dict[str, int]:
                attributed_at = datetime.now(UTC)
                register(conn, network.key, configured, attributed_at)
                # Attributing only these hours by another field (or from conversions re-swept in
                # another zone) would leave the rest of the history attributed the old way.
                change = attribution_change(conn, network.key, message_id_field=network.message_id_field)
                if change:
                    require_whole_history(conn, network.key, start, end, RESWEEP_TAG in context.run.tags, change)
                write_networks(conn, network_rows(settings))
                load_fx_rates(conn, settings.fx_rates_path)
                methods = attribute_network(conn, network, settings, start, end, attributed_at)
                # A conversion attributed twice would be counted twice by the rollups, and refuses
                # every publish: fail here, before commit, naming the repair.
                refuse_duplicates(
                    conn,
                    f"the attribution of network {network.key!r} was not stored",
                    network.key,
                    tables=("analytics.attributed_conversions",),
                )
                record_attributed_terms(conn, network.key, message_id_field=network.message_id_field, at=attributed_at)
                attempt.rows = sum(methods.values())
                record_sync(conn, attempt.entry("success"))
                return methods

            methods = db.write(conn, attribute)
            total = attempt.rows
            reasons = preview(
                conn,
                "preview_attribution_unattributed_reasons.sql",
                {"network": network.key, "start": start, "end": end},
            )
            sample = preview(conn, "preview_attribution.sql", {"network": network.key, "start": start, "end": end})
            hours = counts_by_partition(
                conn, "attribution_hourly_counts.sql", {"network": network.key, "start": start, "end": end}
            )
        add_partition_metadata(
            context,
            hours,
            empty={"dagster/row_count": 0, **dict.fromkeys(METHODS, 0)},
            # The window's figures, once: on the run's last hour.
            window={
                "window": window_text(start, end),
                "window_rows": total,
                **{f"window_{method}": methods.get(method, 0) for method in METHODS},
                "attributed_share": round(1 - methods.get("unattributed", 0) / total, 4) if total else None,
                "unattributed_reasons": reasons,
                "preview": sample,
                **lake_commits(db),
            },
        )
        return dg.MaterializeResult()

    return attributed_conversions

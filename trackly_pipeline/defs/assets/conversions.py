"""Raw conversions per network: one paginated Report::getConversions sweep over the run's hours,
replacing those hours in tune.conversions in one transaction."""

from datetime import UTC, datetime

import dagster as dg

from trackly_pipeline.config import NetworkConfig, TracklyConfig
from trackly_pipeline.defs.asset_args import API_KINDS, asset_args, network_group
from trackly_pipeline.defs.metadata import (
    add_partition_metadata,
    counts_by_partition,
    lake_commits,
    preview,
    window_text,
)
from trackly_pipeline.defs.present import Clock, refuse_unended_hours
from trackly_pipeline.defs.resources import TuneNetworkResource, WarehouseResource, api_pool, takes_network_tune
from trackly_pipeline.defs.sync_log import SyncAttempt, logged_sync
from trackly_pipeline.warehouse.conversions import ConversionSweep, WindowStats
from trackly_pipeline.warehouse.network_terms import (
    RESWEEP_TAG,
    record_swept_terms,
    require_whole_history,
    retime_history,
    sweep_change,
)
from trackly_pipeline.warehouse.networks import identities, refuse_renamed, register
from trackly_pipeline.warehouse.sync_records import record_sync


def conversions_asset_key(network_key: str) -> dg.AssetKey:
    return dg.AssetKey(["tune", network_key, "conversions"])


def build_conversions_asset(
    network: NetworkConfig, settings: TracklyConfig, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    configured = identities(settings.networks)

    @dg.asset(
        key=conversions_asset_key(network.key),
        # One sweep per network at a time (TUNE limits calls per network), and not in the `duckdb`
        # pool: paging can take minutes on a slow or throttled network, and other networks' steps
        # must not wait for it. The file is taken only for the final write (Warehouse.attach waits
        # for its lock).
        **asset_args(network_group(network.key), API_KINDS, pool=api_pool(network.key), partitions=partitions),
        description=(
            f"TUNE conversions of network {network.key!r} ({network.network_id}), latest state, in "
            "tune.conversions. One run sweeps its whole hour range with Report::getConversions and "
            "replaces those hours atomically; malformed rows go to ops.quarantine, and a stored "
            "conversion TUNE sends back malformed keeps its last good state (held_since)."
        ),
    )
    @takes_network_tune(network.key)
    def raw_conversions(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        tune: TuneNetworkResource,
        clock: dg.ResourceParam[Clock],
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        now = clock.now()
        refuse_unended_hours(network.key, "conversion sweep", start, end, now)
        db = warehouse.get()
        attempt = SyncAttempt(network.key, "conversions", start, end, present_at=now)
        with logged_sync(db, attempt, tune.secrets()):
            # A renamed key is refused before TUNE is paged (and again when the rows are written).
            with db.connect(read_only=True) as conn:
                refuse_renamed(conn, network.key, configured)
            client = tune.client(context.log)
            with db.connect(attach=False) as conn:
                sweep = ConversionSweep(conn, network.key, attempt.sync_id, int(network.affiliate_id))
                # Columnar: each page goes from the reply straight into the staging table, in memory.
                for page in client.iter_conversion_tables(start, end):
                    sweep.add_table(page.table, page.rejected)
                    attempt.pages += 1
                    context.log.debug(f"page {page.page}/{page.page_count}: {page.rows} rows")
                # Staged before the transaction: a lake transaction run again after a commit conflict
                # (Warehouse.write) finds every page staged, none waiting in Python.
                sweep.flush()
                db.attach(conn)

                def replace_window() -> tuple[WindowStats, int]:
                    seen_at = datetime.now(UTC)
                    register(conn, network.key, configured, seen_at)
                    # The zone the sweep actually read TUNE's times in (configured, or asked of TUNE).
                    terms = {"timezone": client.timezone, "message_id_field": network.message_id_field}
                    retimed = 0
                    change = sweep_change(conn, network.key, affiliate_id=int(network.affiliate_id), **terms)
                    if change:
                        require_whole_history(conn, network.key, start, end, RESWEEP_TAG in context.run.tags, change)
                        if change.old_timezone:
                            retimed = retime_history(
                                conn,
                                network.key,
                                old_zone=change.old_timezone,
                                new_zone=client.timezone,
                                seen_at=seen_at,
                                sync_id=attempt.sync_id,
                            )
                    stats = sweep.replace_window(start, end, seen_at)
                    record_swept_terms(conn, network.key, at=seen_at, **terms)
                    attempt.rows, attempt.quarantined, attempt.held = stats.rows, stats.quarantined, stats.held
                    record_sync(conn, attempt.entry("success"))
                    return stats, retimed

                stats, retimed = db.write(conn, replace_window)
                statuses = preview(
                    conn, "preview_conversions_by_status.sql", {"network": network.key, "start": start, "end": end}
                )
                hours = counts_by_partition(
                    conn,
                    "conversions_hourly_counts.sql",
                    {"network": network.key, "start": start, "end": end, "sync_id": attempt.sync_id},
                )
        add_partition_metadata(
            context,
            hours,
            empty={"dagster/row_count": 0, "new": 0, "changed": 0},
            # The sweep's own figures, once: on the run's last hour.
            window={
                "window": window_text(start, end),
                "hours": len(context.partition_keys),
                "pages": attempt.pages,
                "window_rows": stats.rows,
                "window_new": stats.new,
                "window_changed": stats.changed,
                "unchanged": stats.unchanged,
                "vanished": stats.vanished,
                "other_affiliates_forgotten": stats.other_affiliates,
                # A re-sweep after a time zone change: stored conversions read again in the new zone.
                "retimed": retimed,
                "quarantined": stats.quarantined,
                # Stored conversions TUNE sent back unreadable: kept at their last good state (check
                # no_stale_conversions names them).
                "held": stats.held,
                "status_transitions": dg.MetadataValue.json(stats.transitions),
                "by_status": statuses,
                "sync_id": attempt.sync_id,
                **lake_commits(db),
            },
        )
        return dg.MaterializeResult()

    return raw_conversions

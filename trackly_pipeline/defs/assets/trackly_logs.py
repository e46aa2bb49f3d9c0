"""Trackly's click and message logs: external files (written by Trackly) loaded into DuckDB."""

from datetime import UTC, datetime

import dagster as dg

from trackly_pipeline.config import TracklyConfig
from trackly_pipeline.defs.asset_args import TRACKLY_GROUP, asset_args, warehouse_pool
from trackly_pipeline.defs.metadata import lake_commits
from trackly_pipeline.defs.resources import WarehouseResource
from trackly_pipeline.defs.sync_log import ALL_NETWORKS, SyncAttempt, logged_sync
from trackly_pipeline.warehouse.sync_records import record_sync
from trackly_pipeline.warehouse.trackly_logs import LogLoadStats, load_log_files

CLICKS = dg.AssetKey(["trackly", "clicks"])
MESSAGES = dg.AssetKey(["trackly", "messages"])


def build_trackly_log_assets(settings: TracklyConfig) -> list:
    click_log = dg.AssetSpec(
        ["trackly", "click_log_files"],
        description=f"Trackly's click log, written by Trackly: {settings.clicks_glob}",
        group_name=TRACKLY_GROUP,
        kinds={"parquet"},
    )
    message_log = dg.AssetSpec(
        ["trackly", "message_log_files"],
        description=f"Trackly's message (send) log, written by Trackly: {settings.messages_glob}",
        group_name=TRACKLY_GROUP,
        kinds={"parquet"},
    )

    def loader(key: dg.AssetKey, source: dg.AssetSpec, kind: str, pattern: str):
        @dg.asset(
            key=key,
            deps=[source],
            **asset_args(TRACKLY_GROUP, {"duckdb"}, pool=warehouse_pool(settings)),
            description=f"trackly.{kind}: the log files as the pipeline read them (new or changed files only).",
        )
        def load(warehouse: WarehouseResource) -> dg.MaterializeResult:
            db = warehouse.get()
            # Logged like the syncs (kind `trackly.clicks` / `trackly.messages`, network '*'): a file
            # that cannot be loaded fails the step, naming the file, and attribution and the rollups
            # wait for it; ops.sync_log says why.
            attempt = SyncAttempt(ALL_NETWORKS, f"trackly.{kind}")
            with logged_sync(db, attempt, secrets=()), db.connect() as conn:

                def load_files() -> LogLoadStats:
                    stats = load_log_files(conn, kind, pattern, datetime.now(UTC))
                    attempt.rows = stats.rows_loaded
                    record_sync(conn, attempt.entry("success"))
                    return stats

                stats = db.write(conn, load_files)
            return dg.MaterializeResult(
                metadata={
                    "dagster/row_count": stats.total_rows,
                    "files": stats.files_seen,
                    "files_loaded": stats.files_loaded,
                    "files_removed": stats.files_removed,
                    "rows_loaded": stats.rows_loaded,
                    "pattern": pattern,
                    **lake_commits(db),
                }
            )

        return load

    return [
        click_log,
        message_log,
        loader(CLICKS, click_log, "clicks", settings.clicks_glob),
        loader(MESSAGES, message_log, "messages", settings.messages_glob),
    ]

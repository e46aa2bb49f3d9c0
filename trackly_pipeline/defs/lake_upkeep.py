"""On a lake (warehouse.backend: ducklake) only: the job `lake_upkeep`, which merges the lake's small
files, expires its snapshots older than `warehouse.snapshot_retention_days` and deletes the files no
snapshot uses any more (warehouse/lake_upkeep.py), and the schedule `lake_upkeep_daily` that runs it.
The DuckDB file has neither: it keeps no snapshots, and rewrites its own blocks."""

import functools
from datetime import timedelta

import dagster as dg

from trackly_pipeline.config import TracklyConfig
from trackly_pipeline.defs.asset_args import LAKE_SHARED_POOL
from trackly_pipeline.defs.resources import WarehouseResource
from trackly_pipeline.warehouse.lake_upkeep import upkeep

LAKE_UPKEEP_JOB = "lake_upkeep"
LAKE_UPKEEP_SCHEDULE = "lake_upkeep_daily"
# Daily, at an hour of few analysts' queries; minute 30 is apart from the networks' sync ticks (from :05,
# 7 minutes apart) and the freshness check's (:00).
LAKE_UPKEEP_CRON = "30 4 * * *"


def build_lake_upkeep_defs(settings: TracklyConfig) -> tuple[list[dg.JobDefinition], list[dg.ScheduleDefinition]]:
    """The job and its schedule on a lake; nothing on the DuckDB file."""
    if settings.lake is None:
        return [], []
    retention_days = settings.lake.snapshot_retention_days

    # In the shared steps' pool: merging Trackly's logs or the rollups beside a step that rewrites
    # them would only make one of the two commit again. Networks' steps run beside it and meet it at
    # commit (Warehouse.write runs the refused step again).
    # Named apart from the job: Dagster refuses an op and a job (its graph) of one name in a code location.
    @dg.op(name="lake_upkeep_step", pool=LAKE_SHARED_POOL)
    def lake_upkeep_op(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> dg.Output[None]:
        """Merge the lake's small files, expire old snapshots, delete the files no snapshot uses."""
        lake = warehouse.get()
        with lake.connect() as conn:
            stats = upkeep(
                conn,
                expire_older_than=timedelta(days=retention_days),
                write=functools.partial(lake.write, conn),
            )
        context.log.info(
            f"{lake.name}: {stats.files_merged} files merged, {stats.snapshots_expired} snapshots expired, "
            f"{stats.files_deleted + (stats.orphans_deleted or 0)} files deleted; data path "
            f"{stats.before.files_on_disk} -> {stats.after.files_on_disk} files in {stats.seconds:g} s"
        )
        return dg.Output(
            None,
            metadata={
                **stats.metadata(),
                "snapshot_retention_days": retention_days,
                "commit_retries": lake.commit_retries,
                "warehouse": lake.name,
            },
        )

    @dg.job(
        name=LAKE_UPKEEP_JOB,
        description=(
            "DuckLake upkeep: merge small files, expire snapshots older than "
            f"{retention_days} days (warehouse.snapshot_retention_days), delete files no snapshot uses."
        ),
    )
    def lake_upkeep_job():
        lake_upkeep_op()

    schedule = dg.ScheduleDefinition(
        name=LAKE_UPKEEP_SCHEDULE,
        cron_schedule=LAKE_UPKEEP_CRON,
        job=lake_upkeep_job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily at 04:30 UTC, the lake's upkeep (job lake_upkeep).",
    )
    return [lake_upkeep_job], [schedule]

"""Exactly one sync schedule per network: `tune_<key>_hourly`. Each tick runs the network's sync
over the trailing lookback window (one API sweep), once a day over the wide window instead, plus the
offer sync when it is due. And one schedule for all networks, `sync_freshness_hourly`, that runs
only the `sync_is_fresh` checks, so a network whose syncs fail or stop is flagged.

A network's tick is skipped while a run of that network is unfinished (a slow TUNE would otherwise
pile runs up in the queue), and each run gets a runtime limit sized to its window."""

import math
from datetime import UTC, datetime

import dagster as dg

from trackly_pipeline.config import NetworkConfig
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.checks import FRESHNESS_LIMIT
from trackly_pipeline.defs.jobs import FRESHNESS_JOB, NETWORK_TAG, sync_assets, sync_job_name
from trackly_pipeline.defs.partitions import partition_hour, range_tags, trailing_window

FRESHNESS_SCHEDULE = "sync_freshness_hourly"
SWEEP_TAG = "trackly/sweep"

# run_monitoring.max_runtime_seconds in dagster.yaml: the limit of an hourly run over 7 days.
HOURLY_RUN_LIMIT_S = 3600
HOURLY_RUN_HOURS = 7 * 24

# Queued, or holding a run slot (Dagster's active statuses): a new run would wait behind it.
# Unfinished runs read to find a network's untagged ones (asset graph launches): more than the run
# queue ever holds unfinished with 4 slots and one run per network.
UNTAGGED_RUNS_LOOKED_AT = 100

UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def schedule_name(network_key: str) -> str:
    return f"tune_{network_key}_hourly"


def offer_sync_due(network: NetworkConfig, tick: datetime) -> bool:
    if not network.offer_sync.auto:
        return False
    return network.offer_sync.frequency == "hourly" or tick.astimezone(UTC).hour == 0


def is_wide_sweep(network: NetworkConfig, tick: datetime) -> bool:
    """Once a day the sweep reaches back `wide_sweep_days`: TUNE never moves a conversion's date, so
    status and payout changes older than the hourly window are only seen this way."""
    return tick.astimezone(UTC).hour == network.wide_sweep_hour and network.wide_sweep_days > network.lookback_days


def max_runtime_s(first: str, last: str) -> int:
    """Run monitoring's limit for a run over partitions first..last: the hourly run's time per hour
    swept, never less than the hourly run's (a 45-day wide sweep gets 6.4 h, where one hour would
    kill it every day on a slow network). Dagster counts it from the run's start, not its queueing."""
    hours = (partition_hour(last) - partition_hour(first)).total_seconds() // 3600 + 1
    return max(HOURLY_RUN_LIMIT_S, math.ceil(HOURLY_RUN_LIMIT_S * hours / HOURLY_RUN_HOURS))


def unfinished_runs_note(instance: dg.DagsterInstance, network_key: str, wide: bool) -> str | None:
    """The network's runs still queued or in flight, by id and status, or None. For the wide sweep's
    tick only wide sweeps count: it queues behind an hourly run rather than be lost for the day (on
    a network whose runs take over an hour it would be skipped every day). For the hourly tick, a
    run launched from the asset graph counts too: it carries no network tag, but sweeps the network
    if it selects the network's conversions."""
    tags = {NETWORK_TAG: network_key, **({SWEEP_TAG: "wide"} if wide else {})}
    runs = list(instance.get_runs(dg.RunsFilter(tags=tags, statuses=UNFINISHED), limit=5))
    if not wide and not runs:
        sweeping = conversions_asset_key(network_key)
        untagged = instance.get_runs(dg.RunsFilter(statuses=UNFINISHED), limit=UNTAGGED_RUNS_LOOKED_AT)
        runs = [run for run in untagged if NETWORK_TAG not in run.tags and sweeping in (run.asset_selection or ())][:5]
    return ", ".join(f"{run.run_id} ({run.status.value})" for run in runs) or None


def build_schedule(network: NetworkConfig, index: int, partitions_start: datetime) -> dg.ScheduleDefinition:
    # Networks fire at different minutes so their runs queue less behind the DuckDB writer pool.
    minute = (5 + 7 * index) % 60

    @dg.schedule(
        name=schedule_name(network.key),
        cron_schedule=f"{minute} * * * *",
        job_name=sync_job_name(network.key),
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            f"Hourly sync of network {network.key!r}: the last {network.lookback_days} days of "
            f"conversions in one sweep ({network.wide_sweep_days} days at {network.wide_sweep_hour:02d}:xx UTC); "
            f"offers {network.offer_sync.frequency if network.offer_sync.auto else 'manual'}."
        ),
    )
    def hourly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        # The tick's own time, not the wall clock: a late or re-evaluated tick asks for its own hours.
        tick = context.scheduled_execution_time or datetime.now(UTC)
        wide = is_wide_sweep(network, tick)
        days = network.wide_sweep_days if wide else network.lookback_days
        try:
            first, last = trailing_window(tick, days, partitions_start)
        except ValueError:
            # Its window would end before the first partition: a reversed range that sweeps nothing
            # and would log a success in ops.sync_log.
            return dg.SkipReason(
                f"no complete hour since partitions_start {partitions_start:%Y-%m-%d %H:%M} UTC "
                f"for the tick of {tick:%Y-%m-%d %H:%M} UTC"
            )
        in_flight = unfinished_runs_note(context.instance, network.key, wide)
        if in_flight:
            # Another run would only queue behind it (the run queue admits one per network).
            return dg.SkipReason(
                f"network {network.key!r} has a {'wide sweep' if wide else 'run'} queued or in progress: "
                f"{in_flight}; the first tick after it ends sweeps these hours"
            )
        return dg.RunRequest(
            run_key=f"{network.key}:{last}",
            asset_selection=sync_assets(network, with_offers=offer_sync_due(network, tick)),
            tags={
                **range_tags(first, last),
                NETWORK_TAG: network.key,
                SWEEP_TAG: "wide" if wide else "hourly",
                "dagster/max_runtime": str(max_runtime_s(first, last)),
            },
        )

    return hourly


def build_freshness_schedule() -> dg.ScheduleDefinition:
    # On the hour, apart from the networks' sync ticks (staggered from minute 5), and independent
    # of them: a network whose syncs fail, hang or are no longer launched is still checked.
    return dg.ScheduleDefinition(
        name=FRESHNESS_SCHEDULE,
        cron_schedule="0 * * * *",
        job_name=FRESHNESS_JOB,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            "Hourly, every network's `sync_is_fresh` check alone (no sync): it warns when the newest hour a "
            "network swept to the present and attributed ended more than "
            f"{FRESHNESS_LIMIT.total_seconds() / 3600:g} hours ago."
        ),
    )

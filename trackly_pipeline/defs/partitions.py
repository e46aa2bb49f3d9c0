"""Conversions are partitioned by UTC hour, one asset set per network (so each network has its
own partitions, runs and schedule). A run covers a range of hours and sweeps it in one go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from trackly_pipeline.config import PARTITIONS_START_FORMAT

# Dagster's hourly partition keys; `partitions_start` in trackly.yaml is checked against the same.
PARTITION_FORMAT = PARTITIONS_START_FORMAT


def hourly_partitions(start: str) -> dg.HourlyPartitionsDefinition:
    return dg.HourlyPartitionsDefinition(start_date=start, timezone="UTC")


def partition_key(hour: datetime) -> str:
    return hour.astimezone(UTC).strftime(PARTITION_FORMAT)


def partition_hour(key: str) -> datetime:
    """The UTC hour a partition key names (the inverse of `partition_key`)."""
    return datetime.strptime(key, PARTITION_FORMAT).replace(tzinfo=UTC)


def trailing_window(end: datetime, lookback_days: int, earliest: datetime) -> tuple[str, str]:
    """First and last hourly partition keys of the `lookback_days` ending at `end` (exclusive).
    A window ending at or before `earliest` holds no partition: that is an error, never a reversed
    range (callers such as the schedules skip such ticks)."""
    end = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if end <= earliest:
        raise ValueError(
            f"no hourly partition before {end:%Y-%m-%d %H:%M} UTC: partitions start at {earliest:%Y-%m-%d %H:%M} UTC"
        )
    first = max(end - timedelta(days=lookback_days), earliest)
    return partition_key(first), partition_key(end - timedelta(hours=1))


def range_tags(first_key: str, last_key: str) -> dict[str, str]:
    """Run tags that make one run cover partitions first..last (Dagster's single-run backfill)."""
    return {
        "dagster/asset_partition_range_start": first_key,
        "dagster/asset_partition_range_end": last_key,
    }

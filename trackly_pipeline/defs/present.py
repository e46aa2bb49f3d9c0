""" "The present" as the pipeline sees it: a `clock` resource (the wall clock in production; the
sandbox's clock in tests, which lives in the past), that steps take as `clock: dg.ResourceParam[Clock]`,
and the rule that no run may cover an hour that has not ended."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import dagster as dg

from trackly_pipeline.defs.metadata import window_text


class Clock(Protocol):
    def now(self) -> datetime: ...


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def clock_resource(clock: Clock | None = None) -> dg.ResourceDefinition:
    return dg.ResourceDefinition.hardcoded_resource(
        clock or WallClock(), "The present (UTC): what hours have ended, and what a fresh sync must reach."
    )


def last_full_hour_end(now: datetime) -> datetime:
    """The end of the last hour that has ended: the present hour's start."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def refuse_unended_hours(network_key: str, what: str, start: datetime, end: datetime, now: datetime) -> None:
    """Fail before any API call or write when the run's hours reach past the present: an hour that
    has not ended is incomplete, and a sweep of it would store (and log as a success) a part of it."""
    limit = last_full_hour_end(now)
    if end > limit:
        raise dg.Failure(
            description=(
                f"Network {network_key!r}: {what} refused: the run's hours ({window_text(start, end)}) end after "
                f"the last full hour (the present is {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC). This step "
                f"read and wrote nothing. Launch it over hours ending at or before {limit:%Y-%m-%d %H:%M} UTC."
            ),
            metadata={
                "network": network_key,
                "window": window_text(start, end),
                "present": f"{now.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
            },
        )

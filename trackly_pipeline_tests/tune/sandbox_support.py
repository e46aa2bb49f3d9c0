"""Helpers for tests that run the TUNE client against the sandbox server over real HTTP."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd

from trackly_pipeline.sandbox import SandboxServer, SandboxWorld
from trackly_pipeline.tune import AFFILIATE_UNIQUE_FIELDS, Conversion, TuneClient

# Conversion attributes and the ground-truth columns they must equal (converted_at: the instant
# the client reads Stat.datetime as, the later one in a repeated hour).
COMPARED = {
    "conversion_id": "conversion_id",
    "tune_event_id": "tune_event_id",
    "ad_id": "ad_id",
    "converted_at": "stored_at",
    "offer_id": "offer_id",
    "affiliate_id": "affiliate_id",
    "goal_id": "goal_id",
    "status": "status",
    "status_code": "status_code",
    "is_adjustment": "is_adjustment",
    "payout": "payout",
    "revenue": "revenue",
    "sale_amount": "sale_amount",
    "currency": "currency",
    "aff_sub": "aff_sub",
    "aff_sub2": "aff_sub2",
    "aff_sub3": "aff_sub3",
    "aff_sub4": "aff_sub4",
    "aff_sub5": "aff_sub5",
    "source": "source",
    "affiliate_unique1": "affiliate_unique1",
    "affiliate_unique2": "affiliate_unique2",
    "affiliate_unique3": "affiliate_unique3",
    "affiliate_unique4": "affiliate_unique4",
    "affiliate_unique5": "affiliate_unique5",
}


def sandbox_client(server: SandboxServer, world: SandboxWorld, network_id: str, **overrides) -> TuneClient:
    # The sandbox's networks know every field: ask for all, so reads compare with the whole truth.
    # Like the pipeline, ask for our affiliate's conversions: the network has other partners.
    options = dict(
        backoff_base=0.01,
        backoff_max=0.05,
        max_retries=3,
        rate_limit=(40, 10.0),
        rate_limit_retries=3,
        timeout=10.0,
        extra_conversion_fields=AFFILIATE_UNIQUE_FIELDS,
        affiliate_id=world.network(network_id).affiliate_id,
    )
    options.update(overrides)
    return TuneClient(network_id, world.token_for(network_id), server.api_url, **options)


def everything(world: SandboxWorld) -> tuple[datetime, datetime]:
    """A UTC window holding every conversion visible at the sandbox clock."""
    start = world.anchor - timedelta(days=world.history_days + 2)
    return start, world.clock.now() + timedelta(seconds=1)


def truth_in_window(world: SandboxWorld, network_id: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Our conversions the client reads as instants in [start, end)."""
    truth = world.ground_truth_conversions(network_id)
    mask = (truth["stored_at"] >= pd.Timestamp(start)) & (truth["stored_at"] < pd.Timestamp(end))
    return truth[mask].sort_values("conversion_id").reset_index(drop=True)


def _plain(value: object) -> object:
    """Ground-truth cell -> the Python value the client should produce."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().astimezone(UTC)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def mismatches(conversions: list[Conversion], truth: pd.DataFrame, limit: int = 10) -> list[str]:
    """Field-by-field differences (Decimal-exact, as values) between client output and truth."""
    problems: list[str] = []
    if [c.conversion_id for c in conversions] != truth["conversion_id"].tolist():
        problems.append(f"conversion ids differ: got {len(conversions)} rows, truth has {len(truth)}")
        return problems
    columns = {name: truth[column].tolist() for name, column in COMPARED.items()}
    for i, conversion in enumerate(conversions):
        for name in COMPARED:
            expected = _plain(columns[name][i])
            if name == "affiliate_id" and expected is not None:
                expected = int(expected)
            got = getattr(conversion, name)
            if isinstance(expected, Decimal) and not isinstance(got, Decimal):
                problems.append(f"{conversion.conversion_id}.{name}: {got!r} is not a Decimal")
            elif got != expected:
                problems.append(f"{conversion.conversion_id}.{name}: got {got!r}, truth {expected!r}")
            if len(problems) >= limit:
                return problems
    return problems

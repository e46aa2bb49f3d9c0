"""Reconciliation with TUNE: a check per network comparing our conversions with Report::getStats,
and a job per network that runs only that check (the UI's "reconcile now")."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from trackly_pipeline.config import NetworkConfig
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.jobs import NETWORK_TAG
from trackly_pipeline.defs.metadata import lake_commits, markdown_table
from trackly_pipeline.defs.resources import TuneNetworkResource, WarehouseResource, api_pool, takes_network_tune
from trackly_pipeline.tune.errors import TuneError
from trackly_pipeline.tune.redact import redact_text
from trackly_pipeline.tune.stats import daily_offer_stats
from trackly_pipeline.warehouse.reconciliation import (
    DIFFERENCE_COLUMNS,
    MAX_DAYS,
    PAYOUT_TOLERANCE,
    day_list,
    full_local_days,
    last_synced_window,
    reconcile,
)

CHECK_NAME = "reconciles_with_tune"
TOLERANCE_TEXT = (
    f"conversions (approved, adjustments aside) exact; approved payout (adjustments included) "
    f"within {PAYOUT_TOLERANCE} per network-local day, offer and currency"
)


def reconcile_job_name(network_key: str) -> str:
    return f"tune_{network_key}_reconcile"


def build_reconciliation_check(network: NetworkConfig) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=conversions_asset_key(network.key),
        name=CHECK_NAME,
        # Asks TUNE for its totals: in the network's API pool, like the sweeps (defs/resources.py).
        pool=api_pool(network.key),
        description=(
            f"Our tune.conversions of network {network.key!r} agree with TUNE's own Report::getStats totals "
            f"over the last {MAX_DAYS} full network-local days of the last synced window: {TOLERANCE_TEXT}. "
            "Differences (per day, offer, currency) are in ops.reconciliation; the days that differ are named."
        ),
    )
    @takes_network_tune(network.key)
    def reconciles_with_tune(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, tune: TuneNetworkResource
    ) -> dg.AssetCheckResult:
        db = warehouse.get()
        with db.connect() as conn:
            window = last_synced_window(conn, network.key)
        if window is None:
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description="no successful conversion sync to reconcile yet",
            )
        client = tune.client(context.log)
        try:
            zone = client.timezone
            days = full_local_days(window[0], window[1], zone)
            stats = daily_offer_stats(client, days.first_day, days.last_day) if days else []
        except TuneError as exc:
            message = redact_text(f"{type(exc).__name__}: {exc}", tune.secrets())
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"Report::getStats failed: {message}",
                metadata={"error": message},
            )
        if days is None:
            return dg.AssetCheckResult(
                passed=True,
                severity=dg.AssetCheckSeverity.WARN,
                description="the last synced window holds no full network-local day",
                metadata={"window": f"{window[0]} to {window[1]}"},
            )
        with db.connect() as conn:
            result = db.write(conn, lambda: reconcile(conn, network.key, days, stats, checked_at=datetime.now(UTC)))
        differing = result.differing_days
        return dg.AssetCheckResult(
            passed=not differing,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                f"differs from TUNE on {day_list(differing)}"
                if differing
                else f"agrees with TUNE on {days.first_day}..{days.last_day}"
            ),
            metadata={
                "differing_days": dg.MetadataValue.json([d.isoformat() for d in differing]),
                "days_compared": f"{days.first_day} to {days.last_day} ({days.timezone})",
                "groups_compared": result.groups,
                "differences": len(result.differences),
                "tolerance": TOLERANCE_TEXT,
                "difference_table": dg.MetadataValue.md(markdown_table(DIFFERENCE_COLUMNS, result.differences[:50])),
                **lake_commits(db),
            },
        )

    return reconciles_with_tune


def build_reconcile_job(network: NetworkConfig, check: dg.AssetChecksDefinition) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        reconcile_job_name(network.key),
        selection=dg.AssetSelection.checks(check),
        description=f"Reconcile network {network.key!r} with TUNE's Report::getStats now (no sync).",
        tags={NETWORK_TAG: network.key},
    )

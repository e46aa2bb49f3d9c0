"""Build every Dagster definition of the project from a loaded trackly.yaml."""

from __future__ import annotations

import warnings

import dagster as dg

from trackly_pipeline.config import TracklyConfig
from trackly_pipeline.defs.assets.attribution import build_attribution_asset
from trackly_pipeline.defs.assets.conversions import build_conversions_asset
from trackly_pipeline.defs.assets.offers import build_offers_asset
from trackly_pipeline.defs.assets.payout_mismatches import build_payout_mismatch_asset, build_payout_mismatch_check
from trackly_pipeline.defs.assets.rollups import build_rollup_assets
from trackly_pipeline.defs.assets.trackly_logs import build_trackly_log_assets
from trackly_pipeline.defs.checks import build_network_checks, build_rollup_checks
from trackly_pipeline.defs.jobs import build_freshness_job, build_sync_job, build_test_connection_job
from trackly_pipeline.defs.partitions import hourly_partitions
from trackly_pipeline.defs.reconciliation import build_reconcile_job, build_reconciliation_check
from trackly_pipeline.defs.resources import WarehouseResource, tune_resource_for, tune_resource_key
from trackly_pipeline.defs.schedules import build_freshness_schedule, build_schedule

# Single-run backfills (one API sweep per run) are what this project is built on; Dagster marks the
# parameter beta, and saying so on every load helps no one.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")


def build_definitions(settings: TracklyConfig) -> dg.Definitions:
    partitions = hourly_partitions(settings.partitions_start)
    start = partitions.start
    assets: list = [*build_trackly_log_assets(settings), build_rollup_assets(settings)]
    checks: list = build_rollup_checks(settings)
    assets.append(build_payout_mismatch_asset(settings))
    checks.append(build_payout_mismatch_check())
    jobs: list = []
    schedules: list = []
    resources: dict = {"warehouse": WarehouseResource(duckdb_path=str(settings.duckdb_path))}
    for index, network in enumerate(settings.networks):
        assets += [
            build_offers_asset(network, settings),
            build_conversions_asset(network, settings, partitions),
            build_attribution_asset(network, settings, partitions),
        ]
        checks += build_network_checks(network)
        reconciliation = build_reconciliation_check(network)
        checks.append(reconciliation)
        jobs += [build_sync_job(network), build_test_connection_job(network)]
        jobs.append(build_reconcile_job(network, reconciliation))
        schedules.append(build_schedule(network, index, start))
        resources[tune_resource_key(network.key)] = tune_resource_for(network)
    jobs.append(build_freshness_job(settings.networks))
    schedules.append(build_freshness_schedule())
    return dg.Definitions(assets=assets, asset_checks=checks, jobs=jobs, schedules=schedules, resources=resources)


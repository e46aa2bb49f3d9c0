"""Build every Dagster definition of the project from a loaded trackly.yaml: one set per network,
merged with the definitions the networks share."""

from __future__ import annotations

import warnings

import dagster as dg

from trackly_pipeline.config import NetworkConfig, TracklyConfig
from trackly_pipeline.defs.assets.attribution import build_attribution_asset
from trackly_pipeline.defs.assets.conversions import build_conversions_asset
from trackly_pipeline.defs.assets.offers import build_offers_asset
from trackly_pipeline.defs.assets.payout_mismatches import build_payout_mismatch_asset, build_payout_mismatch_check
from trackly_pipeline.defs.assets.rollups import build_rollup_assets
from trackly_pipeline.defs.assets.trackly_logs import build_trackly_log_assets
from trackly_pipeline.defs.checks import build_network_checks, build_rollup_checks
from trackly_pipeline.defs.jobs import build_freshness_job, build_sync_job, build_test_connection_job
from trackly_pipeline.defs.lake_upkeep import build_lake_upkeep_defs
from trackly_pipeline.defs.partitions import hourly_partitions
from trackly_pipeline.defs.present import Clock, clock_resource
from trackly_pipeline.defs.reconciliation import build_reconcile_job, build_reconciliation_check
from trackly_pipeline.defs.resources import WarehouseResource, tune_resource_for, tune_resource_key
from trackly_pipeline.defs.schedules import build_freshness_schedule, build_schedule

# Single-run backfills (one API sweep per run) are what this project is built on; Dagster marks the
# parameter beta, and saying so on every load helps no one.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")


def build_definitions(settings: TracklyConfig, clock: Clock | None = None) -> dg.Definitions:
    """`clock`: the present (default the wall clock); tests pass the sandbox's."""
    partitions = hourly_partitions(settings.partitions_start)
    return dg.Definitions.merge(
        build_shared_defs(settings, clock),
        *(
            build_network_defs(network, settings, partitions, position)
            for position, network in enumerate(settings.networks)
        ),
    )


def build_network_defs(
    network: NetworkConfig, settings: TracklyConfig, partitions: dg.HourlyPartitionsDefinition, position: int
) -> dg.Definitions:
    """A network's assets, checks, jobs, schedule and TUNE resource. `position`: the network's place
    in trackly.yaml, which staggers its schedule's minute."""
    reconciliation = build_reconciliation_check(network)
    return dg.Definitions(
        assets=[
            build_offers_asset(network, settings),
            build_conversions_asset(network, settings, partitions),
            build_attribution_asset(network, settings, partitions),
        ],
        asset_checks=[*build_network_checks(network, settings), reconciliation],
        jobs=[
            build_sync_job(network),
            build_test_connection_job(network),
            build_reconcile_job(network, reconciliation),
        ],
        schedules=[build_schedule(network, position, partitions.start)],
        resources={tune_resource_key(network.key): tune_resource_for(network)},
    )


def build_shared_defs(settings: TracklyConfig, clock: Clock | None) -> dg.Definitions:
    """What every network feeds or uses: Trackly's logs, the rollups and payout mismatches, the
    freshness job, the warehouse and the clock; on a lake, its upkeep job and schedule."""
    upkeep_jobs, upkeep_schedules = build_lake_upkeep_defs(settings)
    return dg.Definitions(
        assets=[
            *build_trackly_log_assets(settings),
            build_rollup_assets(settings),
            build_payout_mismatch_asset(settings),
        ],
        asset_checks=[*build_rollup_checks(settings), build_payout_mismatch_check(settings)],
        jobs=[build_freshness_job(settings.networks), *upkeep_jobs],
        schedules=[build_freshness_schedule(), *upkeep_schedules],
        resources={
            "warehouse": WarehouseResource.for_settings(settings),
            "clock": clock_resource(clock),
        },
    )

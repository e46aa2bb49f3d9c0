"""One sync job per network, a test-connection job per network, and one job that runs every
network's `sync_is_fresh` check (and `stored_networks_configured`) on its own."""

from collections.abc import Sequence

import dagster as dg

from trackly_pipeline.config import NetworkConfig
from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.assets.offers import offers_asset_key
from trackly_pipeline.defs.assets.payout_mismatches import PAYOUT_MISMATCHES
from trackly_pipeline.defs.assets.rollups import REVENUE_BY_OFFER, ROLLUPS
from trackly_pipeline.defs.assets.trackly_logs import CLICKS, MESSAGES
from trackly_pipeline.defs.checks import FRESHNESS_CHECK, NETWORKS_CHECK
from trackly_pipeline.defs.resources import TuneNetworkResource, takes_network_tune

FRESHNESS_JOB = "sync_freshness"
# Every run of a network carries it: the run queue admits one such run per network (dagster.yaml)
# and the network's schedule skips its tick while one is unfinished (schedules.py).
NETWORK_TAG = "trackly/network"


def sync_job_name(network_key: str) -> str:
    return f"tune_{network_key}_sync"


def sync_assets(network: NetworkConfig, *, with_offers: bool) -> list[dg.AssetKey]:
    """What one hourly sync of a network materializes, upstream first."""
    keys = [offers_asset_key(network.key)] if with_offers else []
    return [
        *keys,
        conversions_asset_key(network.key),
        CLICKS,
        MESSAGES,
        attributed_asset_key(network.key),
        PAYOUT_MISMATCHES,
        *ROLLUPS,
    ]


def build_sync_job(network: NetworkConfig) -> "dg.UnresolvedAssetJobDefinition":
    return dg.define_asset_job(
        sync_job_name(network.key),
        selection=dg.AssetSelection.assets(*sync_assets(network, with_offers=True)),
        description=(
            f"Sync network {network.key!r}: offers, conversions over the run's hours, Trackly logs, "
            "attribution and rollups. Its schedule runs it hourly over the trailing window."
        ),
        tags={NETWORK_TAG: network.key},
    )


def build_freshness_job(networks: Sequence[NetworkConfig]) -> "dg.UnresolvedAssetJobDefinition":
    """Every network's `sync_is_fresh` check and nothing else. Inside a sync run the check is only
    evaluated after a successful attribution; run on its own it sees a network whose sweeps or
    attribution fail, hang or are no longer launched."""
    return dg.define_asset_job(
        FRESHNESS_JOB,
        selection=dg.AssetSelection.checks(
            *(dg.AssetCheckKey(attributed_asset_key(n.key), FRESHNESS_CHECK) for n in networks),
            # The rollups refuse while a stored key is not configured; this says so every hour.
            dg.AssetCheckKey(REVENUE_BY_OFFER, NETWORKS_CHECK),
        ),
        description=(
            "Check that every network's analytics are fresh: swept to the present and attributed within "
            "the limit, and that every stored network key is configured (no sync, no API call)."
        ),
    )


def build_test_connection_job(network: NetworkConfig) -> dg.JobDefinition:
    @dg.op(name=f"test_connection_{network.key}")
    @takes_network_tune(network.key)
    def test_connection(context: dg.OpExecutionContext, tune: TuneNetworkResource) -> None:
        """Tell apart: unreachable host, invalid network id, rejected token, no report access, success."""
        check = tune.client(context.log).test_connection()
        if not check.ok:
            raise dg.Failure(
                description=f"network {network.key!r}: {check.outcome}: {check.message}",
                metadata={"outcome": check.outcome, "message": check.message},
            )
        context.log.info(f"network {network.key!r}: {check.message}")

    # No network tag: one API call, which must not queue behind the network's sync runs (the run
    # queue admits one tagged run per network, and a wide sweep can take hours).
    @dg.job(
        name=f"tune_{network.key}_test_connection",
        description=f"Test the TUNE connection of network {network.key!r} (the integration's Test Connection).",
    )
    def test_connection_job():
        test_connection()

    return test_connection_job

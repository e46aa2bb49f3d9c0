"""`trackly network resweep KEY`: after a network's time zone, message_id_field or affiliate id
changed in trackly.yaml, read its whole stored history again in the new terms, as one Dagster run
of its sync job tagged RESWEEP_TAG (the only runs whose steps may adopt new terms, each recording
them in the transaction that writes in them, so a failed run leaves the old terms in place)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from trackly_pipeline.config import NetworkConfig, TracklyConfig
from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.assets.rollups import ROLLUPS
from trackly_pipeline.defs.jobs import sync_assets, sync_job_name
from trackly_pipeline.defs.partitions import partition_hour, partition_key, range_tags
from trackly_pipeline.defs.schedules import max_runtime_s
from trackly_pipeline.warehouse.database import DEFAULT_LOCK_TIMEOUT_S
from trackly_pipeline.warehouse.network_terms import (
    RESWEEP_TAG,
    ZONE_SHIFT_MARGIN,
    NetworkTermsChanged,
    attribution_change,
    earliest_in_zone,
    stored_history,
    stored_terms,
    sweep_change,
)

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class ResweepPlan:
    network: str
    changes: tuple[str, ...]
    sweep: bool  # ask TUNE again; else re-attribute the stored conversions only
    first_key: str
    last_key: str

    def describe(self) -> str:
        what = "re-sweep and re-attribute" if self.sweep else "re-attribute (no TUNE call)"
        return (
            f"network {self.network!r}: {'; '.join(self.changes)}: {what} "
            f"{self.first_key} to {self.last_key} UTC (hourly partitions)"
        )


def plan_resweep(
    settings: TracklyConfig,
    network: NetworkConfig,
    swept_zone: str,
    now: datetime,
    *,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> ResweepPlan | None:
    """What the stored history needs in the network's configured terms (`swept_zone`: the zone its
    sweep would read in, configured or TUNE's), or None when it is already in them or empty.
    NetworkTermsChanged when no re-sweep can hold it (a conversion before partitions_start)."""
    # A writing connection, which brings an older file up to this version's tables; it writes nothing.
    with settings.warehouse(lock_timeout_s=lock_timeout_s).connect() as conn:
        swept = sweep_change(
            conn,
            network.key,
            timezone=swept_zone,
            message_id_field=network.message_id_field,
            affiliate_id=int(network.affiliate_id),
        )
        attributed = attribution_change(conn, network.key, message_id_field=network.message_id_field)
        earliest, _ = stored_history(conn, network.key)
        if swept and swept.old_timezone and earliest is not None:
            earliest = earliest_in_zone(conn, network.key, old_zone=swept.old_timezone, new_zone=swept_zone)
    if not (swept or attributed) or earliest is None:
        return None
    _refuse_before_partitions(network.key, earliest, partition_hour(settings.partitions_start))
    first = earliest.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if swept:
        first -= ZONE_SHIFT_MARGIN
    first = max(first, partition_hour(settings.partitions_start))
    last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - HOUR
    changes = (swept.changes if swept else ()) + (attributed.changes if attributed else ())
    return ResweepPlan(
        network.key, tuple(dict.fromkeys(changes)), bool(swept), partition_key(first), partition_key(last)
    )


def _refuse_before_partitions(network: str, earliest: datetime, partitions_start: datetime) -> None:
    """The re-sweep's attribution must cover every stored conversion (the whole-history rule), and
    no hourly partition holds one before partitions_start: refuse before anything is written."""
    if earliest >= partitions_start:
        return
    start = earliest.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    raise NetworkTermsChanged(
        f"network {network!r}: in its configured terms its earliest stored conversion is at "
        f"{earliest.astimezone(UTC):%Y-%m-%d %H:%M} UTC, before partitions_start "
        f"({partitions_start:%Y-%m-%d %H:%M}), which no partition holds. Nothing was written. Set "
        f"partitions_start in trackly.yaml to {partition_key(start)} or earlier, then run "
        f"`trackly network resweep {network}` again"
    )


def run_resweep(
    defs: dg.Definitions, settings: TracklyConfig, instance: dg.DagsterInstance, plan: ResweepPlan
) -> dg.ExecuteInProcessResult:
    """One run of the network's sync job over the plan's hours: the conversions (when TUNE must be
    swept), the Trackly logs, attribution and the rollups."""
    network = settings.network(plan.network)
    if plan.sweep:
        selection = sync_assets(network, with_offers=False)
    else:
        selection = [attributed_asset_key(network.key), *ROLLUPS]
    job = defs.get_job_def(sync_job_name(network.key))
    return job.execute_in_process(
        instance=instance,
        asset_selection=selection,
        raise_on_error=False,
        tags={
            **range_tags(plan.first_key, plan.last_key),
            RESWEEP_TAG: "true",
            # Sized to its hours like the wide sweep's: run monitoring would end it after one hour.
            "dagster/max_runtime": str(max_runtime_s(plan.first_key, plan.last_key)),
        },
    )


def recorded_terms(settings: TracklyConfig, network: str) -> str:
    """The terms the warehouse records for the network now (after a failed re-sweep: which step's
    new terms were recorded, which are still the old ones)."""
    with settings.warehouse().connect(read_only=True) as conn:
        terms = stored_terms(conn, network)
    return (
        f"swept in {terms.swept_timezone} (message_id_field {terms.swept_message_id_field}), attributed by "
        f"{terms.attributed_message_id_field} from conversions swept in {terms.attributed_timezone}"
    )

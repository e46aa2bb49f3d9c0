"""`trackly network dedupe KEY`: keep one row per conversion of a network (warehouse/dedupe.py),
in one transaction, and say what was removed. The repair the duplicate check and the refused sweeps
and publishes name."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import duckdb

from trackly_pipeline.config import NetworkConfig, TracklyConfig, load_config
from trackly_pipeline.defs.assets.attribution import attribute_network, network_rows
from trackly_pipeline.warehouse.database import WarehouseLocked
from trackly_pipeline.warehouse.dedupe import Reattribute, dedupe_network
from trackly_pipeline.warehouse.fx_rates import load_fx_rates
from trackly_pipeline.warehouse.lake import LakeUnavailable
from trackly_pipeline.warehouse.networks import write_networks

# A sync may hold the warehouse for minutes: say so after a short wait rather than hang.
LOCK_WAIT_S = 10.0


def run_dedupe(network: str) -> int:
    settings = load_config(require_tokens=False)
    if not settings.warehouse().exists():
        print(
            f"trackly network dedupe: no warehouse at {settings.warehouse().name} (warehouse.duckdb_path in "
            f"{settings.path}): nothing to repair",
            file=sys.stderr,
        )
        return 2
    configured = {n.key: n for n in settings.networks}
    if network not in configured:
        # The kept rows are attributed again with the network's settings, which only trackly.yaml has.
        print(
            f"trackly network dedupe: no network {network!r} in {settings.path} (configured: "
            f"{', '.join(sorted(configured))}); a key the warehouse still stores is first renamed or "
            'forgotten (trackly network rename / forget, README, "A network renamed or removed")',
            file=sys.stderr,
        )
        return 2
    try:
        warehouse = settings.warehouse(lock_timeout_s=LOCK_WAIT_S)
        with warehouse.connect() as conn:
            now = datetime.now(UTC)
            # In one transaction; on a lake, run again if a run committed to the same tables first.
            deduped = warehouse.write(
                conn, lambda: dedupe_network(conn, network, now, attribution(conn, configured[network], settings, now))
            )
    except (WarehouseLocked, LakeUnavailable) as exc:
        print(f"trackly network dedupe: {exc}", file=sys.stderr)
        return 1
    if not deduped.conversions and not deduped.attributions:
        print(f"network {network!r}: no conversion stored more than once; nothing changed")
        return 0
    days = deduped.days
    print(
        f"network {network!r}: removed {deduped.conversions} extra row(s) from tune.conversions and "
        f"{deduped.attributions} from analytics.attributed_conversions, keeping one row per conversion (the "
        f"one TUNE confirmed last: latest last_seen_at), and attributed the kept rows again "
        f"({deduped.reattributed_hours} hour(s)). The removed rows are in ops.removed_duplicates. {len(days)} day(s), {days[0]} to {days[-1]}, are "
        "rolled up and published again by the next run."
    )
    return 0


def attribution(
    conn: duckdb.DuckDBPyConnection, network: NetworkConfig, settings: TracklyConfig, attributed_at: datetime
) -> Reattribute:
    """Attributes `network`'s conversions of an hour range in `conn`'s transaction, as the
    attribution asset does (defs/assets/attribution.py): the same networks, rates and settings."""
    write_networks(conn, network_rows(settings))
    load_fx_rates(conn, settings.fx_rates_path)

    def reattribute(start: datetime, end: datetime) -> dict[str, int]:
        return attribute_network(conn, network, settings, start, end, attributed_at)

    return reattribute

"""`trackly network dedupe KEY`: keep one row per conversion of a network (warehouse/dedupe.py),
in one transaction, and say what was removed. The repair the duplicate check and the refused sweeps
and publishes name."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from trackly_pipeline.config import load_config
from trackly_pipeline.warehouse.database import Warehouse, WarehouseLocked, transaction
from trackly_pipeline.warehouse.dedupe import dedupe_network

# A sync may hold the warehouse for minutes: say so after a short wait rather than hang.
LOCK_WAIT_S = 10.0


def run_dedupe(network: str) -> int:
    settings = load_config(require_tokens=False)
    if not settings.duckdb_path.exists():
        print(f"trackly network dedupe: no warehouse at {settings.duckdb_path} (warehouse.duckdb_path in "
              f"{settings.path}): nothing to repair", file=sys.stderr)
        return 2
    try:
        with Warehouse(settings.duckdb_path, lock_timeout_s=LOCK_WAIT_S).connect() as conn, transaction(conn):
            stored = conn.execute("SELECT count(*) FROM tune.conversions WHERE network = $network",
                                  {"network": network}).fetchone()[0]
            deduped = dedupe_network(conn, network, datetime.now(timezone.utc))
    except WarehouseLocked as exc:
        print(f"trackly network dedupe: {exc}", file=sys.stderr)
        return 1
    configured = {n.key for n in settings.networks}
    if not stored and network not in configured:
        print(f"trackly network dedupe: no network {network!r} in the warehouse or in {settings.path} "
              f"(configured: {', '.join(sorted(configured))})", file=sys.stderr)
        return 2
    if not deduped.conversions and not deduped.attributions:
        print(f"network {network!r}: no conversion stored more than once; nothing changed")
        return 0
    days = deduped.days
    print(f"network {network!r}: removed {deduped.conversions} extra row(s) from tune.conversions and "
          f"{deduped.attributions} from analytics.attributed_conversions, keeping one row per conversion (the "
          f"one TUNE confirmed last: latest last_seen_at; in attributed_conversions the latest attributed). "
          f"The removed rows are in ops.removed_duplicates. {len(days)} day(s), {days[0]} to {days[-1]}, are "
          "rolled up and published again by the next run.")
    return 0

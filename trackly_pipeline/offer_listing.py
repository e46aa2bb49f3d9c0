"""`trackly offers <network>`: the network's offers, live from TUNE, with Trackly's import state."""

from __future__ import annotations

import sys

import duckdb

from trackly_pipeline.config import load_config
from trackly_pipeline.tune import TuneClient, TuneError
from trackly_pipeline.warehouse.database import Warehouse, query_sql_file


def imported_offer_ids(warehouse: Warehouse, network: str) -> set[int]:
    """Read from the analysts' copy when the warehouse is busy with a writer (a lake never is)."""
    if warehouse.lake:
        with warehouse.connect(read_only=True) as conn:
            return {row[0] for row in query_sql_file(conn, "offers_imported_ids.sql", {"network": network}).rows}
    for path in (warehouse.path, warehouse.published_path):
        if not path.exists():
            continue
        # With the analysts' copy to fall back on, a writer's lock is not worth waiting for (a sync
        # may hold it for minutes): try once, then read the copy.
        fallback = path == warehouse.path and warehouse.published_path.exists()
        reader = Warehouse(path, lock_timeout_s=0 if fallback else warehouse.lock_timeout_s)
        try:
            with reader.connect(read_only=True) as conn:
                rows = query_sql_file(conn, "offers_imported_ids.sql", {"network": network}).rows
            return {row[0] for row in rows}
        except duckdb.Error:
            continue
    return set()


def print_offer_listing(network_key: str) -> int:
    # Only this network's token is needed.
    settings = load_config(require_tokens=False)
    network, token = settings.network_with_token(network_key)
    client = TuneClient(network.network_id, token, network.api_url, timezone=network.timezone)
    try:
        offers = client.find_offers()
    except TuneError as exc:  # already redacted: say what TUNE said, not where Python was
        print(f"trackly offers: {network.key}: {exc}", file=sys.stderr)
        return 1
    imported = imported_offer_ids(settings.warehouse(), network.key)
    print(f"{'offer_id':>8}  {'imported':<8}  {'status':<8}  {'payout':>10}  {'type':<14}  name")
    for offer in offers:
        payout = f"{offer.default_payout:.2f}" if offer.default_payout is not None else "-"
        print(
            f"{offer.offer_id:>8}  {'yes' if offer.offer_id in imported else 'no':<8}  {offer.status:<8}  "
            f"{payout:>10}  {offer.payout_type or '-':<14}  {network.offer_name_prefix}{offer.name}"
        )
    print(
        f"\nImport offers: launch asset tune/{network.key}/offers with run config "
        "`import_offer_ids: [<id>, ...]` (Dagster UI launchpad)."
    )
    return 0

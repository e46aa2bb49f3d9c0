"""`trackly network rename OLD NEW` and `trackly network forget KEY`: settle a stored network key that
is no longer in trackly.yaml (warehouse/networks.py), each in one transaction, logged in ops.sync_log.
`trackly network dedupe KEY`: keep one row per conversion of a network (network_dedupe.py).
`trackly network resweep KEY`: read a network's stored history again in its new terms (defs/resweep.py)."""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime

# How long to wait for a pipeline step that holds the warehouse: a sweep's write takes seconds.
LOCK_TIMEOUT_S = 10.0


def register(commands: argparse._SubParsersAction) -> None:
    network = commands.add_parser(
        "network", help="rename, forget, dedupe or re-sweep what the warehouse stores for a network"
    )
    actions = network.add_subparsers(dest="action", required=True)
    renaming = actions.add_parser("rename", help="move every stored row of OLD (no longer configured) to NEW")
    renaming.add_argument("old")
    renaming.add_argument("new")
    renaming.set_defaults(func=_run)
    forgetting = actions.add_parser("forget", help="delete every stored row of KEY (no longer configured)")
    forgetting.add_argument("key")
    forgetting.set_defaults(func=_run)
    dedupe = actions.add_parser(
        "dedupe",
        help="keep one row per conversion of a network stored more than once (the repair the "
        "no_duplicate_conversions check, a refused sweep or a refused publish names)",
    )
    dedupe.add_argument("key", help="network key")
    dedupe.set_defaults(func=_run_dedupe)
    resweep = actions.add_parser(
        "resweep",
        help="after its timezone, message_id_field or affiliate_id changed: read the network's whole "
        "stored history again in the new terms (re-attribution only for a message_id_field change)",
    )
    resweep.add_argument("key", help="network key")
    resweep.set_defaults(func=_run_resweep)


def _run(args: argparse.Namespace) -> int:
    # Imported here: every `trackly` command registers this one, and only this one needs them (seconds).
    from trackly_pipeline.config import load_config
    from trackly_pipeline.warehouse.database import WarehouseLocked
    from trackly_pipeline.warehouse.lake import LakeUnavailable
    from trackly_pipeline.warehouse.networks import NetworkKeyError, forget, identities, rename
    from trackly_pipeline.warehouse.sync_records import SyncLogEntry, record_sync

    settings = load_config(require_tokens=False)
    configured = identities(settings.networks)
    warehouse = settings.warehouse(lock_timeout_s=LOCK_TIMEOUT_S)
    if not warehouse.exists():
        print(
            f"trackly network: no warehouse at {warehouse.name} (trackly.yaml, warehouse.duckdb_path)", file=sys.stderr
        )
        return 1
    started = datetime.now(UTC)
    try:
        with warehouse.connect() as conn:

            def change() -> tuple[dict[str, int], str]:
                if args.action == "rename":
                    key, rows = args.new, rename(conn, args.old, args.new, configured)
                    done = f"renamed {args.old!r} to {args.new!r}: moved"
                else:
                    key, rows = args.key, forget(conn, args.key, configured)
                    done = f"forgot {args.key!r}: deleted"
                record_sync(
                    conn,
                    SyncLogEntry(
                        sync_id=uuid.uuid4().hex,
                        network=key,
                        kind=f"network {args.action}",
                        window_start=None,
                        window_end=None,
                        started_at=started,
                        finished_at=datetime.now(UTC),
                        pages=0,
                        rows=sum(rows.values()),
                        quarantined=0,
                        status="success",
                    ),
                )
                return rows, done

            # In one transaction; on a lake, run again if a run committed to the same tables first.
            rows, done = warehouse.write(conn, change)
    except NetworkKeyError as exc:
        print(f"trackly network {args.action}: {exc}", file=sys.stderr)
        return 1
    except (WarehouseLocked, LakeUnavailable) as exc:
        print(f"trackly network {args.action}: nothing was changed: {exc}", file=sys.stderr)
        return 1
    print(f"{done} {sum(rows.values())} rows")
    for table, count in rows.items():
        print(f"  {table:<40} {count:>10}")
    print("The next run rebuilds the rollups of the days they count in and publishes the analysts' copy again.")
    return 0


def _run_dedupe(args: argparse.Namespace) -> int:
    from trackly_pipeline.network_dedupe import run_dedupe

    return run_dedupe(args.key)


def _run_resweep(args: argparse.Namespace) -> int:
    import dagster as dg

    from trackly_pipeline.config import load_config
    from trackly_pipeline.defs.build import build_definitions
    from trackly_pipeline.defs.resweep import plan_resweep, recorded_terms, run_resweep
    from trackly_pipeline.tune import TuneClient
    from trackly_pipeline.tune.errors import TuneError
    from trackly_pipeline.warehouse.database import WarehouseLocked
    from trackly_pipeline.warehouse.network_terms import NetworkTermsChanged

    settings = load_config(require_tokens=False)
    network, token = settings.network_with_token(args.key)
    if not settings.warehouse().exists():
        print(
            f"trackly network resweep: no warehouse at {settings.warehouse().name} (trackly.yaml, "
            "warehouse.duckdb_path): nothing to re-sweep",
            file=sys.stderr,
        )
        return 1
    try:
        # The zone the sweep would read in: the configured one, else TUNE's.
        zone = network.timezone or TuneClient(network.network_id, token, network.api_url).timezone
        plan = plan_resweep(settings, network, zone, datetime.now(UTC), lock_timeout_s=LOCK_TIMEOUT_S)
    except TuneError as exc:
        print(
            f"trackly network resweep: TUNE did not give network {network.key!r}'s time zone, nothing was "
            f"changed: {exc}. Check its token and network_id, or set its timezone in trackly.yaml",
            file=sys.stderr,
        )
        return 1
    except (NetworkTermsChanged, WarehouseLocked) as exc:
        print(f"trackly network resweep: {exc}", file=sys.stderr)
        return 1
    if plan is None:
        print(f"network {network.key!r}: its stored history is in the configured terms; nothing to do")
        return 0
    print(plan.describe())
    # The project's Dagster instance ($DAGSTER_HOME), so the run shows in the UI with the others.
    result = run_resweep(build_definitions(settings), settings, dg.DagsterInstance.get(), plan)
    if not result.success:
        failures = [
            event.event_specific_data.error.message.strip() for event in result.all_events if event.is_step_failure
        ]
        print(
            f"run {result.run_id} failed: {' | '.join(failures)}. Recorded now: "
            f"{recorded_terms(settings, network.key)}",
            file=sys.stderr,
        )
        return 1
    print(f"run {result.run_id} succeeded: the stored history is in the new terms")
    return 0

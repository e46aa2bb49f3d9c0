"""The lake's growth over simulated days of hourly runs, without upkeep and with the daily upkeep
(warehouse/lake_upkeep.py). Prints figures, not a timed test (benchmarks/README.md, Lake upkeep).

    ./run python -m benchmarks.lake_upkeep [--days 30] [--retention-days 7] [--per-hour 40] [--jobs 2]

Needs a PostgreSQL server (TRACKLY_TEST_POSTGRES, default 127.0.0.1:5432, user postgres, trust
auth, as the tests): each variant gets a catalog database of its own, trackly_bench_upkeep_<id>,
dropped at the end, and a data folder in a temporary directory.

What an hour does: not a Dagster run (a real sync of one network takes a minute and more on a loaded
2-core machine, so 720 of them would take half a day), but the shape of an hourly sync's commits,
each its own transaction through Warehouse.write on the lake's real schema: the network's
conversions of the trailing 7 days replaced (a DELETE and an INSERT of `--per-hour` rows per hour of
the window, as conversions_replace_window.sql does), a row appended to ops.sync_log, and the
network's rows of analytics.revenue_by_offer replaced. With upkeep, the upkeep runs after every 24th
hour, expiring snapshots older than `--retention-days` simulated days (mapped to the wall-clock time
that simulated day began: the snapshots carry real times) and deleting replaced files at once
(file_grace 0: the simulation's days are seconds long).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.lake import LakeSettings
from trackly_pipeline.warehouse.lake_upkeep import lake_counts, upkeep

NETWORK = "bench"
START = datetime(2026, 1, 1, tzinfo=UTC)

REPLACE_DELETE = (
    "DELETE FROM tune.conversions WHERE network = $network AND converted_at >= $first AND converted_at < $last"
)
REPLACE_INSERT = """
INSERT INTO tune.conversions (network, conversion_id, converted_at, offer_id, status, is_adjustment, payout,
                              currency, first_seen_at, last_seen_at)
SELECT $network, epoch($first)::BIGINT + h.hour_index * 3600 + i.range,
       $first + h.hour_index * INTERVAL 1 HOUR + i.range * INTERVAL 1 SECOND, 1 + i.range % 5,
       CASE WHEN i.range % 10 = 0 THEN 'rejected' ELSE 'approved' END, false,
       (1 + i.range % 7)::DECIMAL(18, 5) + $sync_hour % 3, 'USD', $last, $last
FROM range(168) AS h (hour_index), range($per_hour) AS i
"""
LOG_APPEND = """
INSERT INTO ops.sync_log (sync_id, network, kind, window_start, window_end, started_at, finished_at, duration_s,
                          pages, rows, quarantined, status)
VALUES ($sync_id, $network, 'conversions', $first, $last, $last, $last, 1.0, 1, 168 * $per_hour, 0, 'success')
"""
ROLLUP_DELETE = "DELETE FROM analytics.revenue_by_offer WHERE network = $network"
ROLLUP_INSERT = """
INSERT INTO analytics.revenue_by_offer (day, network, offer_id, clicks, conversions, approved, pending, rejected,
                                        adjustments, revenue, pending_revenue, rejected_payout)
SELECT converted_at::DATE, network, offer_id, 0, count(*), count(*) FILTER (WHERE status = 'approved'), 0,
       count(*) FILTER (WHERE status = 'rejected'), 0, sum(payout) FILTER (WHERE status = 'approved'), 0,
       coalesce(sum(payout) FILTER (WHERE status = 'rejected'), 0)
FROM tune.conversions WHERE network = $network GROUP BY ALL
"""


def admin():
    address = os.environ.get("TRACKLY_TEST_POSTGRES", "127.0.0.1:5432")
    host, _, port = address.rpartition(":")
    user = os.environ.get("TRACKLY_TEST_POSTGRES_USER", "postgres")
    conn = psycopg2.connect(dbname="postgres", host=host, port=int(port), user=user)
    conn.autocommit = True
    return conn, f"host={host} port={port} user={user}"


def simulate(days: int, per_hour: int, retention_days: int | None, folder: Path) -> dict:
    """`retention_days` None: no upkeep."""
    dbname = f"trackly_bench_upkeep_{uuid.uuid4().hex[:10]}"
    with closing(admin()[0]) as conn, conn.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{dbname}"')
    try:
        lake = LakeSettings(f"dbname={dbname} {admin_dsn()}", str(folder / dbname) + "/")
        warehouse = Warehouse(folder / "unused.duckdb", lake=lake)
        day_began: list[datetime] = []
        upkeeps: list[float] = []
        started = time.monotonic()
        with warehouse.connect() as conn:
            for hour in range(days * 24):
                if hour % 24 == 0:
                    day_began.append(datetime.now(UTC))
                sync_hour = START + timedelta(hours=hour)
                params = {"network": NETWORK, "first": sync_hour - timedelta(days=7), "last": sync_hour}

                def replace(params=params, hour=hour):
                    conn.execute(REPLACE_DELETE, params)
                    conn.execute(REPLACE_INSERT, params | {"per_hour": per_hour, "sync_hour": hour})

                warehouse.write(conn, replace)
                warehouse.write(
                    conn,
                    lambda params=params, hour=hour: conn.execute(
                        LOG_APPEND, params | {"sync_id": f"s{hour}", "per_hour": per_hour}
                    ),
                )

                def rollup():
                    conn.execute(ROLLUP_DELETE, {"network": NETWORK})
                    conn.execute(ROLLUP_INSERT, {"network": NETWORK})

                warehouse.write(conn, rollup)
                if retention_days is not None and hour % 24 == 23:
                    day = hour // 24
                    # Snapshots older than the retention, in simulated days: those committed before
                    # the wall-clock time simulated day `day + 1 - retention_days` began.
                    oldest_kept = day + 1 - retention_days
                    now = datetime.now(UTC)
                    age = now - day_began[oldest_kept] if oldest_kept > 0 else now - START.replace(year=2000)
                    stats = upkeep(
                        conn,
                        expire_older_than=age,
                        file_grace=timedelta(0),
                        write=lambda body: warehouse.write(conn, body),
                    )
                    upkeeps.append(stats.seconds)
            counts = lake_counts(conn)
            ((rows,),) = conn.execute("SELECT count(*) FROM tune.conversions").fetchall()
        return {
            "counts": counts,
            "upkeeps": upkeeps,
            "seconds": time.monotonic() - started,
            "conversions": rows,
        }
    finally:
        with closing(admin()[0]) as conn, conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def admin_dsn() -> str:
    conn, dsn = admin()
    conn.close()
    return dsn


def table(results: dict[str, dict], days: int) -> str:
    rows = [
        ("data files on disk", lambda r: f"{r['counts'].files_on_disk:,}"),
        ("bytes on disk", lambda r: f"{r['counts'].bytes_on_disk / 1e6:,.1f} MB"),
        ("snapshots (catalog rows)", lambda r: f"{r['counts'].snapshots:,}"),
        ("ducklake_data_file rows", lambda r: f"{r['counts'].data_file_rows:,}"),
        ("of which live", lambda r: f"{r['counts'].live_data_files:,}"),
        ("ducklake_delete_file rows", lambda r: f"{r['counts'].delete_file_rows:,}"),
        ("files scheduled for deletion", lambda r: f"{r['counts'].scheduled_for_deletion:,}"),
        ("conversions stored (same in both)", lambda r: f"{r['conversions']:,}"),
        ("simulation time (s per simulated day)", lambda r: f"{r['seconds']:,.0f} ({r['seconds'] / days:.1f})"),
        (
            "upkeep time, s (first / median / max)",
            lambda r: (
                f"{r['upkeeps'][0]:.1f} / {sorted(r['upkeeps'])[len(r['upkeeps']) // 2]:.1f} / {max(r['upkeeps']):.1f}"
                if r["upkeeps"]
                else "-"
            ),
        ),
    ]
    names = list(results)
    lines = [f"| after {days} days of hourly runs | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    lines += [f"| {label} | " + " | ".join(cell(results[n]) for n in names) + " |" for label, cell in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lake_upkeep", description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--retention-days", type=int, default=7)
    parser.add_argument("--per-hour", type=int, default=40, help="conversions per hour of the window")
    parser.add_argument("--jobs", type=int, default=2, help="variants simulated at once")
    args = parser.parse_args(argv)
    variants = {"no upkeep": None, f"daily upkeep ({args.retention_days}-day retention)": args.retention_days}
    with (
        tempfile.TemporaryDirectory(prefix="trackly_bench_upkeep_") as folder,
        ProcessPoolExecutor(args.jobs) as pool,
    ):
        # The variants are independent (a catalog database and a data folder each): side by side on
        # two cores, unless --jobs 1.
        futures = {
            name: pool.submit(simulate, args.days, args.per_hour, retention, Path(folder))
            for name, retention in variants.items()
        }
        results = {}
        for name, future in futures.items():
            results[name] = future.result()
            print(f"{name}: {results[name]['seconds']:.0f} s", flush=True)
    print(table(results, args.days))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

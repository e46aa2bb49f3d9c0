"""`./run demo`: start the TUNE sandbox, write Trackly's logs, run every network's sync through
Dagster over the last days, and print what an analyst would look at first."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import duckdb
from dagster import DagsterInstance

from trackly_pipeline.config import load_config
from trackly_pipeline.defs.partitions import hourly_partitions, partition_hour, range_tags, trailing_window
from trackly_pipeline.sandbox import SECOND_ACCOUNTS, SandboxServer, SandboxWorld
from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.sandbox.expected import expected_conversions, expected_revenue, read_fx_rates

HISTORY_DAYS = 30


def run_demo(days: int = 7, seed: int = 7, conversions: int = 3000) -> int:
    settings = load_config(require_tokens=False)
    now = datetime.now(timezone.utc)
    end = now.replace(minute=0, second=0, microsecond=0)  # the sandbox's data is anchored here
    # Like the schedules: the window starts no earlier than the first partition (`partitions_start`).
    try:
        first, last = trailing_window(end, days, hourly_partitions(settings.partitions_start).start)
    except ValueError:  # the window would end before the first partition
        print(f"Nothing to sync: partitions_start {settings.partitions_start} ({settings.path}) is not "
              f"before the last full hour, {end:%Y-%m-%d %H:00} UTC.")
        return 2
    start = partition_hour(first)
    # With acme's second account: two keys on one network id, as the shipped trackly.yaml has them.
    world = SandboxWorld.generate(seed=seed, anchor=end, history_days=HISTORY_DAYS,
                                  conversions_per_network=conversions, accounts=SECOND_ACCOUNTS)
    os.environ.update(world.token_env())

    # A fresh start: the sandbox's data is anchored at this hour, so last run's rows don't belong.
    logs_dir = Path(settings.clicks_glob).parent.parent
    shutil.rmtree(logs_dir, ignore_errors=True)
    warehouse = Warehouse(settings.duckdb_path)
    for path in (warehouse.path, warehouse.published_path):
        path.unlink(missing_ok=True)
    shutil.rmtree(warehouse.published_parts_folder, ignore_errors=True)
    world.write_trackly_logs(logs_dir)
    if settings.fx_rates_path:
        world.write_fx_rates(settings.fx_rates_path, settings.reporting_currency)

    port = urlparse(settings.networks[0].api_url).port or 8765
    print(f"TUNE sandbox (seed {seed}, {conversions} conversions per network) on 127.0.0.1:{port}")
    with SandboxServer(world, port=port):
        from trackly_pipeline.defs.build import build_definitions
        from trackly_pipeline.defs.jobs import sync_job_name

        settings = load_config()
        defs = build_definitions(settings)
        instance = DagsterInstance.get()
        failed = []
        for network in settings.networks:
            started = time.monotonic()
            result = defs.resolve_job_def(sync_job_name(network.key)).execute_in_process(
                instance=instance,
                tags={**range_tags(first, last), "trackly/network": network.key},
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                raise_on_error=False,
            )
            status = "ok" if result.success else "FAILED"
            print(f"  {sync_job_name(network.key):<18} {first} .. {last}  {status}  ({time.monotonic() - started:.1f} s)")
            if not result.success:
                failed.append(network.key)

    mismatches = print_report(settings, world, start, end)
    print(f"\nDemo finished in {(datetime.now(timezone.utc) - now).total_seconds():.0f} s.")
    return 1 if failed or mismatches else 0


# grain: (rollup table, its key columns, the same key in the ground truth)
GRAINS = {
    "message": ("revenue_by_message", ["message_id"], ["message_id"]),
    "creative": ("revenue_by_creative", ["creative_id"], ["creative_id"]),
    "offer": ("revenue_by_offer", ["network", "offer_id"], ["network_key", "offer_id"]),
}


def print_report(settings, world: SandboxWorld, start: datetime, end: datetime) -> int:
    """Print the report; return how many message/creative/offer totals differ from the ground truth."""
    mismatches = 0
    warehouse = Warehouse(settings.duckdb_path)
    with warehouse.connect(read_only=True) as conn:
        _table(conn, "Attribution by network", """
            SELECT network, attribution_method, count(*) AS conversions, round(sum(payout_reporting), 2) AS payout
            FROM analytics.attributed_conversions GROUP BY ALL ORDER BY network, attribution_method""")
        _table(conn, f"Revenue by offer ({settings.reporting_currency}, top 10)", """
            SELECT network, offer_id, any_value(offer_name) AS offer, sum(clicks) AS clicks,
                   sum(conversions) AS conversions, round(sum(revenue), 2) AS revenue,
                   round(sum(pending_revenue), 2) AS pending,
                   round(sum(revenue) / nullif(sum(clicks), 0), 2) AS epc
            FROM analytics.revenue_by_offer GROUP BY ALL ORDER BY revenue DESC LIMIT 10""")
        _table(conn, f"Revenue by creative ({settings.reporting_currency}, top 10)", """
            SELECT creative_id, sum(sends) AS sends, sum(clicks) AS clicks, sum(conversions) AS conversions,
                   round(sum(revenue), 2) AS revenue, round(sum(revenue) / nullif(sum(sends), 0), 4) AS revenue_per_send
            FROM analytics.revenue_by_creative GROUP BY ALL ORDER BY revenue DESC LIMIT 10""")
        _table(conn, "Integration log (ops.sync_log)", """
            SELECT network, kind, status, pages, rows, quarantined, round(duration_s, 2) AS seconds, error
            FROM ops.sync_log ORDER BY started_at""")
        stored = {
            grain: {tuple(row[:-1]): row[-1] for row in conn.execute(
                f"SELECT {', '.join(columns)}, round(sum(revenue), 2) FROM analytics.{table} GROUP BY ALL").fetchall()}
            for grain, (table, columns, _) in GRAINS.items()
        }
        clicks_counted = dict(conn.execute(
            "SELECT network, sum(clicks) FROM analytics.revenue_by_offer GROUP BY network").fetchall())

    # Every click the log holds for a configured account (network id and affiliate id), counted once
    # in revenue_by_offer under that key (the whole log is loaded, so all its days are rolled up).
    key_of = {(n.network_id, int(n.affiliate_id)): n.key for n in settings.networks}
    logged = world.clicks_frame()
    clicks_logged = Counter(key_of[account] for account in zip(logged.network_id, logged.affiliate_id.astype(int))
                            if account in key_of)
    differing_clicks = [k for k in set(clicks_logged) | set(clicks_counted)
                        if clicks_logged.get(k, 0) != (clicks_counted.get(k) or 0)]
    mismatches += len(differing_clicks)
    print("\nClicks in revenue_by_offer vs Trackly's log (each once, for the key of the account it was for)")
    print(f"  per network {len(clicks_logged):>5} keys    {sum(clicks_logged.values()):>12}  {len(differing_clicks)} differ")

    if settings.fx_rates_path:
        truth = expected_conversions(world, start, end, read_fx_rates(settings.fx_rates_path), settings.reporting_currency,
                                     network_keys={n.key for n in settings.networks})
        print(f"\nRevenue vs the sandbox's ground truth ({settings.reporting_currency}, to the cent)")
        for grain, (_, _, truth_columns) in GRAINS.items():
            expected = expected_revenue(truth, truth_columns)
            differing = [k for k in set(expected) | set(stored[grain])
                         if expected.get(k, 0) != (stored[grain].get(k) or 0)]
            mismatches += len(differing)
            print(f"  per {grain:<9} {len(expected):>5} groups  {sum(expected.values()):>12}  {len(differing)} differ")

    print(f"\nDuckDB (the pipeline writes it): {warehouse.path}")
    print(f"Analysts' copy (published after each run, never locked): {warehouse.published_path}")
    print("Dagster UI: `./run trackly sandbox serve` in one terminal (prints the token exports), then\n"
          "            `./run dagster dev -w workspace.yaml` in another, and open http://127.0.0.1:3000")
    return mismatches


def _table(conn: duckdb.DuckDBPyConnection, title: str, query: str) -> None:
    print(f"\n{title}")
    cursor = conn.execute(query)
    columns = [d[0] for d in cursor.description]
    rows = [["" if v is None else str(v) for v in row] for row in cursor.fetchall()]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    print("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths)))

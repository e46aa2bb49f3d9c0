"""Benchmark 5, the DuckLake backend against the DuckDB file, same world, same runs: an hourly run on
each, and an analyst's query every 100 ms during such a run (a thread of the run's process);
three networks' runs at once against one after another on the lake, each run in a process of its
own as a run launcher starts them.

The lake's catalog is a database made for the benchmark on $TRACKLY_BENCH_POSTGRES (a libpq string,
default the local server) and dropped after; without a PostgreSQL the rows say so."""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.common import UTC, Sizes, median_time
from benchmarks.report import Row

SERVER_ENV = "TRACKLY_BENCH_POSTGRES"
DEFAULT_SERVER = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
ANCHOR = datetime(2026, 11, 20, 12, tzinfo=UTC)
HOURLY_NETWORK = "bolt"  # its offers sync daily: an hourly run is conversions + attribution + rollups
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
ANALYST_QUERY = "SELECT (SELECT sum(revenue) FROM analytics.revenue_by_offer), (SELECT count(*) FROM tune.conversions)"

# One run per child process: the child's definitions, built once by the pool's initializer.
_CHILD: dict = {}


def _child_init(config_path: str, env: dict[str, str]) -> None:
    os.environ.update(env)
    from trackly_pipeline.config import load_config
    from trackly_pipeline.defs.build import build_definitions

    settings = load_config(config_path)
    _CHILD.update(settings=settings, defs=build_definitions(settings))


def _child_run(network_key: str, end: datetime) -> float:
    return _run(_CHILD["defs"], _CHILD["settings"], network_key, end)


def _run(defs, settings, network_key: str, end: datetime) -> float:
    """One hourly run of a network's sync job (its offers aside), on an ephemeral instance; seconds."""
    import dagster as dg

    from trackly_pipeline.defs.jobs import sync_assets, sync_job_name
    from trackly_pipeline.defs.partitions import range_tags, trailing_window

    first, last = trailing_window(end, 7, ANCHOR - timedelta(days=60))
    started = time.perf_counter()
    # Disposed after the run (`with`): see benchmarks/dagster_run.py.
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(sync_job_name(network_key)).execute_in_process(
            instance=instance,
            tags=range_tags(first, last),
            asset_selection=sync_assets(settings.network(network_key), with_offers=False),
            run_config=QUIET,
            raise_on_error=False,
        )
    if not result.success:
        raise RuntimeError(f"the {network_key} run failed")
    return time.perf_counter() - started


class Analyst(threading.Thread):
    """Queries the warehouse as an analyst would (connect, query, close) every 100 ms until stopped."""

    def __init__(self, connect):
        super().__init__(daemon=True)
        self.connect, self.stop, self.times, self.errors = connect, threading.Event(), [], []

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                with self.connect() as conn:
                    conn.execute(ANALYST_QUERY).fetchall()
                self.times.append(time.perf_counter() - started)
            except Exception as exc:  # reported in the row's note, never hidden
                self.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            self.stop.wait(0.1)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def analyst_connection(backend: str, warehouse):
    """How an analyst connects: to the file's published copy, or to the lake, read-only."""
    if backend == "duckdb":
        import duckdb

        return lambda: duckdb.connect(str(warehouse.published_path), read_only=True)
    return lambda: warehouse.connect(read_only=True)


def bench_lake(sizes: Sizes, extra: list[str], *, quick: bool = False) -> list[Row]:
    try:
        import psycopg2
    except ImportError:
        extra.append("lake: not measured, the `lake` extra is not installed")
        return []
    from psycopg2.extensions import make_dsn, parse_dsn

    server = os.environ.get(SERVER_ENV, DEFAULT_SERVER)
    try:
        admin = psycopg2.connect(server, connect_timeout=5)
    except psycopg2.Error as exc:
        extra.append(f"lake: not measured, no PostgreSQL at {server!r} ({str(exc).strip().splitlines()[0]})")
        return []
    admin.autocommit = True
    database = f"trackly_bench_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {database}")
    catalog = make_dsn(**{**{k: v for k, v in parse_dsn(server).items() if k != "password"}, "dbname": database})
    try:
        return _measure(sizes, extra, catalog, quick)
    finally:
        with closing(admin), admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _measure(sizes: Sizes, extra: list[str], catalog: str, quick: bool) -> list[Row]:
    import yaml

    from trackly_pipeline.config import load_config
    from trackly_pipeline.defs.build import build_definitions
    from trackly_pipeline.demo import demo_config
    from trackly_pipeline.sandbox import SandboxServer, SandboxWorld

    world = SandboxWorld.generate(
        seed=11, anchor=ANCHOR, history_days=20, conversions_per_network=sizes.dagster_conversions
    )
    tokens = {account.token_env_var: world.token_for(account.network_id) for account in world.networks}
    saved_env = dict(os.environ)
    os.environ.update(tokens)
    networks = [network.key for network in world.networks]
    try:
        with tempfile.TemporaryDirectory() as tmp, SandboxServer(world, port=0, rate_limit=(10**6, 1.0)) as server:
            projects = {}
            for backend, lake_catalog in (("duckdb", None), ("ducklake", catalog)):
                root = Path(tmp) / backend
                config = demo_config(world, server.api_url, lake_catalog=lake_catalog)
                for entry in config["networks"]:
                    entry["network_token_env"] = next(
                        n.token_env_var for n in world.networks if n.network_id == entry["network_id"]
                    )
                    entry["rate_limit_calls"] = 10**6
                root.mkdir()
                (root / "trackly.yaml").write_text(yaml.safe_dump(config))
                settings = load_config(root / "trackly.yaml")
                world.write_trackly_logs(Path(settings.clicks_glob).parent.parent)
                world.write_fx_rates(settings.fx_rates_path, settings.reporting_currency)
                projects[backend] = (root / "trackly.yaml", settings, build_definitions(settings))
            end = ANCHOR.replace(minute=0)
            # The first runs load the history and the logs: what is timed is the hourly run after
            # them. Quick mode (which only shows the benchmark works) warms what its rows need.
            for backend, (_, settings, defs) in projects.items():
                for key in networks if backend == "ducklake" or not quick else [HOURLY_NETWORK]:
                    _run(defs, settings, key, end)

            # Quick mode only shows the benchmark works: one of each.
            repeats = 1 if quick else sizes.repeats
            hourly = {
                backend: median_time(lambda d=defs, s=settings: _run(d, s, HOURLY_NETWORK, end), repeats)
                for backend, (_, settings, defs) in projects.items()
            }
            # The same hourly runs again, with an analyst querying every 100 ms meanwhile (apart from
            # the timed ones: on 2 cores the analyst's thread slows the run it watches): on the file,
            # its published copy (the file has one writer); on the lake, the lake.
            latency = {}
            for backend, (_, settings, defs) in projects.items():
                analyst = Analyst(analyst_connection(backend, settings.warehouse()))
                analyst.start()
                for _ in range(repeats):
                    _run(defs, settings, HOURLY_NETWORK, end)
                analyst.stop.set()
                analyst.join()
                if analyst.errors:
                    extra.append(
                        f"lake: the analyst on {backend} saw {len(analyst.errors)} errors: {analyst.errors[0]}"
                    )
                latency[backend] = analyst.times
            rows = [
                Row(
                    "lake: one network's hourly run (7-day sweep + attribution + rollups), DuckLake",
                    "s",
                    hourly["ducklake"],
                    "the same run on the DuckDB file",
                    hourly["duckdb"],
                    "(cost of the lake, no target)",
                    hourly["ducklake"] / hourly["duckdb"],
                    None,
                )
            ]
            for q in (50, 95):
                lake_q, file_q = percentile(latency["ducklake"], q), percentile(latency["duckdb"], q)
                rows.append(
                    Row(
                        f"lake: an analyst's query p{q} (connect + query) during an hourly run, DuckLake",
                        "s",
                        lake_q,
                        "the same on the DuckDB file's published copy",
                        file_q,
                        "(no target)",
                        lake_q / file_q,
                        None,
                    )
                )
            extra.append(
                "lake: analyst queries measured: " + ", ".join(f"{b} {len(times)}" for b, times in latency.items())
            )

            # Three networks: one after another, then at once, each run in a process of its own.
            config_path, settings, defs = projects["ducklake"]
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(len(networks), context, _child_init, (str(config_path), tokens)) as pool:

                def one_after_another():
                    for key in networks:
                        pool.submit(_child_run, key, end).result()

                def at_once():
                    list(pool.map(_child_run, networks, [end] * len(networks)))

                if not quick:
                    at_once()  # each process's first run: its imports and the extensions' first load
                sequential = median_time(one_after_another, repeats)
                concurrent = median_time(at_once, repeats)
            rows.append(
                Row(
                    f"lake: {len(networks)} networks' hourly runs at once (a process each)",
                    "s",
                    concurrent,
                    "the same runs one after another",
                    sequential,
                    "< 1 (runs overlap)",
                    concurrent / sequential,
                    concurrent < sequential,
                )
            )
            return rows
    finally:
        os.environ.clear()
        os.environ.update(saved_env)

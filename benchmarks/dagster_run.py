"""Benchmark 4, Dagster's overhead: a real scheduled tick run with execute_in_process against the
sandbox, against the same warehouse work called directly."""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.common import UTC, Sizes, median_time
from benchmarks.report import Row

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def bench_dagster(sizes: Sizes) -> Row:
    import dagster as dg
    import yaml

    from trackly_pipeline.config import load_config
    from trackly_pipeline.defs.build import build_definitions
    from trackly_pipeline.sandbox import SandboxServer, SandboxWorld
    from trackly_pipeline.tune import TuneClient
    from trackly_pipeline.warehouse.conversions import ConversionSweep
    from trackly_pipeline.warehouse.database import Warehouse, transaction
    from trackly_pipeline.warehouse.fx_rates import load_fx_rates
    from trackly_pipeline.warehouse.networks import write_networks
    from trackly_pipeline.warehouse.trackly_logs import load_log_files
    from trackly_pipeline.warehouse.transforms import attribute_window, rebuild_rollups

    anchor = datetime(2026, 11, 20, 12, tzinfo=UTC)
    world = SandboxWorld.generate(
        seed=11, anchor=anchor, history_days=20, conversions_per_network=sizes.dagster_conversions
    )
    saved_env = dict(os.environ)
    os.environ.update(world.token_env())
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            SandboxServer(world, port=0, rate_limit=(10**6, 1.0)) as server,
            ExitStack() as stack,
        ):
            root = Path(tmp)
            world.write_trackly_logs(root / "logs")
            world.write_fx_rates(root / "fx_rates.csv", "USD")
            network = world.networks[
                1
            ]  # bolt: offers sync daily, so an 11:05 tick is conversions + attribution + rollups

            def project(name: str):
                config = {
                    "warehouse": {"duckdb_path": f"{name}/trackly.duckdb"},
                    "trackly": {"clicks": "logs/clicks/*.parquet", "messages": "logs/messages/*.parquet"},
                    "fx_rates": "fx_rates.csv",
                    "reporting_currency": "USD",
                    "postback_base_url": "https://app.example.com",
                    "networks": [
                        {
                            "key": network.key,
                            "network_id": network.network_id,
                            "network_token_env": network.token_env_var,
                            "api_url": server.api_url,
                            "base_url": "https://track.example.com",
                            "affiliate_id": "2002",
                            "message_id_field": "aff_sub3",
                            "offer_sync": {"auto": True, "frequency": "daily"},
                            "rate_limit_calls": 10**6,
                        }
                    ],
                }
                path = root / f"{name}.yaml"
                path.write_text(yaml.safe_dump(config))
                return load_config(path)

            tick = anchor.replace(hour=11, minute=5)
            settings = project("dagster")
            defs = build_definitions(settings)
            repository = defs.get_repository_def()
            schedule = next(s for s in repository.schedule_defs if network.key in s.name)
            # The tick is evaluated on a persistent instance, as the daemon's (it asks the instance for the
            # network's unfinished runs); the run executes on an ephemeral one, as the row says: on a
            # SQLite instance its 336 per-hour events cost 20-25 s more on a slow disk (seen 2026-12-07),
            # which measures the disk, not Dagster's overhead.
            # Disposed before its folder goes: until then it is Dagster's current defs-state storage,
            # which a later benchmark's definitions would read from the deleted folder.
            (root / "dagster_home").mkdir()
            instance = stack.enter_context(dg.DagsterInstance.local_temp(str(root / "dagster_home")))

            def scheduled_run():
                context = dg.build_schedule_context(
                    instance=instance, scheduled_execution_time=tick, repository_def=repository
                )
                (request,) = schedule.evaluate_tick(context).run_requests
                job = repository.get_job(request.job_name or schedule.job_name)
                # Disposed after the run (`with`): an instance left to the garbage collector stays
                # Dagster's current defs-state storage, dead, for the next definitions loaded.
                with dg.DagsterInstance.ephemeral() as run_instance:
                    result = job.execute_in_process(
                        instance=run_instance,
                        tags=request.tags,
                        asset_selection=request.asset_selection,
                        run_config=QUIET,
                    )
                assert result.success

            direct_settings = project("direct")
            config = direct_settings.network(network.key)
            first_hour = tick.replace(minute=0) - timedelta(days=7)
            last_hour = tick.replace(minute=0)

            def direct_run():
                warehouse = Warehouse(direct_settings.duckdb_path)
                client = TuneClient(
                    config.network_id,
                    os.environ[network.token_env_var],
                    config.api_url,
                    affiliate_id=config.affiliate_id,
                    rate_limit=(10**6, 1.0),
                )
                now = datetime.now(UTC)
                with warehouse.connect() as conn:
                    sweep = ConversionSweep(conn, network.key, f"direct-{now.timestamp()}")
                    for page in client.iter_conversion_tables(first_hour, last_hour):
                        sweep.add_table(page.table, page.rejected)
                    with transaction(conn):
                        sweep.replace_window(first_hour, last_hour, now)
                    for kind, pattern in (
                        ("clicks", direct_settings.clicks_glob),
                        ("messages", direct_settings.messages_glob),
                    ):
                        with transaction(conn):
                            load_log_files(conn, kind, pattern, now)
                    with transaction(conn):
                        write_networks(
                            conn,
                            [
                                (
                                    network.key,
                                    config.network_id,
                                    config.message_id_field,
                                    config.default_currency,
                                    int(config.affiliate_id),
                                )
                            ],
                        )
                        load_fx_rates(conn, direct_settings.fx_rates_path)
                        attribute_window(
                            conn,
                            network=network.key,
                            message_id_field=config.message_id_field,
                            start=first_hour,
                            end=last_hour,
                            reporting_currency="USD",
                            attributed_at=now,
                        )
                    with transaction(conn):
                        rebuild_rollups(conn)
                    warehouse.publish(conn)

            scheduled_run()  # warm-up: the first run also loads every log file
            direct_run()
            value = median_time(scheduled_run, sizes.repeats)
            bound = median_time(direct_run, sizes.repeats)
            with Warehouse(settings.duckdb_path).connect(read_only=True) as conn:
                stored = conn.execute("SELECT count(*) FROM tune.conversions").fetchone()[0]
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    return Row(
        "Dagster: one scheduled hourly run (tick -> execute_in_process, launch to success)",
        "s",
        value,
        "same warehouse work called directly",
        bound,
        "(overhead, no target)",
        value / bound,
        None,
        [f"network {network.key}, 7-day window ({stored:,} conversions), ephemeral instance, sandbox over HTTP"],
    )

"""Performance, measured: each row is the pipeline's own code against a lower bound measured in the
same run on the same data, repeated, with medians and the ratio.

    ./run python -m benchmarks            # full mode (~3 min on 2 cores; the first run also
                                          # captures 1M conversions from the sandbox, cached in benchmarks/out)
    ./run python -m benchmarks --quick    # small sizes, < 60 s: proves the benchmark works

Prints a table and writes benchmarks/out/results.md.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
UTC = timezone.utc


@dataclass(frozen=True)
class Sizes:
    repeats: int
    conversions: int  # ingest: conversions captured from the sandbox
    page_size: int
    attr_conversions: int  # attribution: conversions in the 7-day window
    attr_clicks: int  # ... against this many clicks
    growth_clicks_per_day: int
    growth_conversions_per_day: int
    dagster_conversions: int  # per network, in the sandbox world of the Dagster row


FULL = Sizes(5, 1_000_000, 5_000, 1_000_000, 50_000_000, 60_000, 6_000, 3_000)
QUICK = Sizes(2, 20_000, 5_000, 10_000, 500_000, 2_000, 200, 300)


@dataclass
class Row:
    name: str
    unit: str
    value: float
    bound_name: str
    bound: float
    target: str
    ratio: float
    met: bool | None
    notes: list[str] = field(default_factory=list)


def median_time(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# ---- 1. ingest ------------------------------------------------------------------------------


def capture_pages(sizes: Sizes) -> tuple[Path, dict]:
    """Real Report::getConversions reply bytes, captured once over HTTP from the sandbox by the
    TUNE client itself (a recording session), one file per page. Cached in benchmarks/out."""
    directory = OUT / f"pages-{sizes.conversions}-{sizes.page_size}"
    meta_path = directory / "meta.json"
    if meta_path.exists():
        return directory, json.loads(meta_path.read_text())
    import requests

    from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SandboxServer, SandboxWorld
    from trackly_pipeline.tune import TuneClient

    network = DEFAULT_NETWORKS[0]
    world = SandboxWorld.generate(seed=7, conversions_per_network=sizes.conversions, networks=(network,))
    last = datetime.fromtimestamp(int(world.conversions(network.network_id).converted_at.max()), UTC)
    world.clock.set(last + timedelta(hours=1))
    start = world.anchor - timedelta(days=world.history_days + 2)
    end = world.clock.now() + timedelta(seconds=1)
    tmp = directory.with_name(directory.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    class Recording(requests.Session):
        count = 0

        def get(self, *args, **kwargs):
            reply = super().get(*args, **kwargs)
            if dict(kwargs["params"]).get("Method") != "getConversions":
                return reply  # Application::getTimezone
            Recording.count += 1
            (tmp / f"page-{Recording.count:05d}.json").write_bytes(reply.content)
            return reply

    with SandboxServer(world, port=0, rate_limit=(10**9, 1.0)) as server:
        client = TuneClient(network.network_id, world.token_for(network.network_id), server.api_url,
                            affiliate_id=network.affiliate_id, session=Recording(), rate_limit=(10**9, 1.0),
                            timeout=300)
        rows = sum(page.rows for page in client.iter_conversion_tables(start, end, page_size=sizes.page_size))
        zone = client.timezone
    meta = {"rows": rows, "pages": Recording.count, "timezone": zone, "network_id": network.network_id,
            "start": start.isoformat(), "end": end.isoformat(),
            "bytes": sum(p.stat().st_size for p in tmp.glob("page-*.json"))}
    (tmp / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)
    return directory, meta


class Replay:
    """A requests.Session stand-in answering Report::getConversions from captured bodies (no HTTP),
    so the client's own call path (envelope, paging, parsing) runs unchanged."""

    def __init__(self, bodies: Callable[[int], bytes]):
        self.bodies = bodies

    def get(self, url, params=None, timeout=None, stream=False, allow_redirects=True):
        page = int(dict(params)["page"])
        return _Reply(self.bodies(page))


@dataclass
class _Reply:
    """What the client reads of a streamed requests.Response."""

    content: bytes
    status_code: int = 200
    reason: str = "OK"
    headers: dict = field(default_factory=dict)
    raw: object = None  # what the client's deadline watchdog would shut; never fires here

    def iter_content(self, chunk_size: int):
        for offset in range(0, len(self.content), chunk_size):
            yield self.content[offset:offset + chunk_size]

    def close(self) -> None:
        pass


def pipeline_ingest(meta: dict, bodies: Callable[[int], bytes], db_path: Path) -> int:
    """The pipeline's path: TuneClient.iter_conversion_tables -> ConversionSweep.add_table, into a
    DuckDB file, as the conversions asset does it."""
    from trackly_pipeline.tune import TuneClient
    from trackly_pipeline.warehouse.conversions import ConversionSweep
    from trackly_pipeline.warehouse.database import Warehouse

    client = TuneClient(meta["network_id"], "benchmark-token", "http://replay.invalid/Apiv3/json",
                        timezone=meta["timezone"], session=Replay(bodies), rate_limit=(10**9, 1.0))
    with Warehouse(db_path).connect() as conn:
        sweep = ConversionSweep(conn, "acme", "benchmark")
        for page in client.iter_conversion_tables(datetime.fromisoformat(meta["start"]),
                                                  datetime.fromisoformat(meta["end"])):
            sweep.add_table(page.table, page.rejected)
        sweep.flush()
        staged = conn.execute("SELECT count(*) FROM staged_conversions").fetchone()[0]
    return staged


def ingest_child(directory: str) -> None:
    """Separate process: ingest the captured window reading each page from disk as it is asked for
    (as replies arrive from the network), and report the peak RSS."""
    directory_path = Path(directory)
    meta = json.loads((directory_path / "meta.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        rows = pipeline_ingest(meta, lambda n: (directory_path / f"page-{n:05d}.json").read_bytes(),
                               Path(tmp) / "ingest.duckdb")
    print(json.dumps({"rows": rows, "peak_mb": peak_rss_mb(),
                      "getrusage_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). getrusage's ru_maxrss survives fork + exec on Linux, so
    in a child of a big parent it reports the parent's size; VmHWM starts afresh at exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_ingest(sizes: Sizes) -> list[Row]:
    directory, meta = capture_pages(sizes)
    pages = [p.read_bytes() for p in sorted(directory.glob("page-*.json"))]
    rows = meta["rows"]

    def json_only():
        for body in pages:
            json.loads(body)

    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10**6))

        def pipeline():
            staged = pipeline_ingest(meta, lambda n: pages[n - 1], Path(tmp) / f"ingest-{next(counter)}.duckdb")
            assert staged == rows, (staged, rows)

        bound = median_time(json_only, sizes.repeats)
        value = median_time(pipeline, sizes.repeats)
    child = subprocess.run([sys.executable, "-m", "benchmarks.run", "--ingest-child", str(directory)],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["rows"] == rows
    per_second, bound_per_second = rows / value, rows / bound
    notes = [f"{rows:,} conversions in {meta['pages']} pages of {sizes.page_size:,}, "
             f"{meta['bytes'] / 1e6:,.0f} MB of sandbox replies"]
    return [
        Row("ingest: parse + load pages into DuckDB (iter_conversion_tables -> add_table)", "conversions/s",
            per_second, "json.loads of the same bytes", bound_per_second, ">= 200,000/s and within 3x",
            value / bound, per_second >= 200_000 and value / bound <= 3, notes),
        Row(f"ingest: peak RSS of a separate process ingesting the {rows:,}-conversion window", "MB",
            report["peak_mb"], "limit", 1536, "< 1.5 GB", report["peak_mb"] / 1536, report["peak_mb"] < 1536,
            [f"VmHWM of the child; its getrusage ru_maxrss said {report['getrusage_mb']:,.0f} MB, inherited "
             "from the parent across fork + exec"]),
    ]


# ---- 2 & 3. attribution, rollups and growth ---------------------------------------------------


def generate_history(conn, *, end: datetime, click_days: int, clicks: int, conversion_days: int,
                     conversions: int, messages: int) -> None:
    """Synthetic Trackly logs and TUNE conversions straight in DuckDB (range() and hash()).
    Clicks are spread over `click_days` before `end`, conversions over `conversion_days`; of the
    conversions 42% carry a click id in ad_id, 27% a click id in aff_sub, 20% a message id in
    aff_sub (one that was clicked), 11% nothing Trackly knows (the sandbox's shares); clicks come up to 2 days before
    their conversion."""
    params = {"end": end, "click_span": click_days * 86_400, "conv_span": conversion_days * 86_400,
              "clicks": clicks, "conversions": conversions, "messages": messages}
    _execute(conn, """
        INSERT INTO trackly.messages
        SELECT 'm' || lpad(to_hex(i), 7, '0'), (hash(i, 1) % 2000)::BIGINT, (hash(i, 2) % 100)::BIGINT, i, 1,
               $end - to_seconds((i * $click_span // $messages + 600)::BIGINT), 'history', i
        FROM range($messages) AS t(i)""", params)
    _execute(conn, """
        INSERT INTO trackly.clicks
        SELECT 'k' || lpad(to_hex(i), 11, '0'), 'l' || (i % 5000)::VARCHAR,
               'm' || lpad(to_hex(i * $messages // $clicks), 7, '0'), 'acmenet',
               (hash(i * $messages // $clicks, 4) % 300)::BIGINT,  -- a message promotes one offer
               $end - to_seconds((i * $click_span // $clicks)::BIGINT),
               '10.' || (i % 250)::VARCHAR || '.' || (i % 199)::VARCHAR || '.1', 'Mozilla/5.0 (iPhone)', 'history', i,
               1001
        FROM range($clicks) AS t(i)""", params)
    _execute(conn, """
        INSERT INTO tune.conversions
        SELECT 'acme', i, md5(i::VARCHAR), ts,
               CASE WHEN kind < 42 THEN 'k' || lpad(to_hex(click), 11, '0') END,
               (hash(click * $messages // $clicks, 4) % 300)::BIGINT, 1001, 0,  -- the clicked message's offer
               CASE WHEN i % 10 < 7 THEN 'approved' WHEN i % 10 < 9 THEN 'pending' ELSE 'rejected' END,
               52, i % 50 = 0, ((hash(i, 7) % 5000) / 100)::DECIMAL(18, 5), NULL, NULL, 'USD',
               CASE WHEN kind >= 42 AND kind < 69 THEN 'k' || lpad(to_hex(click), 11, '0')
                    WHEN kind >= 69 AND kind < 89 THEN 'm' || lpad(to_hex(click * $messages // $clicks), 7, '0')
                    ELSE 'sms' END,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ts, ts, NULL
        FROM (SELECT i, kind, $end - to_seconds(age) AS ts,
                     -- a click up to 2 days before the conversion (clicks are spaced evenly, newest first)
                     least((age + hash(i, 5) % 172800) * $clicks // $click_span, $clicks - 1)::BIGINT AS click
              FROM (SELECT i, (hash(i, 9) % 100)::INTEGER AS kind, (i * $conv_span // $conversions + 1)::BIGINT AS age
                    FROM range($conversions) AS t(i)))""", params)
    conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)")


def _execute(conn, sql: str, params: dict) -> None:
    """Run `sql` with the named parameters it uses (DuckDB refuses unused ones)."""
    import re

    conn.execute(sql, {key: value for key, value in params.items() if re.search(rf"\${key}\b", sql)})


def attribute_and_roll_up(conn, end: datetime) -> dict:
    from trackly_pipeline.warehouse.database import transaction
    from trackly_pipeline.warehouse.transforms import attribute_window, rebuild_rollups

    with transaction(conn):
        methods = attribute_window(conn, network="acme", message_id_field="aff_sub", start=end - timedelta(days=7),
                                   end=end, reporting_currency="USD", attributed_at=datetime.now(UTC))
        rebuild_rollups(conn)
    return methods


ROLLUP_OUTPUTS = ("attributed_conversions", "revenue_by_message", "revenue_by_creative", "revenue_by_offer")


def write_outputs_alone(conn) -> None:
    """Only the writes attribution + rollups must make: replace copies of their output rows in one
    committed transaction (delete, insert), with nothing computed."""
    conn.execute("BEGIN TRANSACTION")
    for name in ROLLUP_OUTPUTS:
        conn.execute(f"DELETE FROM output_floor.{name}")
        conn.execute(f"INSERT INTO output_floor.{name} SELECT * FROM analytics.{name}")
    conn.execute("COMMIT")


def bench_attribution(sizes: Sizes, notes_out: list[str]) -> list[Row]:
    from trackly_pipeline.warehouse.database import Warehouse

    end = datetime(2026, 11, 20, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        with Warehouse(Path(tmp) / "attribution.duckdb").connect() as conn:
            started = time.perf_counter()
            generate_history(conn, end=end, click_days=60, clicks=sizes.attr_clicks, conversion_days=7,
                             conversions=sizes.attr_conversions, messages=max(1, sizes.attr_clicks // 5))
            conn.execute("CHECKPOINT")
            generated = time.perf_counter() - started
            methods = attribute_and_roll_up(conn, end)  # warm-up (also checks the shares)
            value = median_time(lambda: attribute_and_roll_up(conn, end), sizes.repeats)
            join = "SELECT count(*) FROM tune.conversions AS c JOIN trackly.clicks AS k ON k.click_id = c.ad_id"
            bound = median_time(lambda: conn.execute(join).fetchone(), sizes.repeats)
            notes = [f"{sizes.attr_conversions:,} conversions x {sizes.attr_clicks:,} clicks (generated in "
                     f"{generated:.0f}s); methods {dict(sorted(methods.items()))}"]
            if value / bound > 2:
                notes_out.append(profile_attribution(conn, end))
            conn.execute("CREATE SCHEMA output_floor")
            for name in ROLLUP_OUTPUTS:
                conn.execute(f"CREATE TABLE output_floor.{name} AS SELECT * FROM analytics.{name} LIMIT 0")
            writes = median_time(lambda: write_outputs_alone(conn), sizes.repeats)
            counts = {name: conn.execute(f"SELECT count(*) FROM analytics.{name}").fetchone()[0] for name in ROLLUP_OUTPUTS}
    floor = writes + bound
    return [
        Row("attribution + rollups of a 7-day window (attribute_window + rebuild_rollups)", "s", value,
            "bare hash join conversions.ad_id = clicks.click_id", bound, "within 2x", value / bound,
            value / bound <= 2, notes),
        Row("attribution + rollups, against writing its output rows plus the bare join", "s", value,
            "write the same output rows + the bare join", floor, "no target: the floor", value / floor, None,
            [f"writing the output rows alone takes {writes:.3f} s ({writes / bound:.2f}x the bare join): "
             + ", ".join(f"{n:,} {name}" for name, n in counts.items())]),
    ]


def profile_attribution(conn, end: datetime) -> str:
    lines = statement_times(conn, end)
    lines.sort(reverse=True)
    return "attribution + rollups, slowest statements: " + "; ".join(f"{took:.2f}s {text}" for took, text in lines[:4])


class _TimedConnection:
    """Passes everything to the DuckDB connection and times each execute()."""

    def __init__(self, conn):
        self._conn = conn
        self.times: list[tuple[float, str]] = []

    def execute(self, statement, *args, **kwargs):
        started = time.perf_counter()
        result = self._conn.execute(statement, *args, **kwargs)
        self.times.append((time.perf_counter() - started, " ".join(str(statement).split())[:90]))
        return result

    def __getattr__(self, name):
        return getattr(self._conn, name)


def statement_times(conn, end: datetime) -> list[tuple[float, str]]:
    """Time each statement the pipeline's attribute_window + rebuild_rollups run (rolled back)."""
    from trackly_pipeline.warehouse.transforms import attribute_window, rebuild_rollups

    timed = _TimedConnection(conn)
    conn.execute("BEGIN TRANSACTION")
    try:
        attribute_window(timed, network="acme", message_id_field="aff_sub", start=end - timedelta(days=7), end=end,
                         reporting_currency="USD", attributed_at=datetime.now(UTC))
        rebuild_rollups(timed)
    finally:
        conn.execute("ROLLBACK")
    return timed.times


def hourly_run(warehouse, conn, end: datetime, clicks_dir: Path, hour_index: int, clicks_per_hour: int) -> None:
    """One hourly run's warehouse work: load the new hour of clicks, attribute the 7-day window,
    rebuild the rollups, publish the analysts' copy."""
    from trackly_pipeline.warehouse.database import transaction
    from trackly_pipeline.warehouse.trackly_logs import load_log_files

    hour = end + timedelta(hours=hour_index)
    path = clicks_dir / f"clicks-{hour_index:04d}.parquet"
    conn.execute(f"""
        COPY (SELECT 'n' || lpad(to_hex(i + {hour_index * 10**7}), 11, '0') AS click_id,
                     'm0000001' AS message_id, 'l1' AS link_id, 'acmenet' AS network_id, 7::BIGINT AS offer_id,
                     $hour::TIMESTAMPTZ + to_seconds((i * 3600 // {clicks_per_hour})::BIGINT) AS clicked_at,
                     '10.0.0.1' AS ip, 'Mozilla/5.0' AS user_agent
              FROM range({clicks_per_hour}) AS t(i)) TO '{path}' (FORMAT parquet)""", {"hour": hour})
    with transaction(conn):
        load_log_files(conn, "clicks", str(clicks_dir / "*.parquet"), datetime.now(UTC))
    attribute_and_roll_up(conn, hour + timedelta(hours=1))
    warehouse.publish(conn)


def bench_growth(sizes: Sizes, notes_out: list[str]) -> Row:
    from trackly_pipeline.warehouse.database import Warehouse

    end = datetime(2026, 11, 20, tzinfo=UTC)
    per_hour = max(1, sizes.growth_clicks_per_day // 24)
    results, profiles = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, days in (("1 month", 30), ("12 months", 365)):
            clicks_dir = Path(tmp) / f"clicks-{days}"
            clicks_dir.mkdir()
            warehouse = Warehouse(Path(tmp) / f"growth-{days}.duckdb")
            with warehouse.connect() as conn:
                generate_history(conn, end=end, click_days=days, clicks=sizes.growth_clicks_per_day * days,
                                 conversion_days=days, conversions=sizes.growth_conversions_per_day * days,
                                 messages=sizes.growth_clicks_per_day * days // 2)
                conn.execute("CHECKPOINT")
                hours = iter(range(1000))
                hourly_run(warehouse, conn, end, clicks_dir, next(hours), per_hour)  # warm-up, first publish
                results[label] = median_time(
                    lambda: hourly_run(warehouse, conn, end, clicks_dir, next(hours), per_hour), sizes.repeats)
                profiles[label] = statement_times(conn, end + timedelta(hours=next(hours)))
    ratio = results["12 months"] / results["1 month"]
    if ratio > 1.25:
        grew = sorted(((big[0] - small[0], big[0], small[0], big[1]) for big, small
                       in zip(profiles["12 months"], profiles["1 month"])), reverse=True)[:4]
        notes_out.append("growth, statements that grew most (12 months vs 1 month): " + "; ".join(
            f"+{d:.2f}s ({b:.2f}s vs {a:.2f}s) {text}" for d, b, a, text in grew))
    return Row("hourly run (new hour of clicks + 7-day attribution + rollups + publish), 12 months of history", "s",
               results["12 months"], "same with 1 month of history", results["1 month"], "<= 1.25", ratio,
               ratio <= 1.25, [f"{sizes.growth_clicks_per_day:,} clicks and {sizes.growth_conversions_per_day:,} "
                               f"conversions a day of history; {per_hour:,} clicks in the new hour"])


# ---- 4. Dagster overhead ------------------------------------------------------------------------


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
    world = SandboxWorld.generate(seed=11, anchor=anchor, history_days=20, conversions_per_network=sizes.dagster_conversions)
    saved_env = dict(os.environ)
    os.environ.update(world.token_env())
    try:
        with tempfile.TemporaryDirectory() as tmp, SandboxServer(world, port=0, rate_limit=(10**6, 1.0)) as server:
            root = Path(tmp)
            world.write_trackly_logs(root / "logs")
            world.write_fx_rates(root / "fx_rates.csv", "USD")
            network = world.networks[1]  # bolt: offers sync daily, so an 11:05 tick is conversions + attribution + rollups

            def project(name: str):
                config = {
                    "warehouse": {"duckdb_path": f"{name}/trackly.duckdb"},
                    "trackly": {"clicks": "logs/clicks/*.parquet", "messages": "logs/messages/*.parquet"},
                    "fx_rates": "fx_rates.csv", "reporting_currency": "USD",
                    "postback_base_url": "https://app.example.com",
                    "networks": [{"key": network.key, "network_id": network.network_id,
                                  "network_token_env": network.token_env_var, "api_url": server.api_url,
                                  "base_url": "https://track.example.com", "affiliate_id": "2002",
                                  "message_id_field": "aff_sub3", "offer_sync": {"auto": True, "frequency": "daily"},
                                  "rate_limit_calls": 10**6}],
                }
                path = root / f"{name}.yaml"
                path.write_text(yaml.safe_dump(config))
                return load_config(path)

            tick = anchor.replace(hour=11, minute=5)
            settings = project("dagster")
            defs = build_definitions(settings)
            repository = defs.get_repository_def()
            schedule = next(s for s in repository.schedule_defs if network.key in s.name)
            # A persistent instance, as the daemon's: the tick asks it for the network's unfinished runs.
            (root / "dagster_home").mkdir()
            instance = dg.DagsterInstance.local_temp(str(root / "dagster_home"))

            def scheduled_run():
                context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick,
                                                    repository_def=repository)
                (request,) = schedule.evaluate_tick(context).run_requests
                job = repository.get_job(request.job_name or schedule.job_name)
                result = job.execute_in_process(instance=instance, tags=request.tags,
                                                asset_selection=request.asset_selection, run_config=QUIET)
                assert result.success

            direct_settings = project("direct")
            config = direct_settings.network(network.key)
            first_hour = tick.replace(minute=0) - timedelta(days=7)
            last_hour = tick.replace(minute=0)

            def direct_run():
                warehouse = Warehouse(direct_settings.duckdb_path)
                client = TuneClient(config.network_id, os.environ[network.token_env_var], config.api_url,
                                    affiliate_id=config.affiliate_id, rate_limit=(10**6, 1.0))
                now = datetime.now(UTC)
                with warehouse.connect() as conn:
                    sweep = ConversionSweep(conn, network.key, f"direct-{now.timestamp()}")
                    for page in client.iter_conversion_tables(first_hour, last_hour):
                        sweep.add_table(page.table, page.rejected)
                    with transaction(conn):
                        sweep.replace_window(first_hour, last_hour, now)
                    for kind, pattern in (("clicks", direct_settings.clicks_glob),
                                          ("messages", direct_settings.messages_glob)):
                        with transaction(conn):
                            load_log_files(conn, kind, pattern, now)
                    with transaction(conn):
                        write_networks(conn, [(network.key, config.network_id, config.message_id_field,
                                               config.default_currency, int(config.affiliate_id))])
                        load_fx_rates(conn, direct_settings.fx_rates_path)
                        attribute_window(conn, network=network.key, message_id_field=config.message_id_field,
                                         start=first_hour, end=last_hour, reporting_currency="USD", attributed_at=now)
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
    return Row("Dagster: one scheduled hourly run (tick -> execute_in_process, launch to success)", "s", value,
               "same warehouse work called directly", bound, "(overhead, no target)", value / bound, None,
               [f"network {network.key}, 7-day window ({stored:,} conversions), ephemeral instance, sandbox over HTTP"])


# ---- report ---------------------------------------------------------------------------------------


def fmt(value: float, unit: str) -> str:
    if unit == "conversions/s":
        return f"{value:,.0f}/s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def table(rows: list[Row], mode: str, repeats: int, extra: list[str]) -> str:
    lines = [
        f"Mode: {mode}; medians of {repeats} runs; machine: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB; Python {sys.version.split()[0]}",
        "",
        "| measurement | value | lower bound (same run) | bound | ratio | target | met |",
        "| --- | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.name} | {fmt(row.value, row.unit)} | {row.bound_name} | {fmt(row.bound, row.unit)} | "
                     f"{row.ratio:.2f}x | {row.target} | {met} |")
    lines.append("")
    for row in rows:
        for note in row.notes:
            lines.append(f"- {row.name.split(':')[0]}: {note}")
    lines.extend(f"- {note}" for note in extra)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (< 60 s), to check the benchmark works")
    parser.add_argument("--only", choices=["ingest", "attribution", "growth", "dagster"], action="append")
    parser.add_argument("--ingest-child", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(OUT / "results.md"))
    args = parser.parse_args(argv)
    if args.ingest_child:
        ingest_child(args.ingest_child)
        return 0
    sizes = QUICK if args.quick else FULL
    OUT.mkdir(parents=True, exist_ok=True)
    chosen = args.only or ["ingest", "attribution", "growth", "dagster"]
    rows: list[Row] = []
    extra: list[str] = []
    started = time.perf_counter()
    for name in chosen:
        step = time.perf_counter()
        if name == "ingest":
            rows.extend(bench_ingest(sizes))
        elif name == "attribution":
            rows.extend(bench_attribution(sizes, extra))
        elif name == "growth":
            rows.append(bench_growth(sizes, extra))
        elif name == "dagster":
            rows.append(bench_dagster(sizes))
        print(f"[{name}: {time.perf_counter() - step:.0f}s]", file=sys.stderr, flush=True)
    extra.append(f"whole benchmark: {time.perf_counter() - started:.0f}s")
    text = table(rows, "quick" if args.quick else "full", sizes.repeats, extra)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

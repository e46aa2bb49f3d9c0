"""Benchmark 3, growth: one hourly run's warehouse work with 12 months of history, against the same
with 1 month."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.common import UTC, Sizes, median_time
from benchmarks.history import attribute_and_roll_up, generate_history, statement_times
from benchmarks.report import Row


def hourly_run(warehouse, conn, end: datetime, clicks_dir: Path, hour_index: int, clicks_per_hour: int) -> None:
    """One hourly run's warehouse work: load the new hour of clicks, attribute the 7-day window,
    rebuild the rollups, publish the analysts' copy."""
    from trackly_pipeline.warehouse.database import transaction
    from trackly_pipeline.warehouse.trackly_logs import load_log_files

    hour = end + timedelta(hours=hour_index)
    path = clicks_dir / f"clicks-{hour_index:04d}.parquet"
    conn.execute(
        f"""
        COPY (SELECT 'n' || lpad(to_hex(i + {hour_index * 10**7}), 11, '0') AS click_id,
                     'm0000001' AS message_id, 'l1' AS link_id, 'acmenet' AS network_id, 7::BIGINT AS offer_id,
                     $hour::TIMESTAMPTZ + to_seconds((i * 3600 // {clicks_per_hour})::BIGINT) AS clicked_at,
                     '10.0.0.1' AS ip, 'Mozilla/5.0' AS user_agent
              FROM range({clicks_per_hour}) AS t(i)) TO '{path}' (FORMAT parquet)""",
        {"hour": hour},
    )
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
                generate_history(
                    conn,
                    end=end,
                    click_days=days,
                    clicks=sizes.growth_clicks_per_day * days,
                    conversion_days=days,
                    conversions=sizes.growth_conversions_per_day * days,
                    messages=sizes.growth_clicks_per_day * days // 2,
                )
                conn.execute("CHECKPOINT")
                hours = iter(range(1000))
                hourly_run(warehouse, conn, end, clicks_dir, next(hours), per_hour)  # warm-up, first publish
                results[label] = median_time(
                    lambda: hourly_run(warehouse, conn, end, clicks_dir, next(hours), per_hour),  # noqa: B023 (called here)
                    sizes.repeats,
                )
                profiles[label] = statement_times(conn, end + timedelta(hours=next(hours)))
    ratio = results["12 months"] / results["1 month"]
    if ratio > 1.25:
        grew = sorted(
            (
                (big[0] - small[0], big[0], small[0], big[1])
                for big, small in zip(profiles["12 months"], profiles["1 month"])
            ),
            reverse=True,
        )[:4]
        notes_out.append(
            "growth, statements that grew most (12 months vs 1 month): "
            + "; ".join(f"+{d:.2f}s ({b:.2f}s vs {a:.2f}s) {text}" for d, b, a, text in grew)
        )
    return Row(
        "hourly run (new hour of clicks + 7-day attribution + rollups + publish), 12 months of history",
        "s",
        results["12 months"],
        "same with 1 month of history",
        results["1 month"],
        "<= 1.25",
        ratio,
        ratio <= 1.25,
        [
            f"{sizes.growth_clicks_per_day:,} clicks and {sizes.growth_conversions_per_day:,} "
            f"conversions a day of history; {per_hour:,} clicks in the new hour"
        ],
    )

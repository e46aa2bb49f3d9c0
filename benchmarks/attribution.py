"""Benchmark 2, attribution + rollups of a 7-day window, against the bare hash join it cannot do
without and against writing its output rows plus that join."""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path

from benchmarks.common import UTC, Sizes, median_time
from benchmarks.history import attribute_and_roll_up, generate_history, statement_times
from benchmarks.report import Row

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
    with tempfile.TemporaryDirectory() as tmp, Warehouse(Path(tmp) / "attribution.duckdb").connect() as conn:
        started = time.perf_counter()
        generate_history(
            conn,
            end=end,
            click_days=60,
            clicks=sizes.attr_clicks,
            conversion_days=7,
            conversions=sizes.attr_conversions,
            messages=max(1, sizes.attr_clicks // 5),
        )
        conn.execute("CHECKPOINT")
        generated = time.perf_counter() - started
        methods = attribute_and_roll_up(conn, end)  # warm-up (also checks the shares)
        value = median_time(lambda: attribute_and_roll_up(conn, end), sizes.repeats)
        join = "SELECT count(*) FROM tune.conversions AS c JOIN trackly.clicks AS k ON k.click_id = c.ad_id"
        bound = median_time(lambda: conn.execute(join).fetchone(), sizes.repeats)
        notes = [
            f"{sizes.attr_conversions:,} conversions x {sizes.attr_clicks:,} clicks (generated in "
            f"{generated:.0f}s); methods {dict(sorted(methods.items()))}"
        ]
        if value / bound > 2:
            notes_out.append(profile_attribution(conn, end))
        conn.execute("CREATE SCHEMA output_floor")
        for name in ROLLUP_OUTPUTS:
            conn.execute(f"CREATE TABLE output_floor.{name} AS SELECT * FROM analytics.{name} LIMIT 0")
        writes = median_time(lambda: write_outputs_alone(conn), sizes.repeats)
        counts = {name: conn.execute(f"SELECT count(*) FROM analytics.{name}").fetchone()[0] for name in ROLLUP_OUTPUTS}
    floor = writes + bound
    return [
        Row(
            "attribution + rollups of a 7-day window (attribute_window + rebuild_rollups)",
            "s",
            value,
            "bare hash join conversions.ad_id = clicks.click_id",
            bound,
            "within 2x",
            value / bound,
            value / bound <= 2,
            notes,
        ),
        Row(
            "attribution + rollups, against writing its output rows plus the bare join",
            "s",
            value,
            "write the same output rows + the bare join",
            floor,
            "no target: the floor",
            value / floor,
            None,
            [
                f"writing the output rows alone takes {writes:.3f} s ({writes / bound:.2f}x the bare join): "
                + ", ".join(f"{n:,} {name}" for name, n in counts.items())
            ],
        ),
    ]


def profile_attribution(conn, end: datetime) -> str:
    lines = statement_times(conn, end)
    lines.sort(reverse=True)
    return "attribution + rollups, slowest statements: " + "; ".join(f"{took:.2f}s {text}" for took, text in lines[:4])

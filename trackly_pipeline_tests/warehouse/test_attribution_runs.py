"""Attribution depends on the data only: not on how far back a run looks (hourly, wide sweep,
backfill), nor on the order the log files were loaded in. The sandbox world's planted cases (a
click id logged 40 days and 1 hour before its conversion, ids logged twice in one second) are what
would tell the runs apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trackly_pipeline.sandbox import SandboxWorld
from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.trackly_logs import load_log_files
from trackly_pipeline.warehouse.transforms import attribute_window, rebuild_rollups

pytestmark = pytest.mark.slow  # each test loads a sandbox world's logs and attributes weeks of them

ANCHOR = datetime(2026, 11, 20, 12, tzinfo=UTC)
NETWORK = "acme"
ATTRIBUTED = (
    "SELECT * EXCLUDE (attributed_at) FROM analytics.attributed_conversions "
    "WHERE converted_at >= $start AND converted_at < $end ORDER BY conversion_id"
)
ROLLUPS = {
    name: f"SELECT * FROM analytics.{name} ORDER BY ALL"
    for name in ("revenue_by_message", "revenue_by_creative", "revenue_by_offer")
}


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    return SandboxWorld.generate(seed=11, anchor=ANCHOR, history_days=20, conversions_per_network=400)


def write_logs_in_halves(world: SandboxWorld, directory: Path) -> None:
    """Each day's log in two files, rows alternating, so rows logged in the same second (the planted
    ties) sit in different files, and which file is loaded first could decide a tie."""
    for kind, frame, column in (
        ("clicks", world.clicks_frame(), "clicked_at"),
        ("messages", world.messages_frame(), "sent_at"),
    ):
        (directory / kind).mkdir(parents=True)
        days = frame[column].dt.strftime("%Y-%m-%d")
        for day, part in frame.groupby(days):
            for half, rows in (("a", part.iloc[0::2]), ("b", part.iloc[1::2])):
                rows.reset_index(drop=True).to_parquet(directory / kind / f"{kind}-{day}-{half}.parquet", index=False)


def network_id(world: SandboxWorld) -> str:
    return next(n.network_id for n in world.networks if n.key == NETWORK)


def store_conversions(conn, world: SandboxWorld) -> None:
    """The network's conversions as a sweep would leave them in tune.conversions."""
    truth = world.ground_truth_conversions(network_id(world))
    frame = truth.assign(
        network=NETWORK,
        payout=truth.payout.astype(str),
        revenue=truth.revenue.astype(str),
        sale_amount=truth.sale_amount.astype(str),
        first_seen_at=ANCHOR,
        last_seen_at=ANCHOR,
    )
    columns = [
        "network",
        "conversion_id",
        "converted_at",
        "ad_id",
        "offer_id",
        "status",
        "is_adjustment",
        "payout",
        "revenue",
        "sale_amount",
        "currency",
        "aff_sub",
        "first_seen_at",
        "last_seen_at",
    ]
    conn.register("truth_rows", frame[columns])
    conn.execute(
        "INSERT INTO tune.conversions BY NAME SELECT * REPLACE (payout::DECIMAL(18, 5) AS payout, "
        "revenue::DECIMAL(18, 5) AS revenue, sale_amount::DECIMAL(18, 5) AS sale_amount) FROM truth_rows"
    )
    conn.unregister("truth_rows")
    conn.execute(
        "INSERT INTO ops.networks VALUES ($network, $id, 'aff_sub', 'USD', 1001)",
        {"network": NETWORK, "id": network_id(world)},
    )


def attribute(conn, start: datetime, end: datetime) -> None:
    with transaction(conn):
        attribute_window(
            conn,
            network=NETWORK,
            message_id_field="aff_sub",
            start=start,
            end=end,
            reporting_currency="USD",
            attributed_at=end,
        )
        rebuild_rollups(conn)


def load(conn, directory: Path, patterns: list[str]) -> None:
    """Load the logs in steps: the files matching each pattern, in turn (each load keeps what earlier
    ones loaded only while the files are still matched, so the last pattern matches them all)."""
    for pattern in patterns:
        with transaction(conn):
            for kind in ("clicks", "messages"):
                load_log_files(conn, kind, str(directory / kind / pattern.format(kind=kind)), ANCHOR)


def test_hourly_wide_and_backfill_runs_write_identical_rows(world, tmp_path):
    write_logs_in_halves(world, tmp_path / "logs")
    week = (ANCHOR - timedelta(days=7), ANCHOR)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        load(conn, tmp_path / "logs", ["{kind}-*.parquet"])
        store_conversions(conn, world)
        params = {"start": week[0], "end": week[1]}

        attribute(conn, *week)  # the hourly run
        hourly = conn.execute(ATTRIBUTED, params).fetchall()
        attribute(conn, ANCHOR - timedelta(days=45), ANCHOR)  # the daily wide sweep
        assert conn.execute(ATTRIBUTED, params).fetchall() == hourly
        for day in range(7):  # a backfill, one day at a time
            attribute(conn, week[0] + timedelta(days=day), week[0] + timedelta(days=day + 1))
        assert conn.execute(ATTRIBUTED, params).fetchall() == hourly

        # The planted click id logged 40 days and 1 hour before its conversion: within the wide
        # sweep's reach, not the hourly run's; credited by both, from the row inside its own horizon.
        planted = world.hard_cases()
        twice = planted[
            (planted.network_key == NETWORK)
            & (planted.case == "click id logged twice, first beyond the lookup horizon")
        ]
        assert conn.execute(
            "SELECT attribution_method, message_id FROM analytics.attributed_conversions "
            "WHERE network = $network AND conversion_id = $id",
            {"network": NETWORK, "id": int(twice.conversion_id.iloc[0])},
        ).fetchall() == [("ad_id_click", twice.expected_message_id.iloc[0])]


def test_the_order_log_files_are_loaded_in_changes_nothing(world, tmp_path):
    write_logs_in_halves(world, tmp_path / "logs")
    results = []
    for order in (["{kind}-*-a.parquet", "{kind}-*.parquet"], ["{kind}-*-b.parquet", "{kind}-*.parquet"]):
        with Warehouse(tmp_path / f"w-{len(results)}.duckdb").connect() as conn:
            load(conn, tmp_path / "logs", order)
            store_conversions(conn, world)
            attribute(conn, ANCHOR - timedelta(days=7), ANCHOR)
            results.append(
                {
                    "attributed": conn.execute(
                        ATTRIBUTED, {"start": ANCHOR - timedelta(days=7), "end": ANCHOR}
                    ).fetchall(),
                    **{name: conn.execute(sql).fetchall() for name, sql in ROLLUPS.items()},
                }
            )
    assert results[0] == results[1]
    assert results[0]["attributed"] and results[0]["revenue_by_creative"]


def test_log_rows_an_older_version_loaded_without_their_position_are_loaded_again(world, tmp_path):
    """Rows of a version before source_row have it NULL, and ties among them would fall back to load
    order: the next load reads their files again, and attribution is what a fresh load gives."""
    write_logs_in_halves(world, tmp_path / "logs")
    week = {"start": ANCHOR - timedelta(days=7), "end": ANCHOR}
    with Warehouse(tmp_path / "fresh.duckdb").connect() as conn:
        load(conn, tmp_path / "logs", ["{kind}-*.parquet"])
        store_conversions(conn, world)
        attribute(conn, week["start"], week["end"])
        fresh = conn.execute(ATTRIBUTED, week).fetchall()
    with Warehouse(tmp_path / "upgraded.duckdb").connect() as conn:
        load(conn, tmp_path / "logs", ["{kind}-*.parquet"])
        counts = [
            conn.execute(f"SELECT count(*) FROM trackly.{kind}").fetchall()[0][0] for kind in ("clicks", "messages")
        ]
        for kind in ("clicks", "messages"):
            conn.execute(f"UPDATE trackly.{kind} SET source_row = NULL")
        load(conn, tmp_path / "logs", ["{kind}-*.parquet"])
        assert [
            conn.execute(f"SELECT count(*), count(source_row) FROM trackly.{kind}").fetchall()[0]
            for kind in ("clicks", "messages")
        ] == [(n, n) for n in counts]
        store_conversions(conn, world)
        attribute(conn, week["start"], week["end"])
        assert conn.execute(ATTRIBUTED, week).fetchall() == fresh

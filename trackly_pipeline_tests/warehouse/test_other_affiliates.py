"""A warehouse written before sweeps asked TUNE for our affiliate's conversions only holds every
partner's, over its whole history: the first sweep under a configured affiliate id forgets the others
(with their attributed rows), says so in the ledger, rebuilds their days, and does it once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from trackly_pipeline.tune.conversion_schema import CONVERSION_SCHEMA
from trackly_pipeline.warehouse.conversions import ConversionSweep, WindowStats
from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.transforms import attribute_window, rebuild_rollups
from trackly_pipeline_tests.warehouse.test_ledger_moves import conversion as ledger_conversion

UTC = UTC
OURS, THEIRS = 1001, 4242
OLD_DAY = datetime(2026, 8, 3, 12, tzinfo=UTC)  # far outside any sweep window to come
WINDOW_END = datetime(2026, 11, 8, tzinfo=UTC)


def conversion(conversion_id: int, converted_at: datetime, affiliate_id: int, payout: str = "10") -> dict:
    return {**ledger_conversion(conversion_id, converted_at, payout=payout), "affiliate_id": affiliate_id}


def sweep(
    conn, rows: list[dict], start: datetime, end: datetime, seen_at: datetime, affiliate_id: int | None
) -> WindowStats:
    loader = ConversionSweep(conn, "acme", f"sync-{seen_at:%m%d%H}", affiliate_id)
    loader.add_table(pa.Table.from_pylist(rows, schema=CONVERSION_SCHEMA))
    with transaction(conn):
        return loader.replace_window(start, end, seen_at)


def attribute_and_roll_up(conn, start: datetime, end: datetime) -> None:
    with transaction(conn):
        attribute_window(
            conn,
            network="acme",
            message_id_field="aff_sub",
            start=start,
            end=end,
            reporting_currency="USD",
            attributed_at=end,
        )
        rebuild_rollups(conn)


def test_the_first_sweep_for_our_affiliate_forgets_the_others_history_once(tmp_path):
    recent = WINDOW_END - timedelta(days=2)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)").fetchall()
        # Before: an unfiltered backfill of both periods stored both affiliates' conversions.
        for start, end, rows in (
            (
                OLD_DAY - timedelta(days=1),
                OLD_DAY + timedelta(days=1),
                [conversion(1, OLD_DAY, OURS), conversion(2, OLD_DAY, THEIRS, "500")],
            ),
            (
                WINDOW_END - timedelta(days=7),
                WINDOW_END,
                [conversion(3, recent, OURS), conversion(4, recent, THEIRS, "300")],
            ),
        ):
            sweep(conn, rows, start, end, end, affiliate_id=None)
            attribute_and_roll_up(conn, start, end)
        assert conn.execute("SELECT sum(revenue) FROM analytics.revenue_by_offer").fetchall() == [(820,)]

        # The first sweep that asks TUNE for ours only: TUNE returns conversion 3 alone.
        seen = WINDOW_END + timedelta(hours=1)
        stats = sweep(conn, [conversion(3, recent, OURS)], WINDOW_END - timedelta(days=7), WINDOW_END, seen, OURS)
        assert (stats.other_affiliates, stats.vanished, stats.unchanged) == (2, 0, 1)
        attribute_and_roll_up(conn, WINDOW_END - timedelta(days=7), WINDOW_END)

        assert conn.execute("SELECT conversion_id FROM tune.conversions ORDER BY 1").fetchall() == [(1,), (3,)]
        assert conn.execute("SELECT conversion_id FROM analytics.attributed_conversions ORDER BY 1").fetchall() == [
            (1,),
            (3,),
        ]
        # The old day outside every window is rolled up again: only our 10 is left on it.
        revenue = conn.execute("SELECT day, sum(revenue) FROM analytics.revenue_by_offer GROUP BY day").fetchall()
        assert dict(revenue) == {OLD_DAY.date(): 10, recent.date(): 10}
        assert conn.execute(
            "SELECT conversion_id, change FROM tune.conversion_changes WHERE seen_at = $seen ORDER BY 1", {"seen": seen}
        ).fetchall() == [(2, "other_affiliate"), (4, "other_affiliate")]
        assert conn.execute("SELECT count(*) FROM tune.conversions_as_of(now())").fetchall() == [(2,)]
        assert conn.execute("SELECT network, affiliate_id FROM ops.network_affiliates").fetchall() == [("acme", OURS)]

        # Once: a later sweep does not look through the history again.
        later = sweep(
            conn,
            [conversion(3, recent, OURS)],
            WINDOW_END - timedelta(days=7),
            WINDOW_END,
            seen + timedelta(hours=1),
            OURS,
        )
        assert later.other_affiliates == 0
        assert conn.execute("SELECT since FROM ops.network_affiliates").fetchall() == [(seen,)]  # not read again


def test_a_conversion_tune_now_credits_to_us_is_kept_with_its_history(tmp_path):
    recent = WINDOW_END - timedelta(days=2)
    start = WINDOW_END - timedelta(days=7)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        first = sweep(conn, [conversion(5, recent, THEIRS)], start, WINDOW_END, WINDOW_END, affiliate_id=None)
        assert first.new == 1
        seen = WINDOW_END + timedelta(hours=1)
        stats = sweep(conn, [conversion(5, recent, OURS)], start, WINDOW_END, seen, OURS)
        assert (stats.other_affiliates, stats.new, stats.unchanged) == (0, 0, 1)
        assert conn.execute("SELECT affiliate_id, first_seen_at FROM tune.conversions").fetchall() == [
            (OURS, WINDOW_END)
        ]
        assert conn.execute("SELECT change FROM tune.conversion_changes ORDER BY seen_at").fetchall() == [("new",)]
        assert conn.execute("SELECT conversion_id FROM tune.conversions_as_of(now())").fetchall() == [(5,)]


def test_the_day_an_unrefreshed_attribution_put_it_on_is_rolled_up_again(tmp_path):
    """TUNE moved another affiliate's conversion to a new day, and that window was swept but not yet
    attributed when the filtered sweeps began: its attributed row, on the old day, goes too."""
    moved_to = WINDOW_END - timedelta(days=2)
    old_window = (OLD_DAY - timedelta(days=1), OLD_DAY + timedelta(days=1))
    new_window = (WINDOW_END - timedelta(days=7), WINDOW_END)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)").fetchall()
        sweep(
            conn,
            [conversion(1, OLD_DAY, OURS), conversion(2, OLD_DAY, THEIRS, "500")],
            *old_window,
            old_window[1],
            affiliate_id=None,
        )
        attribute_and_roll_up(conn, *old_window)
        sweep(conn, [conversion(2, moved_to, THEIRS, "500")], *new_window, WINDOW_END, affiliate_id=None)
        conn.execute("DELETE FROM ops.publish_pending").fetchall()  # as a publish leaves it

        stats = sweep(conn, [], *new_window, WINDOW_END + timedelta(hours=1), OURS)
        assert stats.other_affiliates == 1
        attribute_and_roll_up(conn, *new_window)
        assert conn.execute("SELECT day, sum(revenue) FROM analytics.revenue_by_offer GROUP BY day").fetchall() == [
            (OLD_DAY.date(), 10)
        ]
        assert conn.execute(
            "SELECT count(*) FROM ops.publish_pending WHERE table_name = "
            "'analytics.attributed_conversions' AND month = $m",
            {"m": OLD_DAY.date().replace(day=1)},
        ).fetchall() == [(1,)]

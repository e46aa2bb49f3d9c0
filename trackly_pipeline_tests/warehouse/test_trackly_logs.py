"""Loading Trackly's log files marks exactly the days their rows fall on for the rollups, and (for
the published messages) their months for the analysts' copy; a file gone again marks them again."""
from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb
import pytest

from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.trackly_logs import load_log_files

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


def write_messages(path, sent_at: list[str]) -> None:
    values = ", ".join(f"('m{n:07d}', 1, 2, 3, 4, TIMESTAMPTZ '{moment}')" for n, moment in enumerate(sent_at))
    duckdb.sql(
        f"SELECT * FROM (VALUES {values}) AS t(message_id, creative_id, campaign_id, contact_id, sending_list_id, sent_at)"
    ).write_parquet(str(path))


def marks(conn) -> tuple[list, list]:
    days = conn.execute("SELECT day, reason FROM ops.dirty_days ORDER BY ALL").fetchall()
    months = conn.execute("SELECT table_name, month FROM ops.publish_pending ORDER BY ALL").fetchall()
    conn.execute("DELETE FROM ops.dirty_days; DELETE FROM ops.publish_pending")
    return days, months


def test_days_and_months_of_loaded_and_removed_files(tmp_path):
    logs = tmp_path / "messages"
    logs.mkdir()
    write_messages(logs / "a.parquet", ["2026-10-31 23:30:00+00", "2026-11-01 00:30:00+00", "2026-11-01 09:00:00+00"])
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        assert load_log_files(conn, "messages", str(logs / "*.parquet"), NOW).rows_loaded == 3
        assert marks(conn) == (
            [(date(2026, 10, 31), "trackly.messages"), (date(2026, 11, 1), "trackly.messages")],
            [("trackly.messages", date(2026, 10, 1)), ("trackly.messages", date(2026, 11, 1))],
        )
        assert load_log_files(conn, "messages", str(logs / "*.parquet"), NOW).files_loaded == 0
        assert marks(conn) == ([], [])

        (logs / "a.parquet").unlink()
        write_messages(logs / "b.parquet", ["2026-11-20 12:00:00+00"])
        load_log_files(conn, "messages", str(logs / "*.parquet"), NOW)
        days, months = marks(conn)
        assert days == [(date(2026, 10, 31), "trackly.messages"), (date(2026, 11, 1), "trackly.messages"),
                        (date(2026, 11, 20), "trackly.messages")]
        assert sorted(set(months)) == [("trackly.messages", date(2026, 10, 1)), ("trackly.messages", date(2026, 11, 1))]


def test_clicks_mark_days_but_no_months(tmp_path):
    logs = tmp_path / "clicks"
    logs.mkdir()
    duckdb.sql(
        "SELECT 'k1' AS click_id, 'm0000001' AS message_id, 'l1' AS link_id, 'acmenet' AS network_id, "
        "7::BIGINT AS offer_id, TIMESTAMPTZ '2026-11-02 03:00:00+00' AS clicked_at, '10.0.0.1' AS ip, 'UA' AS user_agent"
    ).write_parquet(str(logs / "c.parquet"))
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        load_log_files(conn, "clicks", str(logs / "*.parquet"), NOW)
        assert marks(conn) == ([(date(2026, 11, 2), "trackly.clicks")], [])  # the click log is not published


def test_a_file_whose_name_duckdb_would_read_as_a_pattern_is_refused_before_anything_is_loaded(tmp_path):
    logs = tmp_path / "messages"
    logs.mkdir()
    for name in ("m_1.parquet", "m_2.parquet", "m_?.parquet"):
        write_messages(logs / name, ["2026-11-20 12:00:00+00"])
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        with pytest.raises(ValueError, match=r"m_\?\.parquet: a log file's path must not contain"):
            load_log_files(conn, "messages", str(logs / "*.parquet"), NOW)
        assert conn.execute("SELECT count(*) FROM trackly.messages").fetchone()[0] == 0
        assert marks(conn) == ([], [])

        (logs / "m_?.parquet").rename(logs / "m_3.parquet")
        assert load_log_files(conn, "messages", str(logs / "*.parquet"), NOW).rows_loaded == 3


def test_sends_at_infinite_or_far_times_load_and_count_on_their_own_day(tmp_path):
    """Log rows with times no Python date can hold are kept and counted, never a crash or a gap."""
    from trackly_pipeline.warehouse.transforms import rebuild_rollups

    logs = tmp_path / "messages"
    logs.mkdir()
    write_messages(logs / "a.parquet", ["-infinity", "2026-11-02 10:00:00+00", "20000-01-02 10:00:00+00", "infinity"])
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        assert load_log_files(conn, "messages", str(logs / "*.parquet"), NOW).rows_loaded == 4
        rebuild_rollups(conn)
        sends = conn.execute("SELECT day::VARCHAR, sends FROM analytics.revenue_by_creative ORDER BY day").fetchall()
    assert sends == [("-infinity", 1), ("2026-11-02", 1), ("20000-01-02", 1), ("infinity", 1)]


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_a_click_log_may_carry_the_affiliate_id_and_one_without_it_still_loads(tmp_path, suffix):
    """`affiliate_id` (the TUNE account the tracking link was built for) is optional: loaded when the
    file has it, NULL for every row of a file without it, in either format."""
    logs = tmp_path / "clicks"
    logs.mkdir()
    click = ("SELECT '{id}' AS click_id, 'm0000001' AS message_id, 'l1' AS link_id, 'acmenet' AS network_id, "
             "7::BIGINT AS offer_id, TIMESTAMPTZ '2026-11-02 03:00:00+00' AS clicked_at, '10.0.0.1' AS ip, "
             "'UA' AS user_agent")
    without, carrying = duckdb.sql(click.format(id="k1")), duckdb.sql(click.format(id="k2") + ", 1002 AS affiliate_id")
    for name, relation in (("old", without), ("new", carrying)):
        path = str(logs / f"{name}.{suffix}")
        relation.write_parquet(path) if suffix == "parquet" else relation.write_csv(path)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        assert load_log_files(conn, "clicks", str(logs / f"*.{suffix}"), NOW).rows_loaded == 2
        assert conn.execute("SELECT click_id, offer_id, affiliate_id, source_row FROM trackly.clicks "
                            "ORDER BY click_id").fetchall() == [("k1", 7, None, 0), ("k2", 7, 1002, 0)]

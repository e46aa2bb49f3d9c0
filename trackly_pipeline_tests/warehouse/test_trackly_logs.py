"""Loading Trackly's log files marks exactly the days their rows fall on for the rollups, and (for
the published messages) their months for the analysts' copy; a file gone again marks them again."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import duckdb
import pytest

from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.trackly_logs import load_log_files

NOW = datetime(2026, 11, 28, tzinfo=UTC)


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
        assert days == [
            (date(2026, 10, 31), "trackly.messages"),
            (date(2026, 11, 1), "trackly.messages"),
            (date(2026, 11, 20), "trackly.messages"),
        ]
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
    click = (
        "SELECT '{id}' AS click_id, 'm0000001' AS message_id, 'l1' AS link_id, 'acmenet' AS network_id, "
        "7::BIGINT AS offer_id, TIMESTAMPTZ '2026-11-02 03:00:00+00' AS clicked_at, '10.0.0.1' AS ip, "
        "'UA' AS user_agent"
    )
    without, carrying = duckdb.sql(click.format(id="k1")), duckdb.sql(click.format(id="k2") + ", 1002 AS affiliate_id")
    for name, relation in (("old", without), ("new", carrying)):
        path = str(logs / f"{name}.{suffix}")
        relation.write_parquet(path) if suffix == "parquet" else relation.write_csv(path)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        assert load_log_files(conn, "clicks", str(logs / f"*.{suffix}"), NOW).rows_loaded == 2
        assert conn.execute(
            "SELECT click_id, offer_id, affiliate_id, source_row FROM trackly.clicks ORDER BY click_id"
        ).fetchall() == [("k1", 7, None, 0), ("k2", 7, 1002, 0)]


MESSAGE_HEADER = "message_id,creative_id,campaign_id,contact_id,sending_list_id,sent_at"
GOOD_ROW = "m0000001,1,2,3,4,2026-11-02 10:00:00+00"


def write_parquet(path, sql: str) -> None:
    duckdb.sql(sql).write_parquet(str(path))


def duplicated_parquet_columns(path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = [
        pa.array(["m0000001"]),
        *(pa.array([n]) for n in (1, 2, 3, 4)),
        pa.array([datetime(2026, 11, 2, 10, tzinfo=UTC)]),
        pa.array([9]),
    ]
    names = ["message_id", "creative_id", "campaign_id", "contact_id", "sending_list_id", "sent_at", "creative_id"]
    pq.write_table(pa.table(values, names=names), path)


SENDS = (
    "SELECT 'm0000001' AS message_id, 1 AS creative_id, 2 AS campaign_id, 3 AS contact_id, 4 AS sending_list_id, "
    "TIMESTAMPTZ '2026-11-02 10:00:00+00' AS sent_at"
)
BAD_FILES = {
    # name: (write it, what the error says after the path)
    "missing.csv": (
        lambda p: p.write_text(
            "message_id,creative_id,campaign_id,contact_id,sent_at\nm0000001,1,2,3,2026-11-02 10:00:00+00\n"
        ),
        "lacks the column sending_list_id (a messages log needs message_id, creative_id,",
    ),
    "missing.parquet": (
        lambda p: write_parquet(p, SENDS.replace(", 4 AS sending_list_id", "")),
        "lacks the column sending_list_id",
    ),
    "wrong_type.csv": (
        lambda p: p.write_text(f"{MESSAGE_HEADER}\n{GOOD_ROW}\nm0000002,seven,2,3,4,2026-11-02 11:00:00\n"),
        "column creative_id, data row 2: 'seven' cannot be stored as BIGINT",
    ),
    "wrong_type.parquet": (
        lambda p: write_parquet(p, SENDS.replace("1 AS creative_id", "'seven' AS creative_id")),
        "column creative_id, data row 1: 'seven' cannot be stored as BIGINT",
    ),
    "wrong_time.csv": (
        lambda p: p.write_text(f"{MESSAGE_HEADER}\nm0000001,1,2,3,4,yesterday\n"),
        "column sent_at, data row 1: 'yesterday' cannot be stored as TIMESTAMP WITH TIME ZONE",
    ),
    "no_id.csv": (
        lambda p: p.write_text(f"{MESSAGE_HEADER}\n{GOOD_ROW}\n,1,2,3,4,2026-11-02 10:00:00+00\n"),
        "column message_id, data row 2: empty, and every messages row needs a message_id",
    ),
    "empty.csv": (lambda p: p.write_text(""), "is empty (0 bytes): a CSV log file needs at least its header"),
    "empty.parquet": (lambda p: p.write_bytes(b""), "is empty (0 bytes): a Parquet log file needs at least its footer"),
    "not_parquet.parquet": (
        lambda p: p.write_text(f"{MESSAGE_HEADER}\n{GOOD_ROW}\n"),
        "cannot be read as a Parquet file: ",
    ),
    "ragged.csv": (
        lambda p: p.write_text(f"{MESSAGE_HEADER}\n{GOOD_ROW}\nm0000002,1,2\n"),
        "its rows could not be read as one table (DuckDB found a single column",
    ),
    # the issue: a duplicated header loaded silently (the first column's values, the second's dropped)
    "twice.csv": (
        lambda p: p.write_text(f"creative_id,{MESSAGE_HEADER}\n9,{GOOD_ROW}\n"),
        "names the column creative_id twice ('creative_id' and 'creative_id')",
    ),
    "twice_in_another_case.csv": (
        lambda p: p.write_text(f"{MESSAGE_HEADER},Creative_ID\n{GOOD_ROW},9\n"),
        "names the column creative_id twice ('creative_id' and 'Creative_ID')",
    ),
    "twice.parquet": (duplicated_parquet_columns, "names the column creative_id twice"),
    "own_position.csv": (
        lambda p: p.write_text(f"{MESSAGE_HEADER},source_row\n{GOOD_ROW},77\n"),
        "has a column named source_row, a name the loader gives each row's position",
    ),
}


def refused(conn, pattern: str) -> BaseException:
    """The load's error, in its transaction. Any exception is caught, so that on a loader without
    LogFileError the test fails on what the message says (callers check the type last)."""
    with pytest.raises(Exception) as error, transaction(conn):
        load_log_files(conn, "messages", pattern, NOW)
    return error.value


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_file_that_cannot_be_loaded_is_named_and_nothing_is_loaded(tmp_path, name):
    """Each error starts with the file's path and says what is wrong with it; the load's transaction
    leaves trackly.messages and ops.loaded_files as they were, with the good file beside it too."""
    logs = tmp_path / "messages"
    logs.mkdir()
    (logs / "a_good.csv").write_text(f"{MESSAGE_HEADER}\n{GOOD_ROW}\n")
    write, expected = BAD_FILES[name]
    write(logs / name)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        error = refused(conn, str(logs / "*"))
        message = str(error)
        assert message.startswith(f"{logs / name}: {expected}"), message
        assert "Nothing was loaded into trackly.messages: a file that cannot be loaded stops the load" in message
        assert type(error).__name__ == "LogFileError"
        assert conn.execute("SELECT count(*) FROM trackly.messages").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM ops.loaded_files").fetchone()[0] == 0

        (logs / name).unlink()  # moved away: the next load takes the rest
        assert load_log_files(conn, "messages", str(logs / "*"), NOW).rows_loaded == 1


def test_one_error_names_every_bad_file_and_earlier_loads_stay(tmp_path):
    """One bad file stops the load of every new or changed file of that log (attribution must not
    run on a log with a hole in it); the error names all the bad files it can see before loading."""
    logs = tmp_path / "messages"
    logs.mkdir()
    write_messages(logs / "a.parquet", ["2026-11-01 10:00:00+00"])
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        assert load_log_files(conn, "messages", str(logs / "*"), NOW).rows_loaded == 1
        write_messages(logs / "b.parquet", ["2026-11-02 10:00:00+00"])
        (logs / "c.csv").write_text("")
        (logs / "d.csv").write_text(f"{MESSAGE_HEADER},sent_at\n{GOOD_ROW},x\n")
        marks(conn)
        lines = str(refused(conn, str(logs / "*"))).splitlines()
        assert [line.split(": ")[0] for line in lines[:2]] == [str(logs / "c.csv"), str(logs / "d.csv")]
        assert conn.execute("SELECT source_file FROM trackly.messages").fetchall() == [(str(logs / "a.parquet"),)]
        assert marks(conn) == ([], [])

        (logs / "c.csv").unlink()
        (logs / "d.csv").unlink()
        assert load_log_files(conn, "messages", str(logs / "*"), NOW).rows_loaded == 1


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("header_only.csv", f"{MESSAGE_HEADER}\n"),
        ("comment_first.csv", f"# exported by Trackly\n{MESSAGE_HEADER}\n{GOOD_ROW}\n"),
        ("bom.csv", f"\ufeff{MESSAGE_HEADER}\n{GOOD_ROW}\n"),
    ],
)
def test_files_with_a_header_and_no_rows_or_a_comment_line_load(tmp_path, name, text):
    logs = tmp_path / "messages"
    logs.mkdir()
    (logs / name).write_text(text)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        assert load_log_files(conn, "messages", str(logs / "*"), NOW).rows_loaded == text.count("m0000001")


def test_the_warehouses_own_files_reached_through_a_symlink_are_refused(tmp_path):
    """config.py refuses a glob that can match the analysts' copy's month files by its name; a
    symlink under a wildcard hides them from that check, so the loader checks real paths too."""
    logs = tmp_path / "logs"
    (logs / "messages").mkdir(parents=True)
    write_messages(logs / "messages" / "a.parquet", ["2026-11-01 10:00:00+00"])
    warehouse = Warehouse(tmp_path / "data" / "w.duckdb")
    with warehouse.connect() as conn:
        load_log_files(conn, "messages", str(logs / "*" / "*.parquet"), NOW)
        warehouse.publish(conn)
        (logs / "published").symlink_to(warehouse.published_parts_folder / "trackly.messages")
        message = str(refused(conn, str(logs / "*" / "*.parquet")))
        assert re.match(
            r".*/logs/published/2026-11\.[^ ]+\.parquet: is the analysts' copy's month files "
            r"\(w_analytics\.parts/trackly\.messages/<month>\.parquet\), written by the pipeline",
            message,
        )
        assert conn.execute("SELECT count(*) FROM trackly.messages").fetchone()[0] == 1

"""A warehouse file written by another version of the pipeline: new trailing columns are added by
themselves and the rows kept; any other difference is refused, naming the table and column, before
a transform could insert values into the wrong columns."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.schema import SchemaMismatchError, declared_columns, string_literal

UTC = UTC


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as conn:
        conn.execute(
            "INSERT INTO ops.sync_log VALUES ('s1', 'acme', 'conversions', NULL, NULL, now(), now(), 1.5, "
            "2, 10, 0, 'failed', 'TUNE said no', NULL, NULL)"
        )
    return warehouse


def as_older_version(warehouse: Warehouse, *statements: str) -> None:
    """Change the file the way an older (or newer) pipeline version would have left it. The raw
    connection does not run the schema, as an older version's file has not met this one yet."""
    import duckdb

    with duckdb.connect(str(warehouse.path)) as raw:
        for statement in statements:
            raw.execute(statement)


def columns(warehouse: Warehouse, table: str) -> list[str]:
    with warehouse.connect(read_only=True) as conn:
        return [
            row[0]
            for row in conn.execute(
                f"SELECT column_name FROM duckdb_columns() WHERE database_name = "
                f"'warehouse' AND schema_name || '.' || table_name = '{table}' "
                "ORDER BY column_index"
            ).fetchall()
        ]


# ops.sync_log as a version before its last three columns left it.
WITHOUT_ERROR = (
    "ALTER TABLE ops.sync_log DROP COLUMN present_at",
    "ALTER TABLE ops.sync_log DROP COLUMN held",
    "ALTER TABLE ops.sync_log DROP COLUMN error",
)


def test_a_missing_trailing_column_is_added_and_the_rows_are_kept(warehouse):
    as_older_version(warehouse, *WITHOUT_ERROR)
    assert "error" not in columns(warehouse, "ops.sync_log")

    with warehouse.connect() as conn:
        rows = conn.execute("SELECT sync_id, status, error FROM ops.sync_log").fetchall()
    assert rows == [("s1", "failed", None)]
    assert columns(warehouse, "ops.sync_log") == [column.name for column in declared_columns()["ops.sync_log"]]


def test_an_upgrade_is_logged_naming_the_file_and_the_columns_and_only_once(warehouse, caplog):
    as_older_version(warehouse, *WITHOUT_ERROR)
    with caplog.at_level("INFO", logger="trackly_pipeline.warehouse"):
        with warehouse.connect():
            pass
        with warehouse.connect():  # up to date now: nothing to say
            pass
    upgrades = [record.getMessage() for record in caplog.records if "upgraded" in record.getMessage()]
    assert upgrades == [
        f"{warehouse.path}: upgraded, added ops.sync_log.error, ops.sync_log.held, ops.sync_log.present_at; "
        "those tables' "
        "months of the analysts' copy are published again"
    ]


def test_a_new_column_of_a_published_table_republishes_every_month(warehouse):
    with warehouse.connect() as conn:
        conn.executemany(
            "INSERT INTO ops.published_parts VALUES (?, ?, ?, ?)",
            [
                ("analytics.revenue_by_creative", date(2026, 10, 1), "a/2026-10.v1.parquet", datetime.now(UTC)),
                ("analytics.revenue_by_offer", date(2026, 10, 1), "b/2026-10.v1.parquet", datetime.now(UTC)),
            ],
        )
    as_older_version(warehouse, "ALTER TABLE analytics.revenue_by_creative DROP COLUMN revenue_per_send")

    with warehouse.connect() as conn:
        published = conn.execute("SELECT table_name FROM ops.published_parts").fetchall()
    assert published == [("analytics.revenue_by_offer",)]
    assert columns(warehouse, "analytics.revenue_by_creative")[-1] == "revenue_per_send"


def test_a_new_not_null_column_on_a_table_with_rows_is_refused_and_nothing_is_added(warehouse):
    with warehouse.connect() as conn:
        conn.execute(
            "INSERT INTO tune.conversions BY NAME SELECT 'acme' AS network, 1 AS conversion_id, now() AS "
            "converted_at, 7 AS offer_id, 'approved' AS status, false AS is_adjustment, 1 AS payout, "
            "now() AS first_seen_at, now() AS last_seen_at"
        )
    # An older version without the last four: the nullable ones could be added, first_seen_at cannot.
    as_older_version(
        warehouse,
        *(
            f"ALTER TABLE tune.conversions DROP COLUMN {name}"
            for name in ("held_since", "last_seen_at", "first_seen_at", "affiliate_unique5")
        ),
        *WITHOUT_ERROR,
    )  # another table, upgradable alone
    with (
        pytest.raises(SchemaMismatchError, match=r"tune\.conversions .*NOT NULL column first_seen_at"),
        warehouse.connect(),
    ):
        pass
    # All or nothing: no table took a column, so the next attempt starts from the same place.
    assert columns(warehouse, "tune.conversions")[-1] == "affiliate_unique4"
    assert "error" not in columns(warehouse, "ops.sync_log")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "ALTER TABLE ops.sync_log DROP COLUMN kind",
            r"ops\.sync_log column 3 is window_start .* declares kind VARCHAR",
        ),
        ("ALTER TABLE ops.sync_log RENAME COLUMN kind TO sync_kind", r"column 3 is sync_kind VARCHAR"),
        (
            "ALTER TABLE ops.sync_log ALTER COLUMN rows TYPE INTEGER",
            r"column 10 is rows INTEGER, .* declares rows BIGINT",
        ),
        (
            "ALTER TABLE ops.sync_log ADD COLUMN region VARCHAR",
            r"ops\.sync_log has columns this version does not declare \(region\)",
        ),
    ],
)
def test_any_other_difference_is_refused_naming_table_and_column(warehouse, change, message):
    as_older_version(warehouse, change)
    with pytest.raises(SchemaMismatchError, match=message) as raised, warehouse.connect():
        pass
    assert str(warehouse.path) in str(raised.value)


def test_the_declared_schema_is_what_a_new_file_gets(tmp_path):
    warehouse = Warehouse(tmp_path / "new.duckdb")
    with warehouse.connect():
        pass
    for table, declared in declared_columns().items():
        assert columns(warehouse, table) == [column.name for column in declared], table


def published_by_an_older_version(tmp_path) -> Warehouse:
    """Two months of revenue_by_creative in a warehouse an older version wrote (no revenue_per_send),
    with the analysts' copy it published."""
    import duckdb

    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as conn:
        for month in (date(2026, 9, 1), date(2026, 10, 1)):
            conn.execute(
                "INSERT INTO analytics.revenue_by_creative VALUES ($day, 1, 10, 5, 1, 1, 0, 0, 0, 2.5, 0, 0, "
                "0.5, 0.2, 0.25)",
                {"day": month},
            )
            conn.execute(
                "INSERT INTO ops.publish_pending VALUES ('analytics.revenue_by_creative', $month)", {"month": month}
            )
    as_older_version(warehouse, "ALTER TABLE analytics.revenue_by_creative DROP COLUMN revenue_per_send")
    with duckdb.connect() as older:
        older.execute(f"ATTACH {string_literal(str(warehouse.path))} AS warehouse")
        older.execute("USE warehouse")
        warehouse.publish(older)
    return warehouse


def test_after_an_upgrade_the_analysts_copy_has_the_new_column_in_every_month(tmp_path):
    from trackly_pipeline_tests.warehouse.test_publish import assert_copy_equals_warehouse

    warehouse = published_by_an_older_version(tmp_path)

    with warehouse.connect() as conn:  # this version: the column is added, every month republished
        warehouse.publish(conn)
    assert_copy_equals_warehouse(warehouse)
    with Warehouse(warehouse.published_path).connect(read_only=True) as copy:
        assert (
            copy.execute(
                "SELECT count(*) FROM analytics.revenue_by_creative WHERE revenue_per_send IS NULL"
            ).fetchone()[0]
            == 2
        )


def test_an_upgrade_leaves_the_copy_in_place_its_files_for_a_day(tmp_path):
    """The upgrade forgets the table's month files, yet a session opened on the copy before it keeps
    reading them for a day (README: replaced month files are deleted a day later)."""
    from trackly_pipeline_tests.warehouse.test_publish import age_every_file

    warehouse = published_by_an_older_version(tmp_path)
    age_every_file(warehouse)  # published long ago
    parts = warehouse.published_parts_folder
    before = set(parts.glob("analytics.revenue_by_creative/*.parquet"))

    with Warehouse(warehouse.published_path).connect(read_only=True) as session:
        with warehouse.connect() as conn:  # this version: the column is added, every month republished
            warehouse.publish(conn)
        assert all(path.exists() for path in before)
        assert session.execute("SELECT sum(revenue) FROM analytics.revenue_by_creative").fetchone()[0] == 5

    age_every_file(warehouse)  # a day on: no copy reads them any more
    with warehouse.connect() as conn:
        warehouse.publish(conn)
    assert not any(path.exists() for path in before)

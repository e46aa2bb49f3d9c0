"""Network identity (warehouse/networks.py): the registry of stored keys, seeded in a warehouse
written before it; renaming and forgetting a key move or delete its rows in every network-keyed
table, one transaction, or refuse and change nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.networks import Identity, NetworkKeyError, forget, refuse_renamed, rename, stored_keys
from trackly_pipeline.warehouse.transforms import attribute_window
from trackly_pipeline_tests.warehouse.test_other_affiliates import conversion, sweep

UTC = UTC
START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)
ACME = Identity("acmenet", 1001)
CONFIGURED = {"acme_us": ACME, "bolt": Identity("boltmedia", 2002)}


def checksums(conn) -> dict[str, str]:
    tables = conn.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = 'warehouse' ORDER BY 1"
    ).fetchall()
    return {
        t: hashlib.sha256(repr(conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()).encode()).hexdigest()
        for (t,) in tables
    }


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    """acme's conversions (stored, attributed, in the ledger) and an offer, written as a version without the
    registry wrote them: ops.networks knew acme; 'gone' has a diagnostics row and nothing says whose."""
    warehouse = Warehouse(tmp_path / "trackly.duckdb")
    with warehouse.connect() as conn:
        rows = [conversion(i, START + timedelta(hours=5 * i), affiliate_id=1001) for i in range(1, 6)]
        sweep(conn, rows, START, END, END, affiliate_id=1001)
        with transaction(conn):
            attribute_window(
                conn,
                network="acme",
                message_id_field="aff_sub",
                start=START,
                end=END,
                reporting_currency="USD",
                attributed_at=END,
            )
            conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', NULL, 1001)")
            conn.execute(
                "INSERT INTO ops.reconciliation VALUES ('gone', DATE '2026-11-02', 9, 'USD', 1, 1, 5, 5, 0, "
                "true, 'UTC', $at)",
                {"at": END},
            )
            conn.execute(
                "INSERT INTO ops.sync_log VALUES ('s1', 'acme', 'conversions', NULL, NULL, $at, $at, 0, 1, 5, "
                "0, 'success', NULL, 0, NULL)",
                {"at": END},
            )
            conn.execute("DROP TABLE ops.stored_networks")  # a file written before the registry
            conn.execute("DELETE FROM ops.dirty_days")
            conn.execute("DELETE FROM ops.publish_pending")
    return warehouse


def test_a_warehouse_written_before_the_registry_is_seeded_with_every_stored_key(warehouse):
    with warehouse.connect() as conn:  # a writing connection of this version
        assert stored_keys(conn) == {"acme": ACME, "gone": Identity(None, None)}
        with pytest.raises(NetworkKeyError, match=r"`trackly network rename acme acme_us`"):
            refuse_renamed(conn, "acme_us", CONFIGURED)  # acme_us is the account stored under acme
        refuse_renamed(conn, "bolt", CONFIGURED)  # another account: no objection


def test_rename_moves_every_row_of_every_network_table_and_marks_its_days(warehouse):
    with warehouse.connect() as conn:
        conn.execute("CREATE TABLE ops.added_later (network VARCHAR, n INTEGER)")  # a table no list names
        conn.execute("INSERT INTO ops.added_later VALUES ('acme', 1), ('bolt', 2)")
        with transaction(conn):
            moved = rename(conn, "acme", "acme_us", CONFIGURED)
        assert moved["tune.conversions"] == moved["analytics.attributed_conversions"] == 5
        assert moved["ops.added_later"] == moved["ops.stored_networks"] == 1
        for table in [*moved, "ops.sync_log"]:
            by_key = dict(conn.execute(f"SELECT network, count(*) FROM {table} GROUP BY 1").fetchall())
            assert "acme" not in by_key and by_key["acme_us"] == moved.get(table, 1), table
        assert conn.execute("SELECT * FROM ops.added_later WHERE network = 'bolt'").fetchall() == [("bolt", 2)]
        days = {d for (d,) in conn.execute("SELECT day FROM ops.dirty_days").fetchall()}
        assert days == {date(2026, 11, 1), date(2026, 11, 2)}  # its conversions' days (5 to 25 h after START)
        pending = set(conn.execute("SELECT table_name, month FROM ops.publish_pending").fetchall())
        assert {
            ("tune.conversions", date(2026, 11, 1)),
            ("analytics.attributed_conversions", date(2026, 11, 1)),
        } <= pending
        assert stored_keys(conn)["acme_us"] == ACME


def test_forget_deletes_every_row_but_the_integration_log(warehouse):
    with warehouse.connect() as conn:
        with transaction(conn):
            deleted = forget(conn, "acme", CONFIGURED)
        assert deleted["tune.conversions"] == 5
        for table in deleted:
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE network = 'acme'").fetchone()[0] == 0, table
        assert conn.execute("SELECT count(*) FROM ops.sync_log WHERE network = 'acme'").fetchone()[0] == 1
        assert "acme" not in stored_keys(conn)
        days = {d for (d,) in conn.execute("SELECT day FROM ops.dirty_days").fetchall()}
        assert days == {date(2026, 11, 1), date(2026, 11, 2)}  # its conversions' days are rolled up again


@pytest.mark.parametrize(
    "command, configured, refusal",
    [
        (("rename", "acme", "acme_us"), {"acme": ACME, "acme_us": ACME}, "'acme' is still in trackly.yaml"),
        (("rename", "acme", "acme_eu"), CONFIGURED, "'acme_eu' is not in trackly.yaml"),
        (("rename", "nothing", "acme_us"), CONFIGURED, "no stored rows under 'nothing'"),
        (("rename", "acme", "bolt"), {"bolt": ACME}, "forget one of the two first"),
        (("rename", "acme", "acme_us"), {"acme_us": Identity("acmenet", 1002)}, "a different account is not a rename"),
        (
            ("rename", "gone", "dart"),
            {"dart": Identity("dartnet", None)},
            "the TUNE network 'gone' stored its rows from is unknown",
        ),
        (("forget", "acme_us"), CONFIGURED, "'acme_us' is in trackly.yaml: remove it there first"),
        (("forget", "nothing"), CONFIGURED, "no stored rows under 'nothing'"),
    ],
)
def test_a_refused_command_changes_nothing(warehouse, command, configured, refusal):
    with warehouse.connect() as conn:
        conn.execute("INSERT INTO ops.network_affiliates VALUES ('bolt', 2002, $at)", {"at": END})  # bolt has rows
        before = checksums(conn)
        with pytest.raises(NetworkKeyError, match=refusal), transaction(conn):
            if command[0] == "rename":
                rename(conn, command[1], command[2], configured)
            else:
                forget(conn, command[1], configured)
        assert checksums(conn) == before


@pytest.mark.parametrize(
    "stored, configured, same",
    [
        (Identity("acmenet", 1001), Identity("AcmeNet", 1001), True),  # network ids name hosts: case aside
        (Identity("acmenet", None), Identity("acmenet", 1001), True),
        (Identity("acmenet", 1001), Identity("acmenet", 1002), False),
        (Identity(None, 2002), Identity("dartnet", 2002), False),  # an affiliate id is only unique within a network
        (Identity(None, None), Identity("dartnet", 2002), False),
    ],
)
def test_same_account_needs_the_same_known_network(stored, configured, same):
    assert stored.same_account(configured) is same
    assert configured.same_account(stored) is same


def test_a_writing_connection_to_a_warehouse_with_recorded_networks_takes_an_arrow_table_at_once(tmp_path):
    """Every writing connection checks the network registry and terms (their seeds for an older
    file): a query result left unfinished there made the caller's first register() fail (a sweep's
    staging table) once the warehouse had recorded a network."""
    warehouse = Warehouse(tmp_path / "trackly.duckdb")
    with warehouse.connect() as conn:
        conn.execute("INSERT INTO ops.stored_networks VALUES ('acme', 'acmenet', 1001, now())")
        conn.execute("INSERT INTO ops.network_terms (network) VALUES ('acme')")
    with warehouse.connect() as conn:
        conn.register("page", pa.table({"conversion_id": [1]}))
        assert conn.execute("SELECT count(*) FROM page").fetchall() == [(1,)]

"""Attribution and rollups when their inputs change under them: a conversion moved to another week,
an old message clicked today, a renamed offer. The rollups must follow, whatever days are rebuilt."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.offers import OfferRow, replace_offers
from trackly_pipeline.warehouse.transforms import attribute_window, rebuild_rollups

UTC = UTC
WEEK = timedelta(days=7)
CENT_FIFTH = Decimal("0.00001")  # DECIMAL(18, 5)


def set_conversion(conn, conversion_id: int, converted_at: datetime, payout: str) -> None:
    """The state a sweep leaves in tune.conversions: the conversion's latest version only."""
    conn.execute("DELETE FROM tune.conversions WHERE conversion_id = $id", {"id": conversion_id})
    conn.execute(
        """
        INSERT INTO tune.conversions BY NAME
        SELECT 'acme' AS network, $id AS conversion_id, $at AS converted_at, 7 AS offer_id, 'approved' AS status,
               false AS is_adjustment, $payout::DECIMAL(18, 5) AS payout, 'USD' AS currency, now() AS first_seen_at,
               now() AS last_seen_at
        """,
        {"id": conversion_id, "at": converted_at, "payout": payout},
    )


def attribute_and_roll_up(conn, window_end: datetime) -> None:
    with transaction(conn):
        attribute_window(
            conn,
            network="acme",
            message_id_field="aff_sub",
            start=window_end - WEEK,
            end=window_end,
            reporting_currency="USD",
            attributed_at=window_end,
        )
        rebuild_rollups(conn)


def revenue_by_day(conn, table: str) -> dict:
    return dict(conn.execute(f"SELECT day, sum(revenue) FROM analytics.{table} GROUP BY day").fetchall())


@pytest.mark.parametrize("moved_by", [timedelta(days=9), -timedelta(days=9)], ids=["later", "earlier"])
def test_a_conversion_moved_out_of_the_window_leaves_no_revenue_on_its_old_day(tmp_path, moved_by):
    first_day = datetime(2026, 11, 2, 12, tzinfo=UTC)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)")
        set_conversion(conn, 1, first_day, "10")
        set_conversion(conn, 2, first_day, "5")
        attribute_and_roll_up(conn, first_day + timedelta(days=3))

        # TUNE moves conversion 1 to another week; the next window sweeps and attributes it there.
        set_conversion(conn, 1, first_day + moved_by, "10")
        attribute_and_roll_up(conn, first_day + moved_by + timedelta(days=3))

        # No clicks or messages here, so only the offer rollup has rows.
        assert revenue_by_day(conn, "revenue_by_offer") == {
            first_day.date(): Decimal("5"),
            (first_day + moved_by).date(): Decimal("10"),
        }
        assert conn.execute("SELECT sum(payout_reporting) FROM analytics.attributed_conversions").fetchone()[0] == 15


def test_a_message_sent_long_before_its_click_keeps_its_creative(tmp_path):
    """A message sent 40 days before the window and clicked inside it: the click's conversion gets
    the message's creative, the click counts for that creative whatever days are rebuilt with it, and
    a conversion naming the message is credited through the same first click (whichever id TUNE sent
    back, one engagement). A message as old that nobody clicked since says why it is not credited."""
    sent, clicked = datetime(2026, 10, 1, 9, tzinfo=UTC), datetime(2026, 11, 10, 9, tzinfo=UTC)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)")
        conn.execute("INSERT INTO trackly.messages VALUES ('MSG00001', 501, 77, 1, 1, $at, 'm.csv', 0)", {"at": sent})
        conn.execute("INSERT INTO trackly.messages VALUES ('MSG00002', 502, 77, 1, 1, $at, 'm.csv', 1)", {"at": sent})
        conn.execute(
            "INSERT INTO trackly.clicks VALUES ('clickAAA', 'l1', 'MSG00001', 'acmenet', 7, $at, '10.0.0.1',"
            " 'ua', 'c.csv', 0, NULL)",
            {"at": clicked},
        )
        set_conversion(conn, 1, clicked + timedelta(days=1), "10")
        conn.execute("UPDATE tune.conversions SET ad_id = 'clickAAA' WHERE conversion_id = 1")
        set_conversion(conn, 2, clicked + timedelta(days=1), "4")
        conn.execute("UPDATE tune.conversions SET aff_sub = 'MSG00001' WHERE conversion_id = 2")
        set_conversion(conn, 3, clicked + timedelta(days=1), "2")
        conn.execute("UPDATE tune.conversions SET aff_sub = 'MSG00002' WHERE conversion_id = 3")
        attribute_and_roll_up(conn, clicked + timedelta(days=2))

        assert conn.execute(
            "SELECT conversion_id, attribution_method, click_id, message_id, creative_id, campaign_id, "
            "unattributed_reason FROM analytics.attributed_conversions ORDER BY 1"
        ).fetchall() == [
            (1, "ad_id_click", "clickAAA", "MSG00001", 501, 77, None),
            (2, "sub_id_message", "clickAAA", "MSG00001", 501, 77, None),
            (3, "unattributed", None, None, None, None, "message sent before the lookup horizon"),
        ]
        by_creative = "SELECT day, creative_id, clicks, revenue FROM analytics.revenue_by_creative ORDER BY ALL"
        rebuilt_with_the_window = conn.execute(by_creative).fetchall()
        assert (clicked.date(), 501, 1, 0) in rebuilt_with_the_window

        # The click's day rebuilt alone gives the same rows.
        conn.execute("INSERT INTO ops.dirty_days VALUES ($day, 'test')", {"day": clicked.date()})
        with transaction(conn):
            rebuild_rollups(conn)
        assert conn.execute(by_creative).fetchall() == rebuilt_with_the_window
        assert conn.execute("SELECT creative_id FROM analytics.revenue_by_message").fetchall() == [(501,), (501,)]


def offer(offer_id: int, name: str) -> OfferRow:
    return OfferRow(
        offer_id=offer_id,
        name=name,
        tune_name=name,
        status="active",
        payout=Decimal("10"),
        payout_type="cpa_flat",
        percent_payout=None,
        currency="USD",
        advertiser_id=None,
        advertiser=None,
        offer_url=None,
        tracking_url="https://t.example/aff_c",
        postback_url="https://p.example/",
        modified_at=None,
    )


def sync_offers(conn, names: dict[int, str], synced_at: datetime) -> None:
    """An offer sync of acme whose catalog is `names` ({offer_id: name}), every offer imported."""
    with transaction(conn):
        replace_offers(
            conn,
            "acme",
            [offer(offer_id, name) for offer_id, name in names.items()],
            import_all=True,
            synced_at=synced_at,
        )


def offer_names_by_day(conn) -> list[tuple]:
    return conn.execute("SELECT day, offer_id, offer_name FROM analytics.revenue_by_offer ORDER BY day").fetchall()


def test_a_renamed_offer_is_renamed_on_every_day_of_its_rollup(tmp_path):
    first_day = datetime(2026, 11, 2, 12, tzinfo=UTC)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)")
        sync_offers(conn, {7: "Old name", 8: "Other"}, first_day)
        set_conversion(conn, 1, first_day, "10")
        set_conversion(conn, 2, first_day + timedelta(days=10), "5")
        attribute_and_roll_up(conn, first_day + timedelta(days=3))
        attribute_and_roll_up(conn, first_day + timedelta(days=13))
        conn.execute("DELETE FROM ops.publish_pending")

        sync_offers(conn, {7: "New name", 8: "Other"}, first_day + timedelta(days=14))

        assert offer_names_by_day(conn) == [
            (first_day.date(), 7, "New name"),
            ((first_day + timedelta(days=10)).date(), 7, "New name"),
        ]
        assert conn.execute("SELECT table_name, month FROM ops.publish_pending").fetchall() == [
            ("analytics.revenue_by_offer", date(2026, 11, 1))
        ]


def test_an_offer_that_left_the_catalog_keeps_its_last_name_on_rebuilt_days(tmp_path):
    first_day = datetime(2026, 11, 2, 12, tzinfo=UTC)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)")
        sync_offers(conn, {7: "Summer promo", 8: "Other"}, first_day)
        set_conversion(conn, 1, first_day, "10")
        attribute_and_roll_up(conn, first_day + timedelta(days=3))

        sync_offers(conn, {8: "Other"}, first_day + timedelta(days=5))  # offer 7 expired: TUNE no longer returns it
        set_conversion(conn, 2, first_day + timedelta(days=6), "5")  # a late conversion on it
        attribute_and_roll_up(conn, first_day + timedelta(days=8))  # its day is built after the expiry

        assert offer_names_by_day(conn) == [
            (first_day.date(), 7, "Summer promo"),
            ((first_day + timedelta(days=6)).date(), 7, "Summer promo"),
        ]


def test_amounts_of_100000_and_more_in_the_reporting_currency_are_converted(tmp_path):
    """100 USD reported in KRW is 140,000: DuckDB types DECIMAL(18,5) x DECIMAL(18,8) as
    DECIMAL(18,13), which overflows from 100,000 unless widened."""
    at = datetime(2026, 11, 2, 12, tzinfo=UTC)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)")
        conn.execute("INSERT INTO reference.fx_rates VALUES ($day, 'USD', '1400.12345678')", {"day": at.date()})
        set_conversion(conn, 1, at, "100")
        set_conversion(conn, 2, at, "99999999.99999")
        with transaction(conn):
            attribute_window(
                conn,
                network="acme",
                message_id_field="aff_sub",
                start=at - WEEK,
                end=at + WEEK,
                reporting_currency="KRW",
                attributed_at=at,
            )
            rebuild_rollups(conn)
        rate = Decimal("1400.12345678")
        expected = {
            1: (Decimal("100") * rate).quantize(CENT_FIFTH, ROUND_HALF_UP),
            2: (Decimal("99999999.99999") * rate).quantize(CENT_FIFTH, ROUND_HALF_UP),
        }
        assert expected[1] == Decimal("140012.34568")
        assert (
            dict(
                conn.execute("SELECT conversion_id, payout_reporting FROM analytics.attributed_conversions").fetchall()
            )
            == expected
        )
        assert revenue_by_day(conn, "revenue_by_offer") == {at.date(): expected[1] + expected[2]}


def test_a_click_logged_without_an_offer_counts_for_its_message_only(tmp_path):
    """A log row with an empty offer_id must not fail every rollup (revenue_by_offer.offer_id is
    NOT NULL): the click counts for its message and creative, and for no offer."""
    clicked = datetime(2026, 11, 10, 9, tzinfo=UTC)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)")
        conn.execute(
            "INSERT INTO trackly.messages VALUES ('MSG00001', 501, 77, 1, 1, $at, 'm.csv', 0)",
            {"at": clicked - timedelta(hours=1)},
        )
        for row, (click_id, offer_id) in enumerate((("clickAAA", 7), ("clickBBB", None))):
            conn.execute(
                "INSERT INTO trackly.clicks VALUES ($id, 'l1', 'MSG00001', 'acmenet', $offer, $at, '10.0.0.1',"
                " 'ua', 'c.csv', $row, NULL)",
                {"id": click_id, "offer": offer_id, "at": clicked, "row": row},
            )
        set_conversion(conn, 1, clicked + timedelta(hours=2), "10")
        attribute_and_roll_up(conn, clicked + timedelta(days=1))

        assert conn.execute("SELECT message_id, clicks FROM analytics.revenue_by_message").fetchall() == [
            ("MSG00001", 2)
        ]
        assert conn.execute("SELECT creative_id, clicks FROM analytics.revenue_by_creative").fetchall() == [(501, 2)]
        assert conn.execute("SELECT offer_id, clicks FROM analytics.revenue_by_offer").fetchall() == [(7, 1)]


def test_two_keys_on_one_network_id_never_count_a_click_twice(tmp_path):
    """Two affiliate accounts on one TUNE network (keys acme and acme2, both on network id acmenet):
    a click counts for the key whose affiliate id its log row carries; one logged without an
    affiliate id could be either's, so it counts for its message and creative but no key's offer.
    On a network id with one key, a click without an affiliate id is that key's, and a click for an
    affiliate no key is configured with is nobody's. Each click of a configured account counts once."""
    clicked = datetime(2026, 11, 10, 9, tzinfo=UTC)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.executemany(
            "INSERT INTO ops.networks VALUES (?, ?, 'aff_sub', 'USD', ?)",
            [("acme", "acmenet", 1001), ("acme2", "acmenet", 1002), ("bolt", "boltmedia", 2002)],
        )
        conn.execute(
            "INSERT INTO trackly.messages VALUES ('MSG00001', 501, 77, 1, 1, $at, 'm.csv', 0)",
            {"at": clicked - timedelta(hours=1)},
        )
        logged = [
            ("acmenet", 1001),
            ("acmenet", 1001),
            ("acmenet", 1002),
            ("acmenet", None),
            ("boltmedia", None),
            ("boltmedia", 2002),
            ("boltmedia", 9999),
            ("othernet", None),
        ]
        for row, (network_id, affiliate_id) in enumerate(logged):
            conn.execute(
                "INSERT INTO trackly.clicks VALUES ($id, 'l1', 'MSG00001', $network_id, 7, $at, '10.0.0.1', "
                "'ua', 'c.csv', $row, $affiliate_id)",
                {
                    "id": f"click{row}",
                    "network_id": network_id,
                    "at": clicked,
                    "row": row,
                    "affiliate_id": affiliate_id,
                },
            )
        conn.execute("INSERT INTO ops.dirty_days VALUES ($day, 'trackly.clicks')", {"day": clicked.date()})
        with transaction(conn):
            rebuild_rollups(conn)

        by_offer = {
            (network, offer_id): clicks
            for network, offer_id, clicks in conn.execute(
                "SELECT network, offer_id, clicks FROM analytics.revenue_by_offer"
            ).fetchall()
        }
        assert by_offer == {("acme", 7): 2, ("acme2", 7): 1, ("bolt", 7): 2}
        # The clicks logged for configured accounts: acmenet's 3 with an affiliate id, boltmedia's 2.
        assert sum(by_offer.values()) == 5
        assert conn.execute("SELECT clicks FROM analytics.revenue_by_message").fetchall() == [(len(logged),)]
        assert conn.execute("SELECT clicks FROM analytics.revenue_by_creative").fetchall() == [(len(logged),)]


def test_a_changed_reporting_currency_stops_attribution_before_it_mixes_currencies(tmp_path):
    from trackly_pipeline.warehouse.transforms import ReportingCurrencyChanged

    day = datetime(2026, 11, 2, 12, tzinfo=UTC)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)")
        set_conversion(conn, 1, day, "10")
        set_conversion(conn, 2, day + 2 * WEEK, "5")
        attribute_and_roll_up(conn, day + timedelta(days=3))
        before = conn.execute("SELECT * FROM analytics.attributed_conversions ORDER BY ALL").fetchall()

        # The config now says EUR: attributing the later week alone would leave the first in USD.
        with (
            pytest.raises(
                ReportingCurrencyChanged,
                match=r"reporting_currency is EUR in the config, but 1 "
                r"attributed conversions are in USD",
            ),
            transaction(conn),
        ):
            attribute_window(
                conn,
                network="acme",
                message_id_field="aff_sub",
                start=day + WEEK,
                end=day + 3 * WEEK,
                reporting_currency="EUR",
                attributed_at=day,
            )
        assert conn.execute("SELECT * FROM analytics.attributed_conversions ORDER BY ALL").fetchall() == before
        attribute_and_roll_up(conn, day + 3 * WEEK)  # in USD, as before: fine

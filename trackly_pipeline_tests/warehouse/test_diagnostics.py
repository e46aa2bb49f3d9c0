"""analytics.payout_mismatches on hand-made rows: what counts as a mismatch and its likely cause."""

from __future__ import annotations

from datetime import UTC, datetime

from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.diagnostics import rebuild_payout_mismatches

UTC = UTC


def test_a_conversion_without_currency_is_paid_in_the_offers_and_is_no_currency_mismatch(tmp_path):
    at = datetime(2026, 11, 2, 12, tzinfo=UTC)
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute(
            "INSERT INTO tune.offers BY NAME SELECT 'acme' AS network, 7 AS offer_id, 'Offer 7' AS name, "
            "'active' AS status, 10 AS payout, 'cpa_flat' AS payout_type, 'USD' AS currency, "
            "true AS imported, $at AS synced_at",
            {"at": at},
        )
        for conversion_id, currency, payout in ((1, None, 10), (2, "USD", 10), (3, "EUR", 10), (4, None, 12)):
            conn.execute(
                "INSERT INTO tune.conversions BY NAME SELECT 'acme' AS network, $id AS conversion_id, "
                "$at AS converted_at, 7 AS offer_id, 'approved' AS status, false AS is_adjustment, "
                "$payout AS payout, $currency AS currency, $at AS first_seen_at, $at AS last_seen_at",
                {"id": conversion_id, "at": at, "payout": payout, "currency": currency},
            )
        with transaction(conn):
            rebuild_payout_mismatches(conn, at)
        rows = conn.execute(
            "SELECT conversion_currency, likely_cause, conversions, typical_paid "
            "FROM analytics.payout_mismatches ORDER BY ALL"
        ).fetchall()
    # 1 and 2 are paid as the offer says; 3 in another currency; 4 another amount in the offer's.
    assert rows == [("EUR", "currency", 1, 10), (None, "custom payout per affiliate", 1, 12)]

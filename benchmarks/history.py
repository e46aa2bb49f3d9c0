"""The synthetic history the attribution and growth benchmarks run on (Trackly logs and TUNE
conversions generated in DuckDB), and the pipeline's attribution + rollups over it, timed as a whole
or statement by statement."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from benchmarks.common import UTC


def generate_history(
    conn, *, end: datetime, click_days: int, clicks: int, conversion_days: int, conversions: int, messages: int
) -> None:
    """Synthetic Trackly logs and TUNE conversions straight in DuckDB (range() and hash()).
    Clicks are spread over `click_days` before `end`, conversions over `conversion_days`; of the
    conversions 42% carry a click id in ad_id, 27% a click id in aff_sub, 20% a message id in
    aff_sub (one that was clicked), 11% nothing Trackly knows (the sandbox's shares); clicks come up to 2 days before
    their conversion."""
    params = {
        "end": end,
        "click_span": click_days * 86_400,
        "conv_span": conversion_days * 86_400,
        "clicks": clicks,
        "conversions": conversions,
        "messages": messages,
    }
    _execute(
        conn,
        """
        INSERT INTO trackly.messages
        SELECT 'm' || lpad(to_hex(i), 7, '0'), (hash(i, 1) % 2000)::BIGINT, (hash(i, 2) % 100)::BIGINT, i, 1,
               $end - to_seconds((i * $click_span // $messages + 600)::BIGINT), 'history', i
        FROM range($messages) AS t(i)""",
        params,
    )
    _execute(
        conn,
        """
        INSERT INTO trackly.clicks
        SELECT 'k' || lpad(to_hex(i), 11, '0'), 'l' || (i % 5000)::VARCHAR,
               'm' || lpad(to_hex(i * $messages // $clicks), 7, '0'), 'acmenet',
               (hash(i * $messages // $clicks, 4) % 300)::BIGINT,  -- a message promotes one offer
               $end - to_seconds((i * $click_span // $clicks)::BIGINT),
               '10.' || (i % 250)::VARCHAR || '.' || (i % 199)::VARCHAR || '.1', 'Mozilla/5.0 (iPhone)', 'history', i,
               1001
        FROM range($clicks) AS t(i)""",
        params,
    )
    _execute(
        conn,
        """
        INSERT INTO tune.conversions
        SELECT 'acme', i, md5(i::VARCHAR), ts,
               CASE WHEN kind < 42 THEN 'k' || lpad(to_hex(click), 11, '0') END,
               (hash(click * $messages // $clicks, 4) % 300)::BIGINT, 1001, 0,  -- the clicked message's offer
               CASE WHEN i % 10 < 7 THEN 'approved' WHEN i % 10 < 9 THEN 'pending' ELSE 'rejected' END,
               52, i % 50 = 0, ((hash(i, 7) % 5000) / 100)::DECIMAL(18, 5), NULL, NULL, 'USD',
               CASE WHEN kind >= 42 AND kind < 69 THEN 'k' || lpad(to_hex(click), 11, '0')
                    WHEN kind >= 69 AND kind < 89 THEN 'm' || lpad(to_hex(click * $messages // $clicks), 7, '0')
                    ELSE 'sms' END,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ts, ts, NULL
        FROM (SELECT i, kind, $end - to_seconds(age) AS ts,
                     -- a click up to 2 days before the conversion (clicks are spaced evenly, newest first)
                     least((age + hash(i, 5) % 172800) * $clicks // $click_span, $clicks - 1)::BIGINT AS click
              FROM (SELECT i, (hash(i, 9) % 100)::INTEGER AS kind, (i * $conv_span // $conversions + 1)::BIGINT AS age
                    FROM range($conversions) AS t(i)))""",
        params,
    )
    conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)")


def _execute(conn, sql: str, params: dict) -> None:
    """Run `sql` with the named parameters it uses (DuckDB refuses unused ones)."""
    import re

    conn.execute(sql, {key: value for key, value in params.items() if re.search(rf"\${key}\b", sql)})


def _attribute_week_and_roll_up(conn, end: datetime) -> dict:
    """The pipeline's attribute_window over the 7 days before `end`, then rebuild_rollups."""
    from trackly_pipeline.warehouse.transforms import attribute_window, rebuild_rollups

    methods = attribute_window(
        conn,
        network="acme",
        message_id_field="aff_sub",
        start=end - timedelta(days=7),
        end=end,
        reporting_currency="USD",
        attributed_at=datetime.now(UTC),
    )
    rebuild_rollups(conn)
    return methods


def attribute_and_roll_up(conn, end: datetime) -> dict:
    from trackly_pipeline.warehouse.database import transaction

    with transaction(conn):
        return _attribute_week_and_roll_up(conn, end)


class _TimedConnection:
    """Passes everything to the DuckDB connection and times each execute()."""

    def __init__(self, conn):
        self._conn = conn
        self.times: list[tuple[float, str]] = []

    def execute(self, statement, *args, **kwargs):
        started = time.perf_counter()
        result = self._conn.execute(statement, *args, **kwargs)
        self.times.append((time.perf_counter() - started, " ".join(str(statement).split())[:90]))
        return result

    def __getattr__(self, name):
        return getattr(self._conn, name)


def statement_times(conn, end: datetime) -> list[tuple[float, str]]:
    """Time each statement the pipeline's attribute_window + rebuild_rollups run (rolled back)."""
    timed = _TimedConnection(conn)
    conn.execute("BEGIN TRANSACTION")
    try:
        _attribute_week_and_roll_up(timed, end)
    finally:
        conn.execute("ROLLBACK")
    return timed.times

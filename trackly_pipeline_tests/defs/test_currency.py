"""Money stays in the conversion's own currency and is converted with the user's rates, recording
the rate used; a missing rate is flagged by a check, never guessed."""

from __future__ import annotations

import csv
from datetime import timedelta
from decimal import Decimal

import pytest

from trackly_pipeline.sandbox.expected_outputs import read_fx_rates

pytestmark = pytest.mark.slow


def test_rates_used_are_recorded_and_a_missing_rate_is_flagged(project):
    rates_path = project.root / "fx_rates.csv"
    rates = read_fx_rates(rates_path)
    missing_day = (project.world.clock.now() - timedelta(days=2)).date()  # inside the synced window
    with rates_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "currency", "rate"])
        for (day, currency), rate in sorted(rates.items()):
            if not (day == missing_day and currency == "EUR"):
                writer.writerow([day.isoformat(), currency, rate])

    result = project.sync("bolt")  # Berlin, EUR by default
    assert result.success  # a missing rate does not fail the sync
    rows = project.query(
        "SELECT converted_at::DATE, currency, payout, fx_rate, payout_reporting FROM analytics.attributed_conversions"
    )
    for day, currency, payout, fx_rate, in_usd in rows:
        if currency == "USD":
            assert fx_rate == 1 and in_usd == payout
        elif day == missing_day and currency == "EUR":
            assert fx_rate is None and in_usd is None
        else:
            assert fx_rate == rates[(day, currency)]
            assert in_usd == (payout * fx_rate).quantize(Decimal("0.00001"))
    assert any(day == missing_day and currency == "EUR" for day, currency, *_ in rows)

    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "fx_rates_complete")
    assert not check.passed
    assert str(missing_day) in check.metadata["missing"].value and "EUR" in check.metadata["missing"].value


def test_a_configured_rates_file_that_is_missing_fails_attribution_naming_it(project):
    rates_path = project.root / "fx_rates.csv"
    rates_path.unlink()
    result = project.sync("bolt")
    assert not result.success
    failures = [
        event.step_key + ": " + event.event_specific_data.error.to_string()
        for event in result.all_events
        if event.is_step_failure
    ]
    assert len(failures) == 1 and "attributed_conversions" in failures[0], failures
    assert f"fx_rates: no such file: {rates_path}" in failures[0]
    assert project.query("SELECT count(*) FROM analytics.attributed_conversions") == [
        (0,)
    ]  # nothing priced without rates
    # The integration log says so, next to the sweep that succeeded.
    logged = project.query("SELECT kind, status, error FROM ops.sync_log WHERE network = 'bolt' ORDER BY started_at")
    assert sorted((kind, status) for kind, status, _ in logged) == [
        ("attribution", "failed"),
        ("conversions", "success"),
        ("offers", "success"),
    ], logged
    assert logged[-1][0] == "attribution"
    assert f"fx_rates: no such file: {rates_path}" in logged[-1][2]

    rates_path.write_text("date,currency,rate\n")  # back, if empty: the next run attributes again
    assert project.sync("bolt").success
    assert project.query(
        "SELECT network, kind, status FROM ops.sync_log WHERE kind IN ('attribution', 'rollups') ORDER BY started_at"
    ) == [("bolt", "attribution", "failed"), ("bolt", "attribution", "success"), ("*", "rollups", "success")]

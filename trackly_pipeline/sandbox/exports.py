"""Files the sandbox writes for the pipeline: Trackly logs, ground truth, FX rates."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from .trackly_activity import TracklyLog

# Rough units of USD per currency unit; the daily series wanders around these.
_USD_PER_UNIT = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "INR": 0.012, "CAD": 0.74, "CZK": 0.043, "JPY": 0.0067}


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def _daily_file_names(frame: pd.DataFrame, time_column: str, prefix: str) -> pd.Series:
    return prefix + "-" + frame[time_column].dt.strftime("%Y-%m-%d") + ".parquet"


def _write_daily(frame: pd.DataFrame, time_column: str, directory: Path, prefix: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, part in frame.groupby(_daily_file_names(frame, time_column, prefix), sort=True):
        written.append(write_parquet(part.reset_index(drop=True), directory / name))
    return written


def with_log_positions(frame: pd.DataFrame, time_column: str, prefix: str) -> pd.DataFrame:
    """The log rows with the file (name) and 0-based row each is written to by write_trackly_logs."""
    names = _daily_file_names(frame, time_column, prefix)
    return frame.assign(source_file=names, source_row=frame.groupby(names, sort=False).cumcount())


def logged_clicks(trackly: TracklyLog) -> pd.DataFrame:
    return with_log_positions(trackly.clicks, "clicked_at", "clicks")


def logged_messages(trackly: TracklyLog) -> pd.DataFrame:
    return with_log_positions(trackly.messages, "sent_at", "messages")


def write_trackly_logs(trackly: TracklyLog, directory: Path) -> list[Path]:
    """clicks/clicks-YYYY-MM-DD.parquet and messages/messages-YYYY-MM-DD.parquet (UTC days).

    The whole generated period is written, including clicks after the clock: Trackly's own log
    is not what the sandbox clock gates (only TUNE's conversion report is).
    """
    return [
        *_write_daily(trackly.clicks, "clicked_at", directory / "clicks", "clicks"),
        *_write_daily(trackly.messages, "sent_at", directory / "messages", "messages"),
    ]


def fx_series(seed: int, currencies: list[str], first: date, last: date, reporting: str) -> dict[str, list[float]]:
    """Units of `reporting` per unit of each currency, one value per day (a small random walk)."""
    days = (last - first).days + 1
    rng = np.random.default_rng([seed, 900])
    usd = {}
    for currency in sorted(set(currencies) | {reporting, "USD"}):
        base = _USD_PER_UNIT.get(currency, 1.0)
        walk = np.cumsum(rng.normal(0, 0.003, size=days))
        usd[currency] = np.ones(days) if currency == "USD" else base * np.exp(walk)
    return {c: (usd[c] / usd[reporting]).tolist() for c in currencies}


def write_fx_rates(path: Path, seed: int, currencies: list[str], first: date, last: date, reporting: str) -> Path:
    """CSV `date,currency,rate`: 1 unit of currency = rate units of the reporting currency."""
    series = fx_series(seed, currencies, first, last, reporting)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "currency", "rate"])
        for offset in range((last - first).days + 1):
            day = (first + timedelta(days=offset)).isoformat()
            for currency in currencies:
                rate = 1.0 if currency == reporting else series[currency][offset]
                writer.writerow([day, currency, f"{rate:.6f}"])
    return path

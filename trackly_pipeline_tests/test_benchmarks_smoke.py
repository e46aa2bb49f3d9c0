"""The benchmark runs (quick mode) and reports every row: proves `python -m benchmarks` works.
Not a timed test: the numbers are printed, never asserted. It runs beside other tests on every core
(`-n auto`), so its wall time says nothing of the benchmark's; only a hung run fails it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from trackly_pipeline_tests.postgres import unavailable_reason

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


# Beside the suite's other slow tests on 2 cores, the quick run (its lake rows: about 14 Dagster runs
# in all) took over the suite's 600 s per test (CI, 2026-12-07); alone it takes about 3.5 min.
@pytest.mark.timeout(1500)
def test_quick_benchmark_prints_every_row(tmp_path):
    out = tmp_path / "results.md"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1400,
    )
    took = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    assert text in done.stdout
    rows = [
        line
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| measurement") and not line.startswith("| ---")
    ]
    names = [row.split(" | ")[0] for row in rows]
    for expected in (
        "| ingest: parse + load",
        "| ingest: peak RSS",
        "| attribution + rollups",
        "| hourly run",
        "| Dagster: one scheduled hourly run",
    ):
        assert any(name.startswith(expected) for name in names), names
    # The lake's rows need a PostgreSQL; without one the report says they were not measured.
    if unavailable_reason() is None:
        for expected in (
            "| lake: one network's hourly run",
            "| lake: 3 networks' hourly runs at once",
            "| lake: an analyst's query p95",
        ):
            assert any(name.startswith(expected) for name in names), names
    else:
        assert "lake: not measured" in text
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 7 and cells[4].endswith("x"), row  # value, bound and ratio measured
    print(f"\nquick benchmark in {took:.0f}s\n{text}")

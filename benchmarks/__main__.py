"""Performance, measured: each row is the pipeline's own code against a lower bound measured in the
same run on the same data, repeated, with medians and the ratio (method and history:
benchmarks/README.md).

    ./run python -m benchmarks            # full mode (~20 min on 2 cores; the first run also
                                          # captures 1M conversions from the sandbox, cached in benchmarks/out)
    ./run python -m benchmarks --quick    # small sizes, ~4 min: proves the benchmark works

Prints a table and writes benchmarks/out/results.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.attribution import bench_attribution
from benchmarks.common import FULL, OUT, QUICK
from benchmarks.dagster_run import bench_dagster
from benchmarks.growth import bench_growth
from benchmarks.ingest import bench_ingest, ingest_child
from benchmarks.lake import bench_lake
from benchmarks.report import Row, write_report

BENCHMARKS = ["ingest", "attribution", "growth", "dagster", "lake"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (~4 min), to check the benchmark works")
    parser.add_argument("--only", choices=BENCHMARKS, action="append")
    parser.add_argument("--ingest-child", help=argparse.SUPPRESS)  # the ingest benchmark's separate process
    parser.add_argument("--out", default=str(OUT / "results.md"))
    args = parser.parse_args(argv)
    if args.ingest_child:
        ingest_child(args.ingest_child)
        return 0
    sizes = QUICK if args.quick else FULL
    OUT.mkdir(parents=True, exist_ok=True)
    chosen = args.only or BENCHMARKS
    rows: list[Row] = []
    extra: list[str] = []
    started = time.perf_counter()
    for name in chosen:
        step = time.perf_counter()
        if name == "ingest":
            rows.extend(bench_ingest(sizes))
        elif name == "attribution":
            rows.extend(bench_attribution(sizes, extra))
        elif name == "growth":
            rows.append(bench_growth(sizes, extra))
        elif name == "dagster":
            rows.append(bench_dagster(sizes))
        elif name == "lake":
            rows.extend(bench_lake(sizes, extra, quick=args.quick))
        print(f"[{name}: {time.perf_counter() - step:.0f}s]", file=sys.stderr, flush=True)
    extra.append(f"whole benchmark: {time.perf_counter() - started:.0f}s")
    text = write_report(rows, "quick" if args.quick else "full", sizes.repeats, extra, Path(args.out))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark 1, ingest: real Report::getConversions replies, captured once from the sandbox, parsed
and staged in DuckDB by the pipeline's own path, against json.loads of the same bytes; and the peak
RSS of a separate process doing the same."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.common import OUT, ROOT, UTC, Sizes, median_time
from benchmarks.report import Row


def capture_pages(sizes: Sizes) -> tuple[Path, dict]:
    """Real Report::getConversions reply bytes, captured once over HTTP from the sandbox by the
    TUNE client itself (a recording session), one file per page. Cached in benchmarks/out."""
    directory = OUT / f"pages-{sizes.conversions}-{sizes.page_size}"
    meta_path = directory / "meta.json"
    if meta_path.exists():
        return directory, json.loads(meta_path.read_text())
    import requests

    from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SandboxServer, SandboxWorld
    from trackly_pipeline.tune import TuneClient

    network = DEFAULT_NETWORKS[0]
    world = SandboxWorld.generate(seed=7, conversions_per_network=sizes.conversions, networks=(network,))
    last = datetime.fromtimestamp(int(world.conversions(network.network_id).converted_at.max()), UTC)
    world.clock.set(last + timedelta(hours=1))
    start = world.anchor - timedelta(days=world.history_days + 2)
    end = world.clock.now() + timedelta(seconds=1)
    tmp = directory.with_name(directory.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    class Recording(requests.Session):
        count = 0

        def get(self, *args, **kwargs):
            reply = super().get(*args, **kwargs)
            if dict(kwargs["params"]).get("Method") != "getConversions":
                return reply  # Application::getTimezone
            Recording.count += 1
            (tmp / f"page-{Recording.count:05d}.json").write_bytes(reply.content)
            return reply

    with SandboxServer(world, port=0, rate_limit=(10**9, 1.0)) as server:
        client = TuneClient(
            network.network_id,
            world.token_for(network.network_id),
            server.api_url,
            affiliate_id=network.affiliate_id,
            session=Recording(),
            rate_limit=(10**9, 1.0),
            timeout=300,
        )
        rows = sum(page.rows for page in client.iter_conversion_tables(start, end, page_size=sizes.page_size))
        zone = client.timezone
    meta = {
        "rows": rows,
        "pages": Recording.count,
        "timezone": zone,
        "network_id": network.network_id,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "bytes": sum(p.stat().st_size for p in tmp.glob("page-*.json")),
    }
    (tmp / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)
    return directory, meta


class Replay:
    """A requests.Session stand-in answering Report::getConversions from captured bodies (no HTTP),
    so the client's own call path (envelope, paging, parsing) runs unchanged."""

    def __init__(self, bodies: Callable[[int], bytes]):
        self.bodies = bodies

    def get(self, url, params=None, timeout=None, stream=False, allow_redirects=True):
        page = int(dict(params)["page"])
        return _Reply(self.bodies(page))


@dataclass
class _Reply:
    """What the client reads of a streamed requests.Response."""

    content: bytes
    status_code: int = 200
    reason: str = "OK"
    headers: dict = field(default_factory=dict)
    raw: object = None  # what the client's deadline watchdog would shut; never fires here

    def iter_content(self, chunk_size: int):
        for offset in range(0, len(self.content), chunk_size):
            yield self.content[offset : offset + chunk_size]

    def close(self) -> None:
        pass


def pipeline_ingest(meta: dict, bodies: Callable[[int], bytes], db_path: Path) -> int:
    """The pipeline's path: TuneClient.iter_conversion_tables -> ConversionSweep.add_table, into a
    DuckDB file, as the conversions asset does it."""
    from trackly_pipeline.tune import TuneClient
    from trackly_pipeline.warehouse.conversions import ConversionSweep
    from trackly_pipeline.warehouse.database import Warehouse

    client = TuneClient(
        meta["network_id"],
        "benchmark-token",
        "http://replay.invalid/Apiv3/json",
        timezone=meta["timezone"],
        session=Replay(bodies),
        rate_limit=(10**9, 1.0),
    )
    with Warehouse(db_path).connect() as conn:
        sweep = ConversionSweep(conn, "acme", "benchmark")
        for page in client.iter_conversion_tables(
            datetime.fromisoformat(meta["start"]), datetime.fromisoformat(meta["end"])
        ):
            sweep.add_table(page.table, page.rejected)
        sweep.flush()
        staged = conn.execute("SELECT count(*) FROM staged_conversions").fetchone()[0]
    return staged


def ingest_child(directory: str) -> None:
    """Separate process: ingest the captured window reading each page from disk as it is asked for
    (as replies arrive from the network), and report the peak RSS."""
    directory_path = Path(directory)
    meta = json.loads((directory_path / "meta.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        rows = pipeline_ingest(
            meta, lambda n: (directory_path / f"page-{n:05d}.json").read_bytes(), Path(tmp) / "ingest.duckdb"
        )
    print(
        json.dumps(
            {
                "rows": rows,
                "peak_mb": peak_rss_mb(),
                "getrusage_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). getrusage's ru_maxrss survives fork + exec on Linux, so
    in a child of a big parent it reports the parent's size; VmHWM starts afresh at exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_ingest(sizes: Sizes) -> list[Row]:
    directory, meta = capture_pages(sizes)
    pages = [p.read_bytes() for p in sorted(directory.glob("page-*.json"))]
    rows = meta["rows"]

    def json_only():
        for body in pages:
            json.loads(body)

    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10**6))

        def pipeline():
            staged = pipeline_ingest(meta, lambda n: pages[n - 1], Path(tmp) / f"ingest-{next(counter)}.duckdb")
            assert staged == rows, (staged, rows)

        bound = median_time(json_only, sizes.repeats)
        value = median_time(pipeline, sizes.repeats)
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--ingest-child", str(directory)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["rows"] == rows
    per_second, bound_per_second = rows / value, rows / bound
    notes = [
        f"{rows:,} conversions in {meta['pages']} pages of {sizes.page_size:,}, "
        f"{meta['bytes'] / 1e6:,.0f} MB of sandbox replies"
    ]
    return [
        Row(
            "ingest: parse + load pages into DuckDB (iter_conversion_tables -> add_table)",
            "conversions/s",
            per_second,
            "json.loads of the same bytes",
            bound_per_second,
            ">= 200,000/s and within 3x",
            value / bound,
            per_second >= 200_000 and value / bound <= 3,
            notes,
        ),
        Row(
            f"ingest: peak RSS of a separate process ingesting the {rows:,}-conversion window",
            "MB",
            report["peak_mb"],
            "limit",
            1536,
            "< 1.5 GB",
            report["peak_mb"] / 1536,
            report["peak_mb"] < 1536,
            [
                f"VmHWM of the child; its getrusage ru_maxrss said {report['getrusage_mb']:,.0f} MB, inherited "
                "from the parent across fork + exec"
            ],
        ),
    ]

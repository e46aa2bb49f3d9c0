"""write_synthetic_clicks: layout, schema, uniqueness, and ids a benchmark can recompute from indexes."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow.parquet as pq

from trackly_pipeline.sandbox import SandboxWorld
from trackly_pipeline.sandbox.bulk import CLICK_SCHEMA, write_synthetic_clicks

from .conftest import ANCHOR


def test_bulk_clicks_with_a_world(tmp_path):
    world = SandboxWorld.generate(seed=3, anchor=ANCHOR, history_days=4, conversions_per_network=100)
    bulk = write_synthetic_clicks(tmp_path, 200_001, 3, world=world, seed=9)
    sql = duckdb.connect()
    clicks = f"read_parquet('{tmp_path}/clicks/*.parquet')"
    total, distinct = sql.execute(f"SELECT count(*), count(DISTINCT click_id) FROM {clicks}").fetchone()
    # The world logs a few click ids twice (sandbox/hard_cases.py); bulk ids are all new.
    assert total == 200_001 + len(world.clicks_frame())
    assert distinct == 200_001 + world.clicks_frame().click_id.nunique()
    bulk_files = sorted((tmp_path / "clicks").glob("*.bulk.parquet"))
    assert [p.name for p in bulk_files] == [
        "clicks-2026-11-16.bulk.parquet",
        "clicks-2026-11-17.bulk.parquet",
        "clicks-2026-11-18.bulk.parquet",
    ]
    assert pq.read_schema(bulk_files[0]).remove_metadata() == CLICK_SCHEMA
    world_file = sorted(p for p in (tmp_path / "clicks").glob("clicks-*.parquet") if ".bulk" not in p.name)[0]
    assert pq.read_schema(world_file).remove_metadata().equals(CLICK_SCHEMA.remove_metadata(), check_metadata=False)

    # Recompute a sample from indexes and find it in the files, as a benchmark making conversions would.
    sample = np.array([0, 1, 66_666, 66_667, 200_000])
    ids = bulk.click_ids(sample)
    got = sql.execute(
        f"SELECT click_id, epoch(clicked_at)::BIGINT, network_id, offer_id, message_id FROM {clicks} "
        f"WHERE click_id IN {tuple(ids.tolist())}"
    ).fetchall()
    by_id = {row[0]: row[1:] for row in got}
    networks, offers = bulk.offers(sample)
    for k, click_id in enumerate(ids.tolist()):
        assert by_id[click_id] == (
            int(bulk.clicked_at(sample)[k]),
            networks[k],
            int(offers[k]),
            bulk.message_ids(sample)[k],
        )
    assert set(networks) <= {n.network_id for n in world.networks}
    # Every bulk click's message exists, sent before the click; offers are the world's.
    bulk_clicks = f"read_parquet('{tmp_path}/clicks/*.bulk.parquet')"
    orphans = sql.execute(
        f"SELECT count(*) FROM {bulk_clicks} c LEFT JOIN read_parquet('{tmp_path}/messages/*.parquet') m "
        "USING (message_id) WHERE m.message_id IS NULL OR m.sent_at > c.clicked_at"
    ).fetchone()[0]
    assert orphans == 0
    assert (
        len(bulk.click_ids()) == 200_001
        and len(set(bulk.click_ids().tolist()).intersection(world.clicks_frame().click_id)) == 0
    )

"""Offer-sync diffs: each offer sync records in tune.offer_changes what changed per offer (payout,
status, URL, name), old and new, and nothing else; tested against the sandbox's scheduled edits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pytest

from trackly_pipeline.defs.assets.offers import offers_asset_key
from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.offers import OfferRow, replace_offers

pytestmark = pytest.mark.slow

TRUTH_COLUMN = {"payout": "default_payout", "status": "status", "name": "name", "offer_url": "offer_url"}


def sync_offers(project, key: str) -> dg.ExecuteInProcessResult:
    job = project.defs.get_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=project.instance, asset_selection=[offers_asset_key(key)], raise_on_error=False
    )
    assert result.success
    return result


def stored_changes(project, key: str) -> list[tuple]:
    return project.query(
        "SELECT offer_id, change, field, old_value, new_value, modified_at, sync_id FROM tune.offer_changes "
        "WHERE network = $network ORDER BY synced_at, offer_id, field",
        {"network": key},
    )


def truth_value(frame, offer_id: int, field: str) -> str:
    value = frame.set_index("offer_id").loc[offer_id, TRUTH_COLUMN[field]]
    return value


def same(field: str, stored: str, truth) -> bool:
    return Decimal(stored) == Decimal(truth) if field == "payout" else stored == truth


def test_each_sync_records_exactly_the_sandbox_offer_edits_with_old_and_new_values(project):
    world = project.world
    sync_offers(project, "acme")
    assert stored_changes(project, "acme") == []  # the first sync has nothing to compare with

    expected = world.offer_changes("acmenet")
    assert [c.kind for c in expected] == ["payout", "status", "name", "offer_url", "status"]
    seen = 0
    for change in expected:
        at = datetime.fromtimestamp(change.at, UTC)
        before = world.ground_truth_offers("acmenet", as_of=at - timedelta(seconds=1))
        world.clock.set(at + timedelta(minutes=5))
        after = world.ground_truth_offers("acmenet")
        result = sync_offers(project, "acme")

        rows = stored_changes(project, "acme")[seen:]
        seen += len(rows)
        assert len(rows) == 1, rows  # exactly this edit, nothing else
        offer_id, kind, field, old, new, modified_at, sync_id = rows[0]
        assert (offer_id, kind, field) == (change.offer_id, "changed", change.kind)
        assert same(field, old, truth_value(before, offer_id, field))
        assert same(field, new, truth_value(after, offer_id, field))
        assert old != new
        assert modified_at == at  # TUNE's Offer.modified of the new version
        assert project.query("SELECT kind, status FROM ops.sync_log WHERE sync_id = $id", {"id": sync_id}) == [
            ("offers", "success")
        ]

        metadata = result.get_asset_materialization_events()[0].materialization.metadata
        assert metadata["changed_offers"].value == 1
        assert str(offer_id) in metadata["changes"].value

    # a sync with nothing new records nothing
    world.clock.advance(timedelta(hours=1))
    sync_offers(project, "acme")
    assert len(stored_changes(project, "acme")) == len(expected)
    # other networks' edits are theirs: bolt was never synced, so nothing is recorded for it
    assert stored_changes(project, "bolt") == []


def test_a_sync_after_several_edits_records_the_net_change_per_field(project):
    world = project.world
    sync_offers(project, "bolt")
    edits = world.offer_changes("boltmedia")
    world.clock.set(datetime.fromtimestamp(max(c.at for c in edits), UTC) + timedelta(hours=1))
    sync_offers(project, "bolt")
    rows = {(r[0], r[2]): (r[3], r[4]) for r in stored_changes(project, "bolt")}
    start = world.ground_truth_offers("boltmedia", as_of=world.anchor)
    now = world.ground_truth_offers("boltmedia")
    # the pause was undone before this sync: no status change is recorded; the other three are
    expected = {(c.offer_id, c.kind) for c in edits if c.kind != "status"}
    assert set(rows) == expected
    for (offer_id, field), (old, new) in rows.items():
        assert same(field, old, truth_value(start, offer_id, field))
        assert same(field, new, truth_value(now, offer_id, field))


def offer(offer_id: int, **changes) -> OfferRow:
    values = dict(
        offer_id=offer_id,
        name=f"X Offer {offer_id}",
        tune_name=f"Offer {offer_id}",
        status="active",
        payout=Decimal("10.00000"),
        payout_type="cpa_flat",
        percent_payout=None,
        currency="USD",
        advertiser_id=None,
        advertiser=None,
        offer_url=f"https://o{offer_id}.example.com/?t={{transaction_id}}",
        tracking_url="https://t.example/aff_c",
        postback_url="https://p.example/",
        modified_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    values.update(changes)
    return OfferRow(**values)


def test_added_and_removed_offers_and_unchanged_fields(tmp_path):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    moments = [datetime(2026, 1, day, tzinfo=UTC) for day in (2, 3, 4)]
    catalogs = [
        [offer(1), offer(2)],
        [offer(1, payout=Decimal("12.5"), name="Y renamed"), offer(3)],  # prefix-only rename is no change
        [offer(1, payout=Decimal("12.5"), tune_name="Offer one"), offer(3)],
    ]
    stats = []
    with warehouse.connect() as conn:
        for catalog, moment in zip(catalogs, moments):
            with transaction(conn):
                stats.append(
                    replace_offers(conn, "n", catalog, import_all=True, synced_at=moment, sync_id=f"s{moment.day}")
                )
        rows = conn.execute(
            "SELECT sync_id, offer_id, change, field, old_value, new_value FROM tune.offer_changes "
            "ORDER BY sync_id, offer_id, change"
        ).fetchall()
    assert rows == [
        ("s3", 1, "changed", "payout", "10.00000", "12.50000"),
        ("s3", 2, "removed", None, "Offer 2", None),
        ("s3", 3, "added", None, None, "Offer 3"),
        ("s4", 1, "changed", "name", "Offer 1", "Offer one"),
    ]
    assert [s.changes for s in stats] == [0, 3, 1]

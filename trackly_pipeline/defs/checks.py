"""Asset checks on what goes wrong: duplicate keys, a network that stopped syncing, conversions
held at a stale state, a large unattributed share, missing exchange rates. (Payout mismatches: defs/assets/payout_mismatches.py;
reconciliation with TUNE's own totals: defs/reconciliation.py.)

`sync_is_fresh` also runs on its own, hourly, in the `sync_freshness` job (defs/jobs.py,
defs/schedules.py): inside a sync run it is only evaluated after a successful attribution, so it
could never see a network whose sweeps fail, hang or are no longer launched. "Now" is the `clock`
resource (defs/present.py)."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from trackly_pipeline.config import NetworkConfig, TracklyConfig
from trackly_pipeline.defs.asset_args import warehouse_pool
from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.assets.rollups import REVENUE_BY_OFFER
from trackly_pipeline.defs.metadata import markdown_table, window_text
from trackly_pipeline.defs.present import Clock
from trackly_pipeline.defs.resources import WarehouseResource
from trackly_pipeline.warehouse.checks import (
    freshness,
    held_conversions,
    latest_conversion,
    missing_fx_rates,
    unattributed_count,
)
from trackly_pipeline.warehouse.duplicates import describe, find_duplicates
from trackly_pipeline.warehouse.networks import identities, unconfigured_keys, unconfigured_message

FRESHNESS_CHECK = "sync_is_fresh"
NETWORKS_CHECK = "stored_networks_configured"
STALE_CHECK = "no_stale_conversions"
# Duplicated conversions listed in the check's table (all are counted).
DUPLICATE_SAMPLE = 20
# Held conversions named in the check's table (all are counted).
STALE_SAMPLE = 50
# A network whose analytics (swept to the present and attributed) end longer ago than this is stale.
FRESHNESS_LIMIT = timedelta(hours=2)
# Above this share of unattributed conversions (adjustments aside) the tracking links deserve a look.
MAX_UNATTRIBUTED_SHARE = 0.25
# The share is taken over recent conversions only: over the whole history a tracking break of a
# day or two would be diluted by months of healthy days.
UNATTRIBUTED_WINDOW = timedelta(days=7)


def _hours(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _run_window_end(context: dg.AssetCheckExecutionContext) -> tuple[datetime | None, str]:
    """The end of the run's partition window (a sync run's hours, a backfill's range), or None when
    the check runs on its own, outside any partitioned run."""
    run = context.op_execution_context
    if run.has_partition_key_range or run.has_partition_key:
        return run.partition_time_window.end, "the end of the run's partition window"
    return None, ""


def _utc(moment: datetime | None) -> str | None:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else None


def _freshness_text(
    swept: datetime | None,
    attributed: datetime | None,
    published: datetime | None,
    published_since: datetime | None,
    age: timedelta | None,
    passed: bool,
) -> str:
    """Which hour the analytics are fresh through, and, when stale, which step stopped."""
    if swept is None:
        return "stale: no conversion sweep has reached the present yet"
    if attributed is None:
        return (
            f"stale: swept through {_utc(swept)}, but never attributed (attribution failed, was skipped "
            "after a failed blocking check, or never ran)"
        )
    if published is None:
        return (
            f"stale: attributed through {_utc(attributed)} but never published (the analysts' copy was "
            "not published: see the failed rollups row)"
        )
    through = min(swept, attributed, published)
    limit = f"{'within' if passed else 'over'} the {_hours(FRESHNESS_LIMIT)} limit"
    text = f"{'fresh' if passed else 'stale'}: data through {_utc(through)}, {_hours(age)} ago ({limit})"
    if passed:
        return text
    if attributed < swept:
        return (
            f"{text}: swept through {_utc(swept)} but not attributed since {_utc(attributed)} "
            "(attribution failed, or was skipped after a failed blocking check)"
        )
    if published < attributed:
        return (
            f"{text}: attributed through {_utc(attributed)} but not published since {_utc(published_since)} "
            "(the analysts' copy was not published: see the failed rollups row)"
        )
    return f"{text}: no sweep reaching the present since {_utc(swept)}"


def build_network_checks(network: NetworkConfig, settings: TracklyConfig) -> list[dg.AssetChecksDefinition]:

    @dg.asset_check(
        asset=conversions_asset_key(network.key),
        name="no_duplicate_conversions",
        blocking=True,
        description=(
            f"Exactly one row per conversion of network {network.key!r} in tune.conversions and in "
            "analytics.attributed_conversions. A sweep or attribution that would leave one stored twice "
            "fails before it commits, and the analysts' copy is not published "
            f"while any network has one; the repair is `trackly network dedupe {network.key}`."
        ),
        pool=warehouse_pool(settings, network.key),
    )
    def no_duplicate_conversions(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.get().connect() as conn:
            # Both tables the publish refuses on (warehouse/duplicates.py).
            duplicates = find_duplicates(conn, network.key)
        sample = [(d.table_name, d.conversion_id, d.copies) for d in duplicates[:DUPLICATE_SAMPLE]]
        return dg.AssetCheckResult(
            passed=not duplicates,
            description=describe(duplicates) if duplicates else "one row per conversion",
            metadata={
                "duplicates": len(duplicates),
                "sample": dg.MetadataValue.md(markdown_table(["table", "conversion_id", "copies"], sample)),
            },
        )

    # On the attributed conversions: what analysts see is fresh only once attributed, and in a sync
    # run the check then follows the run's attribution (skipped when that fails or is skipped).
    @dg.asset_check(
        asset=attributed_asset_key(network.key),
        name=FRESHNESS_CHECK,
        description=(
            f"Network {network.key!r}'s analytics are fresh: the newest hour both swept by a successful "
            "conversion sync that reached the present (its window ended at the last full hour when it ran) "
            "and covered by a successful attribution (ops.sync_log) ended less than "
            f"{_hours(FRESHNESS_LIMIT)} ago, and published to the analysts' copy (after a failed rollups "
            "run, only attributions that finished before the newest successful one count). A backfill of "
            "old hours does not count, nor a sweep whose attribution failed or was skipped, nor data a "
            "failed publish (e.g. another network's duplicate) keeps from analysts. Evaluated hourly by "
            "the `sync_freshness` job, whether or "
            "not the syncs run or succeed."
        ),
        pool=warehouse_pool(settings, network.key),
    )
    def sync_is_fresh(warehouse: WarehouseResource, clock: dg.ResourceParam[Clock]) -> dg.AssetCheckResult:
        now = clock.now()
        # The newest hour swept to the present, attributed and published: the rules are in the SQL file.
        with warehouse.get().connect() as conn:
            swept, attributed, published, published_since = freshness(conn, network.key)
        fresh_through = min(swept, attributed, published) if swept and attributed and published else None
        age = now - fresh_through if fresh_through else None
        passed = age is not None and age <= FRESHNESS_LIMIT
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.WARN,
            description=_freshness_text(swept, attributed, published, published_since, age, passed),
            metadata={
                "fresh_through": _utc(fresh_through),
                "swept_through": _utc(swept),
                "attributed_through": _utc(attributed),
                "published_through": _utc(published),
                "present": _utc(now),
                "age_minutes": round(age.total_seconds() / 60, 1) if age is not None else None,
                "limit_minutes": FRESHNESS_LIMIT.total_seconds() / 60,
            },
        )

    @dg.asset_check(
        asset=conversions_asset_key(network.key),
        name=STALE_CHECK,
        description=(
            f"No conversion of network {network.key!r} is held at a stale state: TUNE still returns every "
            "stored conversion readably. A conversion TUNE sends back unreadable (ops.quarantine) keeps its "
            "last good state in tune.conversions (held_since); this names them, with the latest reason."
        ),
        pool=warehouse_pool(settings, network.key),
    )
    def no_stale_conversions(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.get().connect() as conn:
            stale = held_conversions(conn, network.key, limit=STALE_SAMPLE)
        held, rows = stale.count, stale.oldest.rows
        named = ", ".join(f"{r[0]} (since {r[1]:%Y-%m-%d %H:%M} UTC: {r[3]})" for r in rows[:5])
        description = (
            "every stored conversion is TUNE's latest"
            if not held
            else f"{held} conversion(s) held at their last good state, TUNE sends them unreadable: {named}"
            + (" ..." if held > 5 else "")
        )
        return dg.AssetCheckResult(
            passed=held == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=description,
            metadata={
                "held": held,
                "conversion_ids": dg.MetadataValue.json([r[0] for r in rows]),
                "held_conversions": dg.MetadataValue.md(markdown_table(stale.oldest.columns, rows)),
            },
        )

    @dg.asset_check(
        asset=attributed_asset_key(network.key),
        name="unattributed_share",
        description=(
            f"Share of network {network.key!r}'s conversions (adjustments aside) that resolved to no click "
            f"or message, over the {UNATTRIBUTED_WINDOW.days} days (by converted_at) ending at the end of "
            f"the run's hours (or, run alone, at the latest conversion): at most {MAX_UNATTRIBUTED_SHARE}."
        ),
        pool=warehouse_pool(settings, network.key),
    )
    def unattributed_share(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        end, source = _run_window_end(context)
        if end is None:
            with warehouse.get().connect() as conn:
                latest = latest_conversion(conn, network.key)
            end = latest.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1) if latest else None
            source = "the latest conversion"
        if end is None:
            return dg.AssetCheckResult(
                passed=True,
                severity=dg.AssetCheckSeverity.WARN,
                description="no conversions yet",
                metadata={"conversions": 0},
            )
        start = end - UNATTRIBUTED_WINDOW
        with warehouse.get().connect() as conn:
            unattributed, total = unattributed_count(conn, network.key, start, end)
        share = unattributed / total if total else 0.0
        return dg.AssetCheckResult(
            passed=share <= MAX_UNATTRIBUTED_SHARE,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{share:.1%} of {total} conversions unattributed, {window_text(start, end)}",
            metadata={
                "window": window_text(start, end),
                "window_ends_at": source,
                "unattributed": unattributed,
                "conversions": total,
                "share": round(share, 4),
                "limit": MAX_UNATTRIBUTED_SHARE,
            },
        )

    return [no_duplicate_conversions, sync_is_fresh, no_stale_conversions, unattributed_share]


def build_rollup_checks(settings: TracklyConfig) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(asset=REVENUE_BY_OFFER, name="fx_rates_complete", pool=warehouse_pool(settings))
    def fx_rates_complete(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        """Every conversion has an exchange rate to the reporting currency for its day (never guessed)."""
        with warehouse.get().connect() as conn:
            missing = missing_fx_rates(conn)
        return dg.AssetCheckResult(
            passed=not missing.rows,
            metadata={
                "reporting_currency": settings.reporting_currency,
                "missing": dg.MetadataValue.md(markdown_table(missing.columns, missing.rows)),
            },
        )

    configured = identities(settings.networks)

    @dg.asset_check(
        asset=REVENUE_BY_OFFER,
        name=NETWORKS_CHECK,
        blocking=True,
        description=(
            "Every network key with stored rows is in trackly.yaml. A renamed or removed key's rows would be "
            "summed with the configured networks' (a rename doubles its revenue), so the rollups and the "
            "analysts' copy wait until `trackly network rename OLD NEW` or `trackly network forget KEY`. "
            "Also evaluated hourly by the `sync_freshness` job."
        ),
        pool=warehouse_pool(settings),
    )
    def stored_networks_configured(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.get().connect() as conn:
            stale = unconfigured_keys(conn, configured)
        return dg.AssetCheckResult(
            passed=not stale,
            description=unconfigured_message(stale, configured) if stale else "every stored network key is configured",
            metadata={"unconfigured_keys": dg.MetadataValue.json({key: str(i) for key, i in stale.items()})},
        )

    return [fx_rates_complete, stored_networks_configured]

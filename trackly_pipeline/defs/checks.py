"""Asset checks on what goes wrong: duplicate keys, a network that stopped syncing, a large
unattributed share, missing exchange rates. (Payout mismatches: defs/assets/payout_mismatches.py;
reconciliation with TUNE's own totals: defs/reconciliation.py.)"""


from datetime import datetime, timedelta, timezone

import dagster as dg

from trackly_pipeline.config import NetworkConfig, TracklyConfig
from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.assets.rollups import REVENUE_BY_OFFER
from trackly_pipeline.defs.metadata import markdown_table

# A network whose last successful conversion sync is older than this is stale.
FRESHNESS_LIMIT = timedelta(hours=2)
# Above this share of unattributed conversions (adjustments aside) the tracking links deserve a look.
MAX_UNATTRIBUTED_SHARE = 0.25


def _query(context, sql: str, params: dict):
    with context.resources.warehouse.get().connect() as conn:
        cursor = conn.execute(sql, params)
        return [d[0] for d in cursor.description], cursor.fetchall()


def build_network_checks(network: NetworkConfig) -> list[dg.AssetChecksDefinition]:
    params = {"network": network.key}
    common = {"pool": "duckdb", "required_resource_keys": {"warehouse"}}

    @dg.asset_check(asset=conversions_asset_key(network.key), name="no_duplicate_conversions", blocking=True, **common)
    def no_duplicate_conversions(context) -> dg.AssetCheckResult:
        """Exactly one row per (network, conversion_id) in tune.conversions."""
        columns, rows = _query(
            context,
            "SELECT conversion_id, count(*) AS copies FROM tune.conversions WHERE network = $network "
            "GROUP BY conversion_id HAVING count(*) > 1 ORDER BY conversion_id LIMIT 20",
            params,
        )
        return dg.AssetCheckResult(
            passed=not rows, metadata={"duplicates": len(rows), "sample": dg.MetadataValue.md(markdown_table(columns, rows))}
        )

    @dg.asset_check(asset=conversions_asset_key(network.key), name="sync_is_fresh", **common)
    def sync_is_fresh(context) -> dg.AssetCheckResult:
        """The last successful conversion sync finished within the freshness limit."""
        _, rows = _query(
            context,
            "SELECT max(finished_at) FROM ops.sync_log WHERE network = $network AND kind = 'conversions' "
            "AND status = 'success'",
            params,
        )
        last = rows[0][0]
        age = datetime.now(timezone.utc) - last if last else None
        return dg.AssetCheckResult(
            passed=age is not None and age <= FRESHNESS_LIMIT,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"last_success": str(last), "age_minutes": round(age.total_seconds() / 60, 1) if age else None},
        )

    @dg.asset_check(asset=attributed_asset_key(network.key), name="unattributed_share", **common)
    def unattributed_share(context) -> dg.AssetCheckResult:
        """Share of conversions (adjustments aside) that resolved to no click or message."""
        _, rows = _query(
            context,
            "SELECT count(*) FILTER (WHERE attribution_method = 'unattributed'), count(*) "
            "FROM analytics.attributed_conversions WHERE network = $network AND NOT is_adjustment",
            params,
        )
        unattributed, total = rows[0]
        share = unattributed / total if total else 0.0
        return dg.AssetCheckResult(
            passed=share <= MAX_UNATTRIBUTED_SHARE,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"unattributed": unattributed, "conversions": total, "share": round(share, 4),
                      "limit": MAX_UNATTRIBUTED_SHARE},
        )

    return [no_duplicate_conversions, sync_is_fresh, unattributed_share]


def build_rollup_checks(settings: TracklyConfig) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(asset=REVENUE_BY_OFFER, name="fx_rates_complete", pool="duckdb", required_resource_keys={"warehouse"})
    def fx_rates_complete(context) -> dg.AssetCheckResult:
        """Every conversion has an exchange rate to the reporting currency for its day (never guessed)."""
        columns, rows = _query(
            context,
            "SELECT network, currency, converted_at::DATE AS day, count(*) AS conversions "
            "FROM analytics.attributed_conversions WHERE fx_rate IS NULL GROUP BY ALL ORDER BY day LIMIT 50",
            {},
        )
        return dg.AssetCheckResult(
            passed=not rows,
            metadata={"reporting_currency": settings.reporting_currency,
                      "missing": dg.MetadataValue.md(markdown_table(columns, rows))},
        )

    return [fx_rates_complete]

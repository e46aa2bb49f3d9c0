"""The offer catalog per network: Offer::findAll into tune.offers, with Trackly's tracking and
postback links. Auto-sync imports every offer; otherwise offers are imported by listing their ids
in the run config (the "select offers to import" step)."""

from datetime import UTC, datetime

import dagster as dg

from trackly_pipeline.config import MESSAGE_ID_FIELDS, NetworkConfig, TracklyConfig
from trackly_pipeline.defs.asset_args import API_KINDS, asset_args, network_group
from trackly_pipeline.defs.metadata import lake_commits, preview
from trackly_pipeline.defs.resources import TuneNetworkResource, WarehouseResource, api_pool, takes_network_tune
from trackly_pipeline.defs.sync_log import SyncAttempt, logged_sync
from trackly_pipeline.tune import Offer
from trackly_pipeline.tune.links import postback_url, tracking_url
from trackly_pipeline.warehouse.asset_counts import offers_changed
from trackly_pipeline.warehouse.networks import identities, register
from trackly_pipeline.warehouse.offers import OfferRow, OfferSyncStats, replace_offers
from trackly_pipeline.warehouse.sync_records import quarantine, record_sync


class OfferImportConfig(dg.Config):
    """Offer ids to import into Trackly in this run (they stay imported afterwards)."""

    import_offer_ids: list[int] = []  # noqa: RUF012 (Dagster config fields copy their default)


def offers_asset_key(network_key: str) -> dg.AssetKey:
    return dg.AssetKey(["tune", network_key, "offers"])


def offer_row(offer: Offer, network: NetworkConfig, postback_base_url: str) -> OfferRow:
    return OfferRow(
        offer_id=offer.offer_id,
        name=f"{network.offer_name_prefix}{offer.name}",
        tune_name=offer.name,
        status=offer.status,
        payout=offer.default_payout,
        payout_type=offer.payout_type,
        percent_payout=offer.percent_payout,
        currency=offer.currency or network.default_currency,
        advertiser_id=offer.advertiser_id,
        advertiser=offer.advertiser_name,
        offer_url=offer.offer_url,
        tracking_url=tracking_url(
            network.base_url,
            offer.offer_id,
            network.affiliate_id,
            message_id_param=MESSAGE_ID_FIELDS[network.message_id_field],
            global_params=network.global_url_params,
        ),
        postback_url=postback_url(postback_base_url, network.key),
        modified_at=offer.modified,
    )


def build_offers_asset(network: NetworkConfig, settings: TracklyConfig) -> dg.AssetsDefinition:
    configured = identities(settings.networks)

    @dg.asset(
        key=offers_asset_key(network.key),
        # Calls TUNE, so in the network's API pool like its sweeps, not the `duckdb` pool: a slow
        # catalog must not hold up other networks. The file is taken only to write (it waits for it).
        **asset_args(network_group(network.key), API_KINDS, pool=api_pool(network.key)),
        description=(
            f"Offer catalog of network {network.key!r} in tune.offers. Auto-sync "
            f"{'on' if network.offer_sync.auto else 'off'} ({network.offer_sync.frequency}). To import "
            "chosen offers, launch with run config `import_offer_ids: [..]`."
        ),
    )
    @takes_network_tune(network.key)
    def offer_catalog(
        context: dg.AssetExecutionContext,
        config: OfferImportConfig,
        warehouse: WarehouseResource,
        tune: TuneNetworkResource,
    ) -> dg.MaterializeResult:
        db = warehouse.get()
        attempt = SyncAttempt(network.key, "offers")
        with logged_sync(db, attempt, tune.secrets()):
            catalog = tune.client(context.log).read_offer_catalog()
            offers = catalog.offers
            found = {offer.offer_id for offer in offers}
            unknown = sorted(set(config.import_offer_ids) - found)
            if unknown:
                raise ValueError(f"offer ids not found in network {network.key!r}: {unknown}")
            rows = [offer_row(offer, network, settings.postback_base_url) for offer in offers]
            attempt.pages = max(1, -(-len(rows) // network.page_size))
            attempt.rows = len(rows)
            with db.connect() as conn:

                def replace() -> OfferSyncStats:
                    register(conn, network.key, configured, datetime.now(UTC))
                    attempt.quarantined = quarantine(
                        conn,
                        sync_id=attempt.sync_id,
                        network=network.key,
                        kind="offer",
                        rejected=catalog.rejected,
                        received_at=datetime.now(UTC),
                    )
                    stats = replace_offers(
                        conn,
                        network.key,
                        rows,
                        import_all=network.offer_sync.auto,
                        import_ids=config.import_offer_ids,
                        synced_at=datetime.now(UTC),
                        sync_id=attempt.sync_id,
                    )
                    record_sync(conn, attempt.entry("success"))
                    return stats

                stats = db.write(conn, replace)
                sample = preview(conn, "preview_offers.sql", {"network": network.key})
                changed = offers_changed(conn, attempt.sync_id)
                changes = preview(conn, "preview_offer_changes.sql", {"sync_id": attempt.sync_id})
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": stats.offers,
                "imported": stats.imported,
                "newly_imported": stats.newly_imported,
                "auto_sync": network.offer_sync.auto,
                "quarantined": attempt.quarantined,
                "preview": sample,
                "changed_offers": changed,
                "changes": changes,
                **lake_commits(db),
            }
        )

    return offer_catalog

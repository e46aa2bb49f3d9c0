"""The `trackly` command: the demo, the TUNE sandbox, test connection, the offer list, and the repairs of
what the warehouse stores for a network (rename, forget, dedupe)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trackly", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the whole pipeline on the TUNE sandbox and print a report")
    demo.add_argument("--days", type=int, default=7, help="hours to sync, in days, ending at the last full hour")
    demo.add_argument("--seed", type=int, default=7, help="the sandbox's seed")
    demo.add_argument("--conversions", type=int, default=3000, help="sandbox conversions per network")
    demo.add_argument(
        "--dir",
        default="demo",
        help="the demo's own folder, for its generated trackly.yaml, logs, DuckDB files and Dagster "
        "instance (default: demo); it must be new, empty, or made by an earlier demo",
    )
    demo.add_argument(
        "--partitions-start", help="partitions_start in the demo's trackly.yaml (default: the pipeline's)"
    )
    demo.add_argument(
        "--warehouse",
        choices=("duckdb", "ducklake"),
        default="duckdb",
        help="duckdb: a DuckDB file in the demo's folder (default); ducklake: a DuckLake lake, its catalog a "
        "database the demo makes on the local PostgreSQL ($TRACKLY_DEMO_POSTGRES, default "
        "'host=127.0.0.1 port=5432 user=postgres dbname=postgres'), its files in the demo's folder",
    )
    demo.set_defaults(func=_run_demo)

    test = commands.add_parser("test-connection", help="test the TUNE connection of each configured network")
    test.add_argument("--network", help="only this network key")
    test.set_defaults(func=_run_test_connection)

    offers = commands.add_parser("offers", help="list a network's offers with their import state")
    offers.add_argument("network", help="network key from trackly.yaml")
    offers.set_defaults(func=_run_offers)

    from trackly_pipeline.network_commands import register as register_network
    from trackly_pipeline.sandbox.cli import register

    register(commands)
    register_network(commands)
    args = parser.parse_args(argv)
    from trackly_pipeline.config import ConfigError

    try:
        return args.func(args)
    except ConfigError as exc:
        # A configuration mistake is the user's to fix: say what it is, not where Python was.
        print(f"trackly: {exc}", file=sys.stderr)
        return 2


def _run_demo(args: argparse.Namespace) -> int:
    from trackly_pipeline.demo import run_demo

    return run_demo(
        days=args.days,
        seed=args.seed,
        conversions=args.conversions,
        folder=args.dir,
        partitions_start=args.partitions_start,
        warehouse=args.warehouse,
    )


def _run_test_connection(args: argparse.Namespace) -> int:
    from trackly_pipeline.config import load_config
    from trackly_pipeline.tune import TuneClient

    # Only the networks tested need their token set.
    settings = load_config(require_tokens=False)
    keys = [args.network] if args.network else [network.key for network in settings.networks]
    chosen = [settings.network_with_token(key) for key in keys]
    failures = 0
    for network, token in chosen:
        client = TuneClient(
            network.network_id,
            token,
            network.api_url,
            timezone=network.timezone,
            affiliate_id=network.affiliate_id,
            max_retries=1,
            backoff_base=0.2,
        )
        check = client.test_connection()
        failures += not check.ok
        print(f"{network.key:<12} {'OK ' if check.ok else 'FAIL'} {check.outcome:<17} {check.message}")
    return 1 if failures else 0


def _run_offers(args: argparse.Namespace) -> int:
    from trackly_pipeline.offer_listing import print_offer_listing

    return print_offer_listing(args.network)


if __name__ == "__main__":
    sys.exit(main())

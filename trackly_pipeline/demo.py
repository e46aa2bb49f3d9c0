"""`./run demo`: start the TUNE sandbox, write Trackly's logs, run every network's sync through
Dagster over the last days, and print what an analyst would look at first.

Everything the demo writes is in a folder of its own (`demo/` in the current directory, or
`--dir`): a trackly.yaml it generates for its sandbox, the logs, the DuckDB files and its Dagster
instance. It never reads the user's trackly.yaml, $TRACKLY_CONFIG or $DAGSTER_HOME, never sets a
user's token variable, and writes into a folder only if it made that folder itself (the marker
file) or the folder is empty."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml
from dagster import DagsterInstance

from trackly_pipeline.config import load_config, parse_config
from trackly_pipeline.defs.partitions import hourly_partitions, partition_hour, range_tags, trailing_window
from trackly_pipeline.sandbox import SECOND_ACCOUNTS, SandboxServer, SandboxWorld
from trackly_pipeline.sandbox.expected_outputs import expected_conversions, expected_revenue, read_fx_rates
from trackly_pipeline.warehouse.database import query_sql_file
from trackly_pipeline.warehouse.lake import lake_attach_line

HISTORY_DAYS = 30
DEFAULT_DIR = "demo"

# A folder holding this file was made by the demo: a rerun clears what the demo writes there
# (OWNED), nothing else. A folder without it is never written to unless it is empty.
MARKER = ".trackly-demo"
MARKER_TEXT = """\
This folder was made by `trackly demo` (`./run demo`). Each run of the demo deletes and rewrites
trackly.yaml, data/ and dagster_home/ here, and nothing else. Delete this file and the demo will
refuse to touch the folder again.
"""
OWNED = ("trackly.yaml", "data", "dagster_home")

# The demo's Dagster instance, in its folder: the project's `.dagster_home` (or $DAGSTER_HOME) holds
# the real pipeline's runs and asset history, which the demo's runs must not join.
DAGSTER_YAML = """\
# Written by `trackly demo` for its own runs (the project's instance is .dagster_home).
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""

# The demo's networks: the sandbox's (and the shipped trackly.yaml's), acme2 being a second account
# of ours on acme's network id. Key, network id, affiliate id, message_id_field and time zone come
# from the sandbox; bolt has no time zone, so it is asked of the API as a real network's may be.
NETWORK_SETTINGS = {
    "acme": {
        "base_url": "https://clicks.itstracking.com",
        "offer_name_prefix": "ACME ",
        "global_url_params": {"mid": "{{messageId}}", "oid": "{{offerId}}", "ext": "{{externalId}}"},
        "offer_sync": {"auto": True, "frequency": "hourly"},
    },
    "bolt": {
        "base_url": "https://track.boltmedia.example",
        "offer_name_prefix": "BOLT ",
        "global_url_params": {"mid": "{{messageId}}"},
        "offer_sync": {"auto": False, "frequency": "daily"},
        "timezone": None,
    },
    "cobalt": {
        "base_url": "https://go.cobaltads.example",
        "offer_name_prefix": "COBALT ",
        "offer_sync": {"auto": True, "frequency": "daily"},
    },
    "acme2": {
        "base_url": "https://clicks.itstracking.com",
        "offer_name_prefix": "ACME2 ",
        "offer_sync": {"auto": True, "frequency": "hourly"},
    },
}


class DemoFolderError(Exception):
    """The demo's folder is not one it may write to."""


def token_variable(key: str) -> str:
    """The demo's own token variable for a network: never one a user sets for a real network."""
    return f"TRACKLY_DEMO_{key.upper()}_TOKEN"


def demo_config(
    world: SandboxWorld, api_url: str, partitions_start: str | None = None, lake_catalog: str | None = None
) -> dict:
    """trackly.yaml for the demo's folder: every sandbox account on `api_url`, paths inside the folder."""
    networks = []
    for account in world.accounts:
        settings = dict(NETWORK_SETTINGS.get(account.key, {"base_url": "https://clicks.example.com"}))
        asks_timezone = settings.pop("timezone", "") is None
        networks.append(
            {
                "key": account.key,
                "network_id": account.network_id,
                "network_token_env": token_variable(account.key),
                "api_url": api_url,
                "base_url": settings.pop("base_url"),
                "affiliate_id": account.affiliate_id,
                "message_id_field": account.message_id_field,
                **settings,
                **({} if asks_timezone else {"timezone": account.timezone}),
            }
        )
    config = {
        "warehouse": (
            {"backend": "ducklake", "catalog": lake_catalog, "data_path": "data/lake"}
            if lake_catalog
            else {"duckdb_path": "data/warehouse.duckdb"}
        ),
        "trackly": {"clicks": "data/trackly/clicks/*.parquet", "messages": "data/trackly/messages/*.parquet"},
        "fx_rates": "data/fx_rates.csv",
        "reporting_currency": "USD",
        "postback_base_url": "https://app.example.com",
    }
    if partitions_start is not None:
        config["partitions_start"] = partitions_start
    return {**config, "networks": networks}


def check_demo_folder(folder: Path) -> None:
    """Raise DemoFolderError unless the demo may write in `folder`: absent, empty, or made by it."""
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise DemoFolderError(f"{folder} is not a folder; the demo needs a folder of its own (--dir)")
        if not (folder / MARKER).is_file() and any(folder.iterdir()):
            raise DemoFolderError(
                f"{folder} is not empty and was not made by the demo (it has no {MARKER} file): the demo "
                f"writes only in a folder of its own and leaves this one alone. Pick another with --dir."
            )


def claim_demo_folder(folder: Path) -> None:
    """Make `folder` the demo's (checked first) and clear what an earlier run wrote there: OWNED
    entries only, a symbolic link among them removed, never followed."""
    check_demo_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(MARKER_TEXT)
    for name in OWNED:
        path = folder / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """`values` in os.environ for the demo's own runs, the earlier values restored afterwards."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_demo(
    days: int = 7,
    seed: int = 7,
    conversions: int = 3000,
    folder: str | Path = DEFAULT_DIR,
    partitions_start: str | None = None,
    warehouse: str = "duckdb",
) -> int:
    """`warehouse`: duckdb (the DuckDB file in the demo's folder) or ducklake (a lake whose catalog is a
    database of the demo's own on the local PostgreSQL, demo_lake.py, and whose files are in the folder)."""
    folder = Path(folder).expanduser().absolute()
    try:
        check_demo_folder(folder)
    except DemoFolderError as exc:
        print(f"trackly demo: {exc}")
        return 2
    lake_catalog = None
    if warehouse == "ducklake":
        from trackly_pipeline.demo_lake import DemoCatalogError, claim_demo_catalog

        try:
            lake_catalog = claim_demo_catalog()
        except DemoCatalogError as exc:
            print(f"trackly demo: {exc}")
            return 2
    now = datetime.now(UTC)
    end = now.replace(minute=0, second=0, microsecond=0)  # the sandbox's data is anchored here
    # With acme's second account: two keys on one network id, as the shipped trackly.yaml has them.
    world = SandboxWorld.generate(
        seed=seed, anchor=end, history_days=HISTORY_DAYS, conversions_per_network=conversions, accounts=SECOND_ACCOUNTS
    )
    config_path = folder / "trackly.yaml"
    # On a free port: a `trackly sandbox serve` (8765) or anything else listening stays undisturbed.
    with SandboxServer(world, port=0) as server:
        config = demo_config(world, server.api_url, partitions_start, lake_catalog)
        settings = parse_config(config, config_path, require_tokens=False)
        # Like the schedules: the window starts no earlier than the first partition (`partitions_start`).
        try:
            first, last = trailing_window(end, days, hourly_partitions(settings.partitions_start).start)
        except ValueError:  # the window would end before the first partition
            print(
                f"Nothing to sync: partitions_start {settings.partitions_start} is not "
                f"before the last full hour, {end:%Y-%m-%d %H:00} UTC."
            )
            return 2
        start = partition_hour(first)

        # A fresh start in the demo's own folder: the sandbox's data is anchored at this hour.
        claim_demo_folder(folder)
        config_path.write_text(
            "# Written by `trackly demo` for its sandbox; rewritten on each run.\n"
            + yaml.safe_dump(config, sort_keys=False)
        )
        settings = load_config(config_path, require_tokens=False)
        world.write_trackly_logs(Path(settings.clicks_glob).parent.parent)
        world.write_fx_rates(settings.fx_rates_path, settings.reporting_currency)
        home = folder / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(DAGSTER_YAML)

        print(
            f"TUNE sandbox (seed {seed}, {conversions} conversions per network) on {server.url}; "
            f"the demo's files in {folder}"
        )
        tokens = {token_variable(a.key): world.token_for(a.network_id) for a in world.accounts}
        with (
            environment({**tokens, "TRACKLY_CONFIG": str(config_path), "DAGSTER_HOME": str(home)}),
            DagsterInstance.from_config(str(home)) as instance,
        ):
            from trackly_pipeline.defs.build import build_definitions
            from trackly_pipeline.defs.jobs import sync_job_name

            settings = load_config(config_path)
            defs = build_definitions(settings)
            failed = []
            for network in settings.networks:
                started = time.monotonic()
                result = defs.resolve_job_def(sync_job_name(network.key)).execute_in_process(
                    instance=instance,
                    tags={**range_tags(first, last), "trackly/network": network.key},
                    run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                    raise_on_error=False,
                )
                status = "ok" if result.success else "FAILED"
                print(
                    f"  {sync_job_name(network.key):<18} {first} .. {last}  {status}  ({time.monotonic() - started:.1f} s)"
                )
                if not result.success:
                    failed.append(network.key)

    mismatches = print_report(settings, world, start, end)
    print(f"\nDemo finished in {(datetime.now(UTC) - now).total_seconds():.0f} s.")
    return 1 if failed or mismatches else 0


# grain: (the rollup's revenue per key, the same key in the ground truth)
GRAINS = {
    "message": ("demo_revenue_per_message.sql", ["message_id"]),
    "creative": ("demo_revenue_per_creative.sql", ["creative_id"]),
    "offer": ("demo_revenue_per_offer.sql", ["network_key", "offer_id"]),
}


def print_report(settings, world: SandboxWorld, start: datetime, end: datetime) -> int:
    """Print the report; return how many message/creative/offer totals differ from the ground truth."""
    mismatches = 0
    warehouse = settings.warehouse()
    with warehouse.connect(read_only=True) as conn:
        _table(conn, "Attribution by network", "demo_attribution_by_network.sql")
        _table(conn, f"Revenue by offer ({settings.reporting_currency}, top 10)", "demo_revenue_by_offer.sql")
        _table(conn, f"Revenue by creative ({settings.reporting_currency}, top 10)", "demo_revenue_by_creative.sql")
        _table(conn, "Integration log (ops.sync_log)", "demo_sync_log.sql")
        stored = {
            grain: {tuple(row[:-1]): row[-1] for row in query_sql_file(conn, sql_file).rows}
            for grain, (sql_file, _) in GRAINS.items()
        }
        clicks_counted = dict(query_sql_file(conn, "demo_clicks_per_network.sql").rows)

    # Every click the log holds for a configured account (network id and affiliate id), counted once
    # in revenue_by_offer under that key (the whole log is loaded, so all its days are rolled up).
    key_of = {(n.network_id, int(n.affiliate_id)): n.key for n in settings.networks}
    logged = world.clicks_frame()
    clicks_logged = Counter(
        key_of[account] for account in zip(logged.network_id, logged.affiliate_id.astype(int)) if account in key_of
    )
    differing_clicks = [
        k for k in set(clicks_logged) | set(clicks_counted) if clicks_logged.get(k, 0) != (clicks_counted.get(k) or 0)
    ]
    mismatches += len(differing_clicks)
    print("\nClicks in revenue_by_offer vs Trackly's log (each once, for the key of the account it was for)")
    print(
        f"  per network {len(clicks_logged):>5} keys    {sum(clicks_logged.values()):>12}  {len(differing_clicks)} differ"
    )

    if settings.fx_rates_path:
        truth = expected_conversions(
            world,
            start,
            end,
            read_fx_rates(settings.fx_rates_path),
            settings.reporting_currency,
            network_keys={n.key for n in settings.networks},
        )
        print(f"\nRevenue vs the sandbox's ground truth ({settings.reporting_currency}, to the cent)")
        for grain, (_, truth_columns) in GRAINS.items():
            expected = expected_revenue(truth, truth_columns)
            differing = [
                k for k in set(expected) | set(stored[grain]) if expected.get(k, 0) != (stored[grain].get(k) or 0)
            ]
            mismatches += len(differing)
            print(f"  per {grain:<9} {len(expected):>5} groups  {sum(expected.values()):>12}  {len(differing)} differ")

    print(
        f"\nThe demo's folder (its trackly.yaml, Trackly logs, DuckDB files, Dagster instance): {settings.path.parent}"
    )
    if warehouse.lake:
        print(f"DuckLake (runs write it, analysts read it): {warehouse.name}, data files in {warehouse.lake.data_path}")
        print(f'Analysts: duckdb -c "{lake_attach_line(warehouse.lake)}" (README, Running past one machine)')
    else:
        print(f"DuckDB (the pipeline writes it): {warehouse.path}")
        print(f"Analysts' copy (published after each run, never locked): {warehouse.published_path}")
    print(
        "Dagster UI on the project's trackly.yaml: `./run trackly sandbox serve` in one terminal (prints the token exports), then\n"
        "            `./run dagster dev -w workspace.yaml` in another, and open http://127.0.0.1:3000"
    )
    return mismatches


def _table(conn: duckdb.DuckDBPyConnection, title: str, sql_file: str) -> None:
    print(f"\n{title}")
    result = query_sql_file(conn, sql_file)
    columns = result.columns
    rows = [["" if v is None else str(v) for v in row] for row in result.rows]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    print("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths)))

"""`trackly sandbox serve|env`: run the TUNE sandbox from the command line.

`serve` prints the tokens' export lines and, with them, the control endpoints' secret for this run
(`export TUNE_SANDBOX_SECRET=...`); `env` prints the tokens only (they depend on the seed alone).

The world has the default networks and SECOND_ACCOUNTS (a second account of ours on acme's network),
as the shipped trackly.yaml configures them. Files written by `serve` under --data-dir match it:
trackly/clicks/*.parquet, trackly/messages/*.parquet, fx_rates.csv, and
sandbox/ground_truth.parquet (the truth as of the sandbox clock at start).
"""

from __future__ import annotations

import argparse
import threading
from datetime import UTC, datetime
from pathlib import Path

from .networks import DEFAULT_NETWORKS, SECOND_ACCOUNTS, network_token
from .server import CONTROL_SECRET_HEADER, SandboxServer
from .world import SandboxWorld

# The variable `serve` exports the control endpoints' per-run secret in (`env` cannot know it).
CONTROL_SECRET_ENV = "TUNE_SANDBOX_SECRET"


def _export_lines(seed: int, networks=DEFAULT_NETWORKS + SECOND_ACCOUNTS) -> list[str]:
    return [f"export {n.token_env_var}={network_token(seed, n.network_id)}" for n in networks]


def _serve(args: argparse.Namespace) -> int:
    print(
        f"Generating the sandbox world (seed {args.seed}, {args.conversions} conversions per network) ...", flush=True
    )
    world = SandboxWorld.generate(
        seed=args.seed,
        history_days=args.history_days,
        conversions_per_network=args.conversions,
        accounts=SECOND_ACCOUNTS,
    )
    data = Path(args.data_dir)
    world.write_trackly_logs(data / "trackly")
    world.write_fx_rates(data / "fx_rates.csv")
    world.write_ground_truth(data / "sandbox" / "ground_truth.parquet")
    print(
        f"Wrote Trackly logs to {data / 'trackly'}, FX rates to {data / 'fx_rates.csv'}, "
        f"ground truth to {data / 'sandbox' / 'ground_truth.parquet'}"
    )
    if not args.frozen_clock:
        # Run on real time from now on: the world's hour anchor is at most an hour behind.
        world.clock.follow_wall_clock = True
        world.clock.set(datetime.now(UTC))
    with SandboxServer(world, port=args.port) as server:
        ticking = "frozen" if args.frozen_clock else "following the wall clock"
        print(f"TUNE sandbox at {server.api_url} (clock {world.clock.now().isoformat()}, {ticking}); Ctrl-C stops it.")
        print(
            f"Its control endpoints ({server.url}/_sandbox/...) take JSON with the header "
            f"{CONTROL_SECRET_HEADER}: ${CONTROL_SECRET_ENV}, a new secret each run."
        )
        print(
            "\n".join(
                [*_export_lines(world.seed, world.accounts), f"export {CONTROL_SECRET_ENV}={server.control_secret}"]
            ),
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\nStopping the sandbox.")
    return 0


def _env(args: argparse.Namespace) -> int:
    # Tokens depend on the seed only, so no world needs generating.
    print("\n".join(_export_lines(args.seed)))
    return 0


def register(subparsers) -> None:
    """Add the `sandbox` command group to the `trackly` CLI's subparsers."""
    sandbox = subparsers.add_parser("sandbox", help="a local TUNE API over synthetic data")
    commands = sandbox.add_subparsers(dest="sandbox_command", required=True)

    serve = commands.add_parser("serve", help="generate a world, write its files, and serve the TUNE API")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--history-days", type=int, default=30)
    serve.add_argument("--conversions", type=int, default=2000, help="conversions per network")
    serve.add_argument("--data-dir", default="data")
    serve.add_argument(
        "--frozen-clock",
        action="store_true",
        help="keep the sandbox's clock at its start instead of letting it follow the wall clock",
    )
    serve.set_defaults(func=_serve)

    env = commands.add_parser("env", help="print the export lines for the sandbox's tokens")
    env.add_argument("--seed", type=int, default=7)
    env.set_defaults(func=_env)

"""TUNE sandbox: a local TUNE Network API v3 over a deterministic synthetic world.

world = SandboxWorld.generate(seed=7)
with SandboxServer(world) as server:
    ...  # point a TUNE client at server.url with world.token_env()
"""

from .clock import SandboxClock
from .faults import FaultRule
from .hostile import HOSTILE_ROW_CASES, HOSTILE_ROW_WHY, hostile_rows
from .networks import DEFAULT_NETWORKS, SECOND_ACCOUNTS, SandboxNetwork
from .server import SandboxServer
from .world import SandboxWorld

__all__ = [
    "DEFAULT_NETWORKS",
    "HOSTILE_ROW_CASES",
    "HOSTILE_ROW_WHY",
    "SECOND_ACCOUNTS",
    "FaultRule",
    "SandboxClock",
    "SandboxNetwork",
    "SandboxServer",
    "SandboxWorld",
    "hostile_rows",
]

"""The TUNE networks the sandbox impersonates, and their deterministic API tokens."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

# Where TUNE can carry an affiliate-supplied value; Trackly's message_id_field takes one of these.
SUB_ID_FIELDS: tuple[str, ...] = (
    "aff_sub",
    "aff_sub2",
    "aff_sub3",
    "aff_sub4",
    "aff_sub5",
    "affiliate_unique1",
    "affiliate_unique2",
    "affiliate_unique3",
    "affiliate_unique4",
    "affiliate_unique5",
    "source",
)

_KEY_PATTERN = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class SandboxNetwork:
    key: str  # config key, [a-z0-9_]+
    network_id: str  # TUNE network id
    timezone: str  # IANA zone; Stat.datetime etc. are rendered in it
    default_currency: str  # offers with currency null use it
    currencies: tuple[str, ...]  # currency mix for offers (None also appears = network default)
    message_id_field: str  # where Trackly message ids travel (one of SUB_ID_FIELDS)
    affiliate_id: str  # our affiliate id in that network
    report_access: bool = True  # False: the token cannot call Report::* (error reply)
    # False: Report::getConversions refuses ConversionsMobile.* fields as unknown ("Invalid field: ..."),
    # as a TUNE without them (only its current docs list them) would.
    mobile_report_fields: bool = True

    def __post_init__(self) -> None:
        if not _KEY_PATTERN.fullmatch(self.key):
            raise ValueError(f"network key must match [a-z0-9_]+: {self.key!r}")
        if self.message_id_field not in SUB_ID_FIELDS:
            raise ValueError(f"message_id_field must be one of {SUB_ID_FIELDS}: {self.message_id_field!r}")

    @property
    def token_env_var(self) -> str:
        return f"TUNE_{self.key.upper()}_TOKEN"


DEFAULT_NETWORKS: tuple[SandboxNetwork, ...] = (
    SandboxNetwork(
        key="acme",
        network_id="acmenet",
        timezone="America/New_York",
        default_currency="USD",
        currencies=("USD", "EUR"),
        message_id_field="aff_sub",
        affiliate_id="1001",
    ),
    SandboxNetwork(
        key="bolt",
        network_id="boltmedia",
        timezone="Europe/Berlin",
        default_currency="EUR",
        currencies=("EUR", "GBP"),
        message_id_field="aff_sub3",
        affiliate_id="2002",
    ),
    SandboxNetwork(
        key="cobalt",
        network_id="cobaltads",
        timezone="Asia/Kolkata",
        default_currency="GBP",
        currencies=("GBP", "USD"),
        message_id_field="affiliate_unique1",
        affiliate_id="3003",
    ),
)


# Another affiliate account of ours on acme's TUNE network: two keys on one network id, each with
# its own affiliate id (a legitimate setup: two brands, two partnerships with one network). Opt-in,
# `SandboxWorld.generate(accounts=SECOND_ACCOUNTS)`: the demo and `trackly sandbox serve` have it, and
# the shipped trackly.yaml configures it as `acme2`.
SECOND_ACCOUNTS: tuple[SandboxNetwork, ...] = (replace(DEFAULT_NETWORKS[0], key="acme2", affiliate_id="1002"),)


def network_token(seed: int, network_id: str) -> str:
    """The NetworkToken the sandbox accepts for a network: stable for a seed, 32 characters."""
    return "sbx" + hashlib.sha256(f"{seed}:{network_id}".encode()).hexdigest()[:29]

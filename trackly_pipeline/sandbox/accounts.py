"""Several affiliate accounts of ours on one TUNE network: one network id, several keys.

Trackly imports the network's offers under each account and builds each account's tracking links
with its own `aff_id`, so each click in the Trackly log carries the affiliate id it was for; TUNE
credits each account's conversions to its affiliate id, in the network's one conversion report
(Stat.id counts up across every affiliate's). An account beyond a network's first is a
`SandboxNetwork` with the same network id and network-level settings, and its own key and
affiliate id.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .conversions import NetworkConversions
from .networks import SandboxNetwork
from .partners import _merged_by_stat_id, partner_ids_beside

# What belongs to the TUNE network rather than to one affiliate account in it.
NETWORK_LEVEL = ("timezone", "default_currency", "currencies", "report_access", "mobile_report_fields")


def check_accounts(networks: tuple[SandboxNetwork, ...], accounts: tuple[SandboxNetwork, ...]) -> None:
    """`accounts` are further accounts on `networks`: same network-level settings, own key and
    affiliate id (none of them another partner's of the sandbox)."""
    first = {n.network_id: n for n in networks}
    keys = [n.key for n in (*networks, *accounts)]
    if len(set(keys)) != len(keys):
        raise ValueError("network keys must be unique across networks and accounts")
    for account in accounts:
        network = first.get(account.network_id)
        if network is None:
            raise ValueError(f"account {account.key!r}: network id {account.network_id!r} is not one of the networks")
        differ = [name for name in NETWORK_LEVEL if getattr(account, name) != getattr(network, name)]
        if differ:
            raise ValueError(
                f"account {account.key!r}: {', '.join(differ)} belong to the network; they must be {network.key!r}'s"
            )
        taken = {
            n.affiliate_id for n in (*networks, *accounts) if n.network_id == account.network_id and n is not account
        }
        if account.affiliate_id in taken or int(account.affiliate_id) in partner_ids_beside(network.affiliate_id):
            raise ValueError(
                f"account {account.key!r}: affiliate id {account.affiliate_id} is taken in {account.network_id!r}"
            )


def merge_accounts(rng: np.random.Generator, tables: list[NetworkConversions]) -> NetworkConversions:
    """One network's conversions of all our accounts (the first table's network first) in one
    table, renumbered so that Stat.id grows with time across them, as TUNE's one auto-increment
    id does (gaps of 1 to 3, like each account's own, leave room for other partners' rows)."""
    at = np.concatenate([t.converted_at for t in tables])
    owner = np.repeat(np.arange(len(tables)), [len(t) for t in tables])
    position = np.concatenate([np.arange(len(t)) for t in tables])
    order = np.lexsort((position, owner, at))
    ids = np.empty(len(at), dtype=np.int64)
    ids[order] = int(tables[0].conversion_id.min()) - 1 + np.cumsum(rng.integers(1, 4, size=len(at)))
    renumbered = [replace(t, conversion_id=ids[owner == k]) for k, t in enumerate(tables)]
    merged = renumbered[0]
    for table in renumbered[1:]:
        merged = _merged_by_stat_id(merged, table)
    return merged

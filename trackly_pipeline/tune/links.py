"""Tracking links and postback URLs for TUNE offers.

Trackly's click redirect fills `{click_id}` and its own `{{...}}` macros when a message is sent;
TUNE fills its `{...}` macros when it fires the postback. Both kinds stay literal here.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

# Characters that stay literal in query values so the macros survive for whoever fills them.
_MACRO_SAFE = "{}"


def tracking_url(
    base_url: str,
    offer_id: int,
    affiliate_id: str,
    *,
    message_id_param: str = "aff_sub",
    global_params: Mapping[str, str] | None = None,
) -> str:
    """The offer's `aff_c` link: aff_sub carries Trackly's click id; when the message id travels in
    another field, that parameter carries `{{messageId}}`; then the network's global params."""
    params = _own_params(offer_id, affiliate_id, message_id_param)
    params.extend((str(k), str(v)) for k, v in (global_params or {}).items())
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe=_MACRO_SAFE)}" for k, v in params)
    return f"{base_url.rstrip('/')}/aff_c?{query}"


def own_param_names(message_id_param: str = "aff_sub") -> frozenset[str]:
    """The parameters `tracking_url` sets itself. A global param of the same name would come after
    them and win (PHP keeps the last value), so the config refuses those names."""
    return frozenset(name for name, _ in _own_params(0, "", message_id_param))


def _own_params(offer_id: int, affiliate_id: str, message_id_param: str) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [
        ("offer_id", str(offer_id)),
        ("aff_id", str(affiliate_id)),
        ("aff_sub", "{click_id}"),
    ]
    if message_id_param != "aff_sub":
        params.append((message_id_param, "{{messageId}}"))
    return params


def postback_url(postback_base_url: str, network_key: str) -> str:
    """Trackly's TUNE postback (Offer > Postback Config), with TUNE's partner-postback macros."""
    return (
        f"{postback_base_url.rstrip('/')}/api/postbacks/tune?network={quote(network_key)}"
        "&click_id={aff_sub}&payout={payout}&currency={currency}"
        "&conversion_id={transaction_id}&offer_id={offer_id}"
    )

"""The TUNE Network API over a SandboxWorld: authentication, rate limit, and method dispatch."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from zoneinfo import ZoneInfo

from . import conversion_api, offer_api, report_api, stats_api
from .networks import SandboxNetwork
from .ratelimit import FixedWindowLimiter
from .wire import INVALID_NETWORK_BODY, NO_REPORT_ACCESS_MESSAGE, ApiError, failure, rate_limit_message, success
from .world import SandboxWorld


def get_timezone(world: SandboxWorld, network: SandboxNetwork, params: dict) -> dict:
    """Application::getTimezone.

    data = {"Timezone": {"id": "<number>", "name": "<IANA zone>", "gmt_offset": "+HH:MM"}};
    the offset is the one in force at the sandbox clock. Clients should read `name`.
    """
    offset = world.clock.now().astimezone(ZoneInfo(network.timezone)).strftime("%z")
    return {
        "Timezone": {
            "id": str(zlib.crc32(network.timezone.encode()) % 1000),
            "name": network.timezone,
            "gmt_offset": f"{offset[:3]}:{offset[3:]}",
        }
    }


def _offers(handler) -> Callable:
    return lambda world, network, params: handler(network, world.offers(network.network_id), params)


def _conversions(world: SandboxWorld, network: SandboxNetwork, params: dict) -> dict:
    names = {o.offer_id: o.model["name"] for o in world.offers(network.network_id)}
    return report_api.get_conversions(world.conversions(network.network_id), world.clock.epoch_seconds(), params, names)


METHODS: dict[str, Callable[[SandboxWorld, SandboxNetwork, dict], object]] = {
    "Offer::findAll": _offers(offer_api.find_all),
    "Offer::findAllByIds": _offers(offer_api.find_all_by_ids),
    "Offer::findById": _offers(offer_api.find_by_id),
    "Report::getConversions": _conversions,
    "Report::getStats": stats_api.get_stats,
    "Conversion::findAll": conversion_api.find_all,
    "Conversion::findUpdatedConversions": conversion_api.find_updated_conversions,
    "Application::getTimezone": get_timezone,
}


class SandboxApi:
    """Turns (Target, decoded params) into the JSON body TUNE would send (always HTTP 200)."""

    def __init__(self, world: SandboxWorld, rate_limit: tuple[int, float] = (50, 10.0)) -> None:
        self.world = world
        self.limiter = FixedWindowLimiter(*rate_limit)

    def rate_limited_body(self, target: str, params: dict, usage: int | None = None) -> dict:
        usage = self.limiter.calls + 1 if usage is None else usage
        return failure(target, params, rate_limit_message(self.limiter.calls, self.limiter.seconds, usage))

    def handle(self, target: str, params: dict) -> dict:
        network = self.world.find_network(params.get("NetworkId"))
        # A wrong token gets the reply an unknown network id gets, as from TUNE (recording 23).
        if network is None or params.get("NetworkToken") != self.world.token_for(network.network_id):
            return INVALID_NETWORK_BODY
        usage = self.limiter.hit(network.network_id)
        if usage > self.limiter.calls:
            return self.rate_limited_body(target, params, usage)
        method = f"{target}::{params.get('Method', '')}"
        handler = METHODS.get(method)
        if handler is None:
            return failure(target, params, f"Method {method} does not exist")
        if target == "Report" and not network.report_access:
            return failure(target, params, NO_REPORT_ACCESS_MESSAGE)
        try:
            return success(target, params, handler(self.world, network, params))
        except ApiError as error:
            return failure(target, params, error.message)

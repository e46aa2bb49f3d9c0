"""The loopback control endpoints (/_sandbox/...) that let out-of-process tests steer a server."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from .clock import as_utc
from .faults import FaultPlan, FaultRule
from .world import SandboxWorld

# The clock stays where every part of the world can compute with it (pandas' nanosecond timestamps
# end in 2262; epoch seconds before 1970 are negative).
CLOCK_MIN = datetime(1970, 1, 1, tzinfo=UTC)
CLOCK_MAX = datetime(2200, 1, 1, tzinfo=UTC)
_CLOCK_USAGE = 'expected {"now": "<ISO 8601 time>"} or {"advance_seconds": <number>}'


class ControlError(ValueError):
    pass


def _clock_target(world: SandboxWorld, payload) -> datetime:
    """The time a clock request moves to; ControlError for anything but one well-formed move
    within [CLOCK_MIN, CLOCK_MAX)."""
    if not isinstance(payload, dict) or len(payload) != 1 or not ({"now", "advance_seconds"} & set(payload)):
        raise ControlError(_CLOCK_USAGE)
    if "now" in payload:
        if not isinstance(payload["now"], str):
            raise ControlError(f"now must be an ISO 8601 time string, got {payload['now']!r}")
        try:
            target = as_utc(datetime.fromisoformat(payload["now"]))
        except (ValueError, OverflowError) as error:
            raise ControlError(f"now: {error}") from None
    else:
        seconds = payload["advance_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise ControlError(f"advance_seconds must be a finite number, got {seconds!r}")
        try:
            target = world.clock.now() + timedelta(seconds=seconds)
        except OverflowError:
            raise ControlError(f"advance_seconds {seconds!r} moves the clock out of range") from None
    if not CLOCK_MIN <= target < CLOCK_MAX:
        raise ControlError(
            f"the clock must stay from {CLOCK_MIN.isoformat()} to before {CLOCK_MAX.isoformat()}, "
            f"not {target.isoformat()}"
        )
    return target


def handle_control(verb: str, path: str, payload, world: SandboxWorld, faults: FaultPlan) -> dict:
    """Returns the JSON reply; raises ControlError for a bad request, KeyError for an unknown path."""
    if path == "/_sandbox/faults":
        if verb == "POST":
            if not isinstance(payload, list):
                raise ControlError("expected a JSON list of fault rules")
            try:
                faults.replace([FaultRule.from_dict(item) for item in payload])
            except (TypeError, ValueError) as error:
                raise ControlError(str(error)) from None
        elif verb == "DELETE":
            faults.clear()
        return {"faults": [rule.to_dict() for rule in faults.rules()]}
    if path == "/_sandbox/clock":
        if verb == "POST":
            world.clock.set(_clock_target(world, payload))
        return {"now": world.clock.now().isoformat()}
    raise KeyError(path)

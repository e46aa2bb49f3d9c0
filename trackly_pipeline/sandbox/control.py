"""The loopback control endpoints (/_sandbox/...) that let out-of-process tests steer a server."""
from __future__ import annotations

from datetime import datetime, timedelta

from .faults import FaultPlan, FaultRule
from .world import SandboxWorld


class ControlError(ValueError):
    pass


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
            if not isinstance(payload, dict):
                raise ControlError('expected {"now": iso} or {"advance_seconds": n}')
            try:
                if "now" in payload:
                    world.clock.set(datetime.fromisoformat(str(payload["now"])))
                elif "advance_seconds" in payload:
                    world.clock.advance(timedelta(seconds=float(payload["advance_seconds"])))
                else:
                    raise ControlError('expected {"now": iso} or {"advance_seconds": n}')
            except (TypeError, ValueError) as error:
                raise ControlError(str(error)) from None
        return {"now": world.clock.now().isoformat()}
    raise KeyError(path)

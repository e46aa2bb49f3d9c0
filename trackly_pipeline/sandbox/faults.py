"""Fault injection: rules that make chosen requests fail the ways a real TUNE endpoint does."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields

FAULT_KINDS = (
    "rate_limit",
    "http_500",
    "http_502",
    "http_504",
    "slow",
    "malformed_json",
    "invalid_token",
    "invalid_network",
    "api_error",
    "hostile_rows",
    "hostile_offers",
    "trickle",
    "truncated",
    "http_429",
    "short_page",
    "reply",
)
MAX_DELAY_S = 86_400  # a slow reply or trickle pause longer than a day is a typo
# Kinds that only make sense for one method; a rule of such a kind without `method` gets it.
_METHOD_OF_KIND = {"hostile_rows": "Report::getConversions", "hostile_offers": "Offer::findAll"}


@dataclass
class FaultRule:
    kind: str  # one of FAULT_KINDS; hostile_rows / hostile_offers: see hostile.py
    times: int | None = 1  # inject on this many matching requests; None = every matching request
    skip: int = 0  # let this many matching requests through first (e.g. fail on page k of n)
    method: str | None = None  # "Report::getConversions", "Offer::findAll", ...
    page: int | None = None  # only requests for this page (a request without `page` is page 1)
    network_id: str | None = None
    delay: float = 0.0  # seconds: before the reply for slow; between pieces for trickle
    message: str = "Internal error"  # for api_error
    piece_bytes: int = 8  # for trickle: body bytes per piece
    retry_after: str | None = "1"  # for http_429: the Retry-After header; None sends none
    keep_rows: int | None = None  # for short_page: rows of the page to send; None: all but the last
    body: str | None = None  # for reply: the body to send as it is (e.g. one echoing the request)
    # Matching requests seen so far; runtime state, not configuration.
    seen: int = field(default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._check_types()
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        only = _METHOD_OF_KIND.get(self.kind)
        if only is not None:
            if self.method is None:
                self.method = only
            elif self.method != only:
                raise ValueError(f"fault kind {self.kind!r} applies to {only} only")
        # A trickle without pauses would be an ordinary reply.
        if self.kind == "trickle" and (self.delay <= 0 or self.piece_bytes < 1):
            raise ValueError("fault kind 'trickle' needs delay > 0 (seconds between pieces) and piece_bytes >= 1")
        if self.kind == "reply" and self.body is None:
            raise ValueError("fault kind 'reply' needs body (the text to send)")
        if self.keep_rows is not None and self.keep_rows < 0:
            raise ValueError(f"keep_rows must be 0 or more, got {self.keep_rows}")

    def _check_types(self) -> None:
        """Refuse values a request would trip over later (rules also come as JSON from a client)."""

        def whole(name: str, value, minimum: int, optional: bool = False) -> None:
            if (value is None and optional) or (type(value) is int and value >= minimum):
                return
            raise ValueError(
                f"{name} must be a whole number >= {minimum}{' or null' if optional else ''}, got {value!r}"
            )

        def text(name: str, value, optional: bool = True) -> None:
            if not (isinstance(value, str) or (value is None and optional)):
                raise ValueError(f"{name} must be text{' or null' if optional else ''}, got {value!r}")

        text("kind", self.kind, optional=False)
        whole("times", self.times, 0, optional=True)
        whole("skip", self.skip, 0)
        text("method", self.method)
        whole("page", self.page, 1, optional=True)
        text("network_id", self.network_id)
        if (
            isinstance(self.delay, bool)
            or not isinstance(self.delay, (int, float))
            or not 0 <= self.delay <= MAX_DELAY_S
        ):
            raise ValueError(f"delay must be a number of seconds from 0 to {MAX_DELAY_S}, got {self.delay!r}")
        text("message", self.message, optional=False)
        whole("piece_bytes", self.piece_bytes, 0)
        text("retry_after", self.retry_after)
        whole("keep_rows", self.keep_rows, 0, optional=True)
        text("body", self.body)

    @classmethod
    def from_dict(cls, data: dict) -> FaultRule:
        if not isinstance(data, dict):
            raise ValueError(f"a fault rule is an object, got {data!r}")
        allowed = {f.name for f in fields(cls)} - {"seen"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("seen")
        return data

    def matches(self, method: str, page: int, network_id: str | None) -> bool:
        return (
            (self.method is None or self.method == method)
            and (self.page is None or self.page == page)
            and (self.network_id is None or self.network_id == network_id)
        )

    def fires(self) -> bool:
        """Count a matching request and say whether this one gets the fault."""
        self.seen += 1
        position = self.seen - self.skip  # 1-based among the requests past `skip`
        return position >= 1 and (self.times is None or position <= self.times)


class FaultPlan:
    """The active rules of one server; the first rule that fires wins."""

    def __init__(self, rules=()) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = list(rules)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def replace(self, rules) -> None:
        with self._lock:
            self._rules = list(rules)

    def clear(self) -> None:
        self.replace(())

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, method: str, page: int, network_id: str | None) -> FaultRule | None:
        with self._lock:
            chosen = None
            for rule in self._rules:
                # Every matching rule counts the request, so `skip` means the same for each rule.
                if rule.matches(method, page, network_id) and rule.fires() and chosen is None:
                    chosen = rule
            return chosen

"""Report::getConversions over a network's columnar conversion table, as of the sandbox clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import numpy as np

from .conversions import STATUSES, NetworkConversions
from .model_filters import like_pattern
from .money import tune_amount
from .networks import SandboxNetwork
from .paging import limit_and_page, page_slice
from .params import as_list
from .resends import serve_resends
from .wire import ApiError, page_envelope

MAX_LIMIT = 10_000


@dataclass
class ReportView:
    """The visible conversions with their state at the clock; columns are aligned numpy arrays."""

    table: NetworkConversions
    rows: np.ndarray
    status: np.ndarray
    payout: np.ndarray
    revenue: np.ndarray
    offer_names: dict | None = None  # names at the clock; default the names at generation


@dataclass(frozen=True)
class ReportField:
    kind: str  # int | text | datetime | date | money: how filter values are parsed
    values: Callable[[ReportView], np.ndarray]  # comparable values, for filters and sorting
    render: Callable[[ReportView, np.ndarray], list] | None = None  # wire values; default str()


def _column(name: str) -> Callable[[ReportView], np.ndarray]:
    return lambda v: getattr(v.table, name)[v.rows]


def _sub(name: str) -> Callable[[ReportView], np.ndarray]:
    return lambda v: v.table.sub_ids[name][v.rows]


def _money(values: np.ndarray) -> list:
    return [tune_amount(c) for c in values.tolist()]


def _day_start(v: ReportView) -> np.ndarray:
    local = v.table.local_seconds[v.rows]
    return local - local % 86_400


REPORT_FIELDS: dict[str, ReportField] = {
    "Stat.id": ReportField("int", _column("conversion_id")),
    "Stat.tune_event_id": ReportField("text", _column("tune_event_id")),
    "Stat.ad_id": ReportField("text", _column("ad_id")),
    "Stat.datetime": ReportField(
        "datetime", _column("local_seconds"), lambda v, p: v.table.local_text[v.rows[p]].tolist()
    ),
    "Stat.date": ReportField("date", _day_start, lambda v, p: [t[:10] for t in v.table.local_text[v.rows[p]].tolist()]),
    "Stat.offer_id": ReportField("int", _column("offer_id")),
    "Stat.affiliate_id": ReportField("int", _column("affiliate_id")),
    "Stat.goal_id": ReportField("int", _column("goal_id")),
    "Stat.status": ReportField("text", lambda v: np.array(STATUSES)[v.status]),
    "Stat.status_code": ReportField("int", _column("status_code")),
    "Stat.is_adjustment": ReportField("int", lambda v: v.table.is_adjustment[v.rows].astype(np.int64)),
    "Stat.payout": ReportField("money", lambda v: v.payout, lambda v, p: _money(v.payout[p])),
    "Stat.revenue": ReportField("money", lambda v: v.revenue, lambda v, p: _money(v.revenue[p])),
    "Stat.sale_amount": ReportField("money", _column("sale_cents"), lambda v, p: _money(v.table.sale_cents[v.rows[p]])),
    "Stat.currency": ReportField("text", _column("currency")),
    "Stat.source": ReportField("text", _sub("source")),
    "Offer.name": ReportField(
        "text",
        lambda v: np.array(
            [(v.offer_names or v.table.offer_names)[o] for o in v.table.offer_id[v.rows].tolist()], dtype=object
        ),
    ),
}
for _n, _sub_field in enumerate(("aff_sub", "aff_sub2", "aff_sub3", "aff_sub4", "aff_sub5"), start=1):
    REPORT_FIELDS[f"Stat.affiliate_info{_n}"] = ReportField("text", _sub(_sub_field))
    REPORT_FIELDS[f"ConversionsMobile.affiliate_unique{_n}"] = ReportField("text", _sub(f"affiliate_unique{_n}"))


def report_field(network: SandboxNetwork, name: str) -> ReportField | None:
    """The Report::getConversions field `name` as the network's TUNE knows it (None: unknown)."""
    if name.startswith("ConversionsMobile.") and not network.mobile_report_fields:
        return None
    return REPORT_FIELDS.get(name)


def parse_filter_value(field: ReportField, raw: str):
    text = str(raw).strip()
    try:
        if field.kind == "int":
            return int(text)
        if field.kind == "money":
            return int((Decimal(text) * 100).to_integral_value())
        if field.kind in ("datetime", "date"):
            moment = datetime.fromisoformat(text)  # "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS", network time
            seconds = int((moment.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds())
            return seconds - seconds % 86_400 if field.kind == "date" else seconds
    except (ValueError, InvalidOperation):
        raise ApiError(f"Invalid filter value {text}") from None
    return text


def _filter_mask(name: str, spec, view: ReportView) -> np.ndarray:
    field = report_field(view.table.network, name)
    if field is None:
        raise ApiError(f"Invalid filter field: {name}")
    if not isinstance(spec, dict) or "conditional" not in spec:
        raise ApiError(f"Filter on {name} needs a conditional")
    conditional = str(spec["conditional"]).upper()
    raw_values = as_list(spec.get("values"))
    column = field.values(view)
    if conditional in ("NULL", "NOT_NULL"):
        empty = column == "" if field.kind == "text" else np.zeros(len(column), dtype=bool)
        return empty if conditional == "NULL" else ~empty
    if not raw_values:
        raise ApiError(f"Filter on {name} needs values")
    if conditional in ("LIKE", "NOT_LIKE"):
        pattern = like_pattern(str(raw_values[0]))
        hit = np.array([pattern.fullmatch(str(x)) is not None for x in column.tolist()], dtype=bool)
        return hit if conditional == "LIKE" else ~hit
    return compare_values(column, conditional, [parse_filter_value(field, raw) for raw in raw_values], name)


_COMPARISONS = {
    "LESS_THAN": np.less,
    "LESS_THAN_OR_EQUAL_TO": np.less_equal,
    "GREATER_THAN": np.greater,
    "GREATER_THAN_OR_EQUAL_TO": np.greater_equal,
}


def compare_values(column: np.ndarray, conditional: str, values: list, name: str) -> np.ndarray:
    """The rows a report filter's value conditional keeps (shared by getConversions and getStats)."""
    if conditional == "EQUAL_TO":
        return np.isin(column, values)
    if conditional == "NOT_EQUAL_TO":
        return ~np.isin(column, values)
    if conditional == "BETWEEN":
        if len(values) != 2:
            raise ApiError(f"BETWEEN on {name} needs exactly two values")
        return (column >= values[0]) & (column <= values[1])  # inclusive at both ends
    if conditional not in _COMPARISONS:
        raise ApiError(f"Invalid conditional {conditional} for {name}")
    return _COMPARISONS[conditional](column, values[0])


def _sort_order(sort: dict, view: ReportView) -> np.ndarray:
    """Positions ordered by the sort keys (first key most significant), Stat.id breaking ties."""
    keys = [view.table.conversion_id[view.rows]]
    for name, direction in reversed(list(sort.items())):
        field = report_field(view.table.network, name)
        if field is None:
            raise ApiError(f"Invalid sort field: {name}")
        if str(direction).lower() not in ("asc", "desc"):
            raise ApiError(f"Invalid sort direction {direction} for {name}")
        _, ranks = np.unique(field.values(view), return_inverse=True)
        keys.append(-ranks if str(direction).lower() == "desc" else ranks)
    return np.lexsort(keys)


def _render_rows(view: ReportView, positions: np.ndarray, fields: list[str]) -> list[dict]:
    columns = []
    for name in fields:
        field = REPORT_FIELDS[name]
        if field.render is not None:
            rendered = field.render(view, positions)
        else:
            rendered = [str(x) for x in field.values(view)[positions].tolist()]
        model, _, attribute = name.partition(".")
        columns.append((model, attribute, rendered))
    rows = []
    for i in range(len(positions)):
        row: dict = {}
        for model, attribute, rendered in columns:
            row.setdefault(model, {})[attribute] = rendered[i]
        rows.append(row)
    return rows


def render_full_rows(table: NetworkConversions, clock_seconds: int, indexes: np.ndarray) -> list[dict]:
    """Rows `indexes` of the table with every report field, in their state at the clock."""
    rows = np.asarray(indexes, dtype=np.int64)
    view = ReportView(table, rows, *table.state_at_clock(rows, clock_seconds))
    return _render_rows(view, np.arange(len(rows)), list(REPORT_FIELDS))


def get_conversions(
    table: NetworkConversions, clock_seconds: int, params: dict, offer_names: dict | None = None
) -> dict:
    fields = as_list(params.get("fields"))
    if not fields:
        raise ApiError("Missing required argument: fields")
    for name in fields:
        if report_field(table.network, name) is None:
            raise ApiError(f"Invalid field: {name}")
    filters = params.get("filters") or {}
    sort = params.get("sort") or {}
    if not isinstance(filters, dict) or not isinstance(sort, dict):
        raise ApiError("filters and sort must be arrays")
    limit, page = limit_and_page(params, MAX_LIMIT)

    rows = table.visible(clock_seconds)
    view = ReportView(table, rows, *table.state_at_clock(rows, clock_seconds), offer_names)
    mask = np.ones(len(rows), dtype=bool)
    for name, spec in filters.items():
        mask &= _filter_mask(name, spec, view)
    view = ReportView(table, rows[mask], view.status[mask], view.payout[mask], view.revenue[mask], offer_names)

    order = _sort_order(sort, view)
    page_positions = order[page_slice(limit, page)]
    rendered = _render_rows(view, page_positions, fields)
    serve_resends(table, clock_seconds, view.rows[page_positions], rendered)
    envelope = page_envelope(page if limit else 1, limit, len(order), rendered)
    if str(params.get("totals", "")).lower() in ("1", "true"):
        envelope["totals"] = {
            "Stat": {
                "payout": tune_amount(int(view.payout.sum())),
                "revenue": tune_amount(int(view.revenue.sum())),
                "sale_amount": tune_amount(int(table.sale_cents[view.rows].sum())),
            }
        }
    return envelope

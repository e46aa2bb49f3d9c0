"""The columnar shape of conversions: one Arrow schema owned by the tune layer.

`CONVERSION_SCHEMA` has the columns of tune.conversions that come from TUNE, in table order
(without `network` and the seen timestamps). The warehouse stages exactly these columns (plus its
own `seq`), so the tune layer can hand over Arrow tables without importing the warehouse.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from .models import Conversion

MONEY = pa.decimal128(18, 5)
UTC_TIME = pa.timestamp("us", tz="UTC")
SUB_ID_FIELDS = (
    "aff_sub",
    "aff_sub2",
    "aff_sub3",
    "aff_sub4",
    "aff_sub5",
    "source",
    "affiliate_unique1",
    "affiliate_unique2",
    "affiliate_unique3",
    "affiliate_unique4",
    "affiliate_unique5",
)
CONVERSION_SCHEMA = pa.schema(
    [
        ("conversion_id", pa.int64()),
        ("tune_event_id", pa.string()),
        ("converted_at", UTC_TIME),
        ("ad_id", pa.string()),
        ("offer_id", pa.int64()),
        ("affiliate_id", pa.int64()),
        ("goal_id", pa.int64()),
        ("status", pa.string()),
        ("status_code", pa.int32()),
        ("is_adjustment", pa.bool_()),
        ("payout", MONEY),
        ("revenue", MONEY),
        ("sale_amount", MONEY),
        ("currency", pa.string()),
        *[(name, pa.string()) for name in SUB_ID_FIELDS],
    ]
)


def conversions_table(conversions: Sequence[Conversion]) -> pa.Table:
    """Typed Conversion records -> a CONVERSION_SCHEMA table, in the given order."""
    columns = {name: [getattr(c, name) for c in conversions] for name in CONVERSION_SCHEMA.names}
    return pa.Table.from_pydict(columns, schema=CONVERSION_SCHEMA)


__all__ = ["CONVERSION_SCHEMA", "MONEY", "SUB_ID_FIELDS", "UTC_TIME", "conversions_table"]

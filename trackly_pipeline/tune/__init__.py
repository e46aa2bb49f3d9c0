"""TUNE (HasOffers) Network API v3 client. Plain Python: no Dagster imports here."""

from .client import ConnectionCheck, OfferCatalog, TuneClient
from .conversion_schema import CONVERSION_SCHEMA
from .envelope import Page
from .errors import (
    TuneApiError,
    TuneAuthError,
    TuneConnectionError,
    TuneError,
    TuneHttpError,
    TuneIncompleteSweepError,
    TuneInvalidNetworkError,
    TunePermissionError,
    TuneRateLimitError,
    TuneReplyRefusedError,
    TuneResponseError,
    TuneTooManyPagesError,
)
from .models import (
    AFFILIATE_UNIQUE_FIELDS,
    CONVERSION_FIELDS,
    CONVERSION_STAT_FIELDS,
    OFFER_FIELDS,
    Conversion,
    ConversionBatch,
    Offer,
    RejectedRow,
    RowError,
    parse_conversion_row,
    parse_offer_row,
)
from .page_parser import ConversionPage, parse_conversion_rows
from .params import encode_params
from .ratelimit import RateLimiter

__all__ = [
    "AFFILIATE_UNIQUE_FIELDS",
    "CONVERSION_FIELDS",
    "CONVERSION_SCHEMA",
    "CONVERSION_STAT_FIELDS",
    "OFFER_FIELDS",
    "ConnectionCheck",
    "Conversion",
    "ConversionBatch",
    "ConversionPage",
    "Offer",
    "OfferCatalog",
    "Page",
    "RateLimiter",
    "RejectedRow",
    "RowError",
    "TuneApiError",
    "TuneAuthError",
    "TuneClient",
    "TuneConnectionError",
    "TuneError",
    "TuneHttpError",
    "TuneIncompleteSweepError",
    "TuneInvalidNetworkError",
    "TunePermissionError",
    "TuneRateLimitError",
    "TuneReplyRefusedError",
    "TuneResponseError",
    "TuneTooManyPagesError",
    "encode_params",
    "parse_conversion_row",
    "parse_conversion_rows",
    "parse_offer_row",
]

"""How a client talks to a TUNE network unless told otherwise: the one place each default is
written. trackly.yaml's network fields (config.py), the Dagster resource and TuneClient all start
from these; the values suit TUNE, and tests shorten them."""

# Rows per page of a paginated call (TUNE's own maximum for reports is far higher).
PAGE_SIZE = 5000
# Seconds a whole request may take, connecting to its last body byte.
TIMEOUT_S = 30.0
# Retries of a failed call (connection, 5xx, malformed reply), with full-jitter backoff from
# BACKOFF_BASE_S doubling per attempt up to BACKOFF_MAX_S.
MAX_RETRIES = 5
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
# TUNE's rate limit: calls per window of seconds, per network; and how many times a call waits
# out a rate-limit reply before it fails.
RATE_LIMIT_CALLS = 40
RATE_LIMIT_WINDOW_S = 10.0
RATE_LIMIT_RETRIES = 5


def default_api_url(network_id: str) -> str:
    """The Network API v3 endpoint of a network hosted by TUNE."""
    return f"https://{network_id}.api.hasoffers.com/Apiv3/json"

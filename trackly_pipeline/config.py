"""trackly.yaml: load it, check every field, fail early with the file, network and field named.

The file is found at $TRACKLY_CONFIG, else ./trackly.yaml, else the project root's trackly.yaml.
Relative paths inside it are relative to the file. Tokens are never in the file: each network
names the environment variable that holds its token, and that variable must be set.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from trackly_pipeline import bounded_yaml
from trackly_pipeline.globs import Component, GlobError, glob_components, globs_meet, path_components
from trackly_pipeline.tune.links import own_param_names
from trackly_pipeline.warehouse.database import Warehouse

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "TRACKLY_CONFIG"

# Where TUNE can carry the Trackly message id, and the tracking-link parameter that fills it.
MESSAGE_ID_FIELDS: dict[str, str] = {
    "aff_sub": "aff_sub",
    **{f"aff_sub{i}": f"aff_sub{i}" for i in range(2, 6)},
    **{f"affiliate_unique{i}": f"aff_unique{i}" for i in range(1, 6)},
    "source": "source",
}
# Macros Trackly fills in when it sends a message (see the seed page, "Global URL Params").
TRACKLY_MACROS = frozenset({"{{messageId}}", "{{offerId}}", "{{externalId}}"})
OFFER_SYNC_FREQUENCIES = ("hourly", "daily")
KEY_PATTERN = re.compile(r"^[a-z0-9_]+$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
# The longest wait a seconds field may ask for: a day (runs are stopped after an hour anyway).
MAX_SECONDS = 86_400
# Shortest NetworkToken accepted (TUNE's are 32+ characters). A shorter one cannot be masked safely:
# it turns up in ordinary text, so masking it mangles messages, and what a message leaves of it is guessable.
MIN_TOKEN_LENGTH = 16
MACRO_PATTERN = re.compile(r"\{\{[^{}]*\}\}|\{[^{}]*\}")
# Dagster's hourly partition key format (defs/partitions.py).
PARTITIONS_START_FORMAT = "%Y-%m-%d-%H:%M"

# Warnings at load: on stderr from the CLI, in the code server's log under Dagster.
log = logging.getLogger(__name__)
_WARNED: set[tuple] = set()


class ConfigError(ValueError):
    """trackly.yaml is invalid. The message names the file, the network and the field."""


@dataclass(frozen=True)
class OfferSync:
    auto: bool = True
    frequency: str = "hourly"


@dataclass(frozen=True)
class NetworkConfig:
    key: str
    network_id: str
    network_token_env: str
    api_url: str
    base_url: str
    affiliate_id: str
    message_id_field: str = "aff_sub"
    offer_name_prefix: str = ""
    global_url_params: dict[str, str] = field(default_factory=dict)
    offer_sync: OfferSync = OfferSync()
    timezone: str | None = None
    lookback_days: int = 7
    # Once a day (at this UTC hour) the hourly sweep reaches back this far instead, to catch status
    # and payout changes older than the lookback window.
    wide_sweep_days: int = 45
    wide_sweep_hour: int = 3
    # Click (or send) to conversion, per Trackly's rules: 7 days unless an offer says otherwise.
    attribution_window_days: int = 7
    offer_attribution_window_days: dict[int, int] = field(default_factory=dict)
    # How far after a conversion a click or send may be logged and still earn it: Trackly's and the
    # network's clocks are never exactly in step. A click later than that cannot have earned it.
    attribution_clock_skew_s: int = 300
    page_size: int = 5000
    default_currency: str | None = None
    # How patiently to talk to the API (the defaults suit TUNE; tests shorten them).
    timeout_s: float = 30.0
    max_retries: int = 5
    backoff_base_s: float = 1.0
    rate_limit_calls: int = 40
    rate_limit_window_s: float = 10.0


@dataclass(frozen=True)
class TracklyConfig:
    path: Path
    duckdb_path: Path
    clicks_glob: str
    messages_glob: str
    reporting_currency: str
    postback_base_url: str
    networks: tuple[NetworkConfig, ...]
    fx_rates_path: Path | None = None
    partitions_start: str = "2026-01-01-00:00"

    def network(self, key: str) -> NetworkConfig:
        for network in self.networks:
            if network.key == key:
                return network
        raise KeyError(key)

    def network_with_token(self, key: str) -> tuple[NetworkConfig, str]:
        """A network and its token, for a command that talks to that network only: loaded with
        require_tokens=False, the file needs only this network's variable set. Unknown keys and
        unset variables are ConfigErrors named like the load-time ones."""
        where = _Where(self.path)
        if key not in {network.key for network in self.networks}:
            where.fail("networks", f"no network {key!r} (configured: {', '.join(n.key for n in self.networks)})")
        network = self.network(key)
        return network, _token(network.network_token_env, where.network_named(key))


def find_config_path() -> Path:
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser().resolve()
    local = Path.cwd() / "trackly.yaml"
    return local.resolve() if local.exists() else PROJECT_ROOT / "trackly.yaml"


def load_config(path: str | Path | None = None, *, require_tokens: bool = True) -> TracklyConfig:
    """require_tokens: every network's token variable must be set (the demo loads once without,
    to learn what to start, then sets them)."""
    path = Path(path).resolve() if path else find_config_path()
    try:
        raw = bounded_yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (set {CONFIG_ENV} or create trackly.yaml)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except bounded_yaml.YamlRefused as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML here: values nested too deeply") from None
    return parse_config(raw, path, require_tokens=require_tokens)


def parse_config(raw: Any, path: Path, *, require_tokens: bool = True) -> TracklyConfig:
    where = _Where(path)
    top = _mapping(raw, where, "")
    where.allowed(top, "", {"warehouse", "trackly", "reporting_currency", "postback_base_url", "networks",
                            "fx_rates", "partitions_start"})
    warehouse = _mapping(top.get("warehouse", {}), where, "warehouse")
    where.allowed(warehouse, "warehouse", {"duckdb_path"})
    trackly = _mapping(top.get("trackly"), where, "trackly")
    where.allowed(trackly, "trackly", {"clicks", "messages"})
    currency = str(top.get("reporting_currency", "USD"))
    if not CURRENCY_PATTERN.match(currency):
        where.fail("reporting_currency", f"{currency!r} is not a 3-letter currency code")
    postback = _url(top.get("postback_base_url"), where, "postback_base_url", required=True)

    networks_raw = top.get("networks")
    if not isinstance(networks_raw, list) or not networks_raw:
        where.fail("networks", "must be a non-empty list")
    networks = tuple(
        _network(item, where.network(i, item), require_tokens=require_tokens) for i, item in enumerate(networks_raw)
    )
    seen: set[str] = set()
    for network in networks:
        if network.key in seen:
            where.network_named(network.key).fail("key", f"duplicate network key {network.key!r}")
        seen.add(network.key)
    _check_shared_network_ids(networks, where)

    fx_rates = top.get("fx_rates")
    fx_rates_path = where.resolve(_string(fx_rates, where, "fx_rates")) if fx_rates else None
    duckdb_path = _duckdb_path(warehouse.get("duckdb_path", "data/trackly.duckdb"), where)
    clicks_glob, messages_glob = _log_globs(trackly, duckdb_path, where)
    return TracklyConfig(
        path=path,
        duckdb_path=duckdb_path,
        clicks_glob=clicks_glob,
        messages_glob=messages_glob,
        reporting_currency=currency,
        postback_base_url=postback.rstrip("/"),
        networks=networks,
        fx_rates_path=fx_rates_path,
        partitions_start=_partitions_start(top.get("partitions_start", "2026-01-01-00:00"), where),
    )


def _network(raw: Any, where: _Where, *, require_tokens: bool) -> NetworkConfig:
    item = _mapping(raw, where, "")
    where.allowed(item, "", {f.name for f in NetworkConfig.__dataclass_fields__.values()})
    key = _string(item.get("key"), where, "key")
    if not KEY_PATTERN.match(key):
        where.fail("key", f"{key!r} may only hold a-z, 0-9 and _ (it is used in asset keys and schedule names)")
    network_id = _string(item.get("network_id"), where, "network_id")
    if not re.match(r"^[A-Za-z0-9_-]+$", network_id):
        where.fail("network_id", f"{network_id!r} is not a TUNE network id")
    token_env = _string(item.get("network_token_env"), where, "network_token_env")
    if not re.match(r"^[A-Z_][A-Z0-9_]*$", token_env):
        where.fail("network_token_env", f"{token_env!r} is not an environment variable name")
    if require_tokens:
        _token(token_env, where)
    api_url = _url(item.get("api_url") or f"https://{network_id}.api.hasoffers.com/Apiv3/json", where, "api_url")
    base_url = _url(item.get("base_url"), where, "base_url", required=True)
    if any(char in base_url for char in "?#"):
        # The tracking link is base_url + "/aff_c?...": a query here would swallow it.
        where.fail("base_url", f"{base_url!r} must not have a query or fragment (the link appends /aff_c?...)")

    field_name = str(item.get("message_id_field", "aff_sub"))
    if field_name not in MESSAGE_ID_FIELDS:
        where.fail("message_id_field", f"{field_name!r} is not one of {', '.join(MESSAGE_ID_FIELDS)}")

    params = _mapping(item.get("global_url_params", {}), where, "global_url_params")
    own = own_param_names(MESSAGE_ID_FIELDS[field_name])
    for name, value in params.items():
        # Appended after the link's own parameters, a same-named one would replace them in PHP
        # (the last value wins): aff_sub would no longer carry the click id.
        if _php_param_name(str(name)) in own:
            where.fail(f"global_url_params.{name}",
                       f"the tracking link sets this parameter itself ({', '.join(sorted(own))} are reserved)")
        if value is None or isinstance(value, (bool, dict, list)):
            # YAML reads on/yes/true as a boolean, which would reach the link as "True".
            where.fail(f"global_url_params.{name}", "must be a string (quote it)")
        for macro in MACRO_PATTERN.findall(str(value)):
            if macro not in TRACKLY_MACROS:
                where.fail(f"global_url_params.{name}", f"unknown macro {macro}; known: {', '.join(sorted(TRACKLY_MACROS))}")

    sync_raw = _mapping(item.get("offer_sync", {}), where, "offer_sync")
    where.allowed(sync_raw, "offer_sync", {"auto", "frequency"})
    frequency = str(sync_raw.get("frequency", "hourly"))
    if frequency not in OFFER_SYNC_FREQUENCIES:
        where.fail("offer_sync.frequency", f"{frequency!r} is not one of {', '.join(OFFER_SYNC_FREQUENCIES)}")
    auto = sync_raw.get("auto", True)
    if not isinstance(auto, bool):
        where.fail("offer_sync.auto", "must be true or false")

    timezone = item.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            where.fail("timezone", f"unknown time zone {timezone!r}")
    default_currency = item.get("default_currency")
    if default_currency is not None and not CURRENCY_PATTERN.match(str(default_currency)):
        where.fail("default_currency", f"{default_currency!r} is not a 3-letter currency code")

    return NetworkConfig(
        key=key,
        network_id=network_id,
        network_token_env=token_env,
        api_url=api_url,
        base_url=base_url.rstrip("/"),
        affiliate_id=_affiliate_id(item.get("affiliate_id"), where),
        message_id_field=field_name,
        offer_name_prefix=_prefix(item.get("offer_name_prefix"), where, "offer_name_prefix"),
        global_url_params={str(k): str(v) for k, v in params.items()},
        offer_sync=OfferSync(auto=auto, frequency=frequency),
        timezone=str(timezone) if timezone is not None else None,
        lookback_days=_positive_int(item.get("lookback_days", 7), where, "lookback_days"),
        wide_sweep_days=_positive_int(item.get("wide_sweep_days", 45), where, "wide_sweep_days"),
        wide_sweep_hour=_hour(item.get("wide_sweep_hour", 3), where, "wide_sweep_hour"),
        attribution_window_days=_positive_int(item.get("attribution_window_days", 7), where, "attribution_window_days"),
        offer_attribution_window_days=_offer_windows(item.get("offer_attribution_window_days", {}), where),
        attribution_clock_skew_s=_non_negative_int(item.get("attribution_clock_skew_s", 300), where,
                                                   "attribution_clock_skew_s"),
        page_size=_positive_int(item.get("page_size", 5000), where, "page_size"),
        default_currency=str(default_currency) if default_currency is not None else None,
        timeout_s=_positive_number(item.get("timeout_s", 30.0), where, "timeout_s"),
        max_retries=_positive_int(item.get("max_retries", 5), where, "max_retries"),
        backoff_base_s=_positive_number(item.get("backoff_base_s", 1.0), where, "backoff_base_s"),
        rate_limit_calls=_positive_int(item.get("rate_limit_calls", 40), where, "rate_limit_calls"),
        rate_limit_window_s=_positive_number(item.get("rate_limit_window_s", 10.0), where, "rate_limit_window_s"),
    )


def _check_shared_network_ids(networks: tuple[NetworkConfig, ...], where: _Where) -> None:
    """Several keys on one TUNE network id are several affiliate accounts there: legitimate, and told
    apart by their affiliate ids. The same account under two keys would have each of its conversions
    swept, and counted, under both: refused. Clicks logged without `affiliate_id` on a shared network
    id cannot be told apart, so they count for no key's offers (rollups.sql): say so."""
    by_network_id: dict[str, list[NetworkConfig]] = {}
    for network in networks:
        # Case aside: a network id names the API host (acmenet.api.hasoffers.com), and DNS ignores case.
        by_network_id.setdefault(network.network_id.lower(), []).append(network)
    for network_id, sharing in by_network_id.items():
        if len(sharing) < 2:
            continue
        first_with: dict[str, str] = {}
        for network in sharing:
            other = first_with.setdefault(network.affiliate_id, network.key)
            if other != network.key:
                where.network_named(network.key).fail(
                    "affiliate_id", f"network {other!r} has the same network_id {network.network_id!r} (case aside) and affiliate_id "
                    f"{network.affiliate_id}: one TUNE account under two keys would count each of its "
                    "conversions twice")
        accounts = ", ".join(f"{n.key!r} (affiliate_id {n.affiliate_id})" for n in sharing)
        if (where.path, network_id, accounts) in _WARNED:
            continue  # once per process (the demo and the CLI load the file more than once)
        _WARNED.add((where.path, network_id, accounts))
        log.warning(
            "%s: networks %s share the TUNE network_id %r. Trackly clicks on it count for a key's offers in "
            "analytics.revenue_by_offer only when the click log carries the click's affiliate_id; a click logged "
            "without one cannot be told apart and counts for its message and creative only, for none of these "
            "keys' offers (docs/tables.md, trackly.clicks.affiliate_id)",
            where.path, accounts, network_id,
        )


class _Where:
    """Builds error messages that name the file, the network and the field."""

    def __init__(self, path: Path, network: str | None = None):
        self.path = path
        self.network_label = network

    def network(self, index: int, raw: Any) -> _Where:
        key = raw.get("key") if isinstance(raw, dict) else None
        return _Where(self.path, f"networks[{index}]" + (f" ({key})" if key else ""))

    def network_named(self, key: str) -> _Where:
        return _Where(self.path, f"network {key!r}")

    def fail(self, field_name: str, problem: str):
        scope = f"{self.network_label}: " if self.network_label else ""
        raise ConfigError(f"{self.path}: {scope}{field_name or 'value'}: {problem}")

    def allowed(self, mapping: dict, prefix: str, names: set[str]) -> None:
        unknown = sorted(set(mapping) - names)
        if unknown:
            self.fail(".".join(p for p in (prefix, str(unknown[0])) if p), f"unknown field (allowed: {', '.join(sorted(names))})")

    def resolve(self, value: str) -> Path:
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else (self.path.parent / candidate).resolve()


def _mapping(value: Any, where: _Where, name: str) -> dict:
    if not isinstance(value, dict):
        where.fail(name, "must be a mapping")
    return value


def _string(value: Any, where: _Where, name: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        where.fail(name, "is required")
    if not isinstance(value, (str, int)):
        where.fail(name, "must be a string")
    return str(value)


def _affiliate_id(value: Any, where: _Where) -> str:
    """TUNE's affiliate ids are numbers. The sweeps ask TUNE for this affiliate's conversions only,
    so a typo would not fail: it would find none, and the window would look emptied."""
    text = _string(value, where, "affiliate_id").strip()
    if not text.isascii() or not text.isdigit() or int(text) == 0:
        where.fail("affiliate_id", f"must be the network's numeric affiliate id, got {text!r}")
    return str(int(text))


def _positive_int(value: Any, where: _Where, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        where.fail(name, "must be a positive integer")
    return value


def _non_negative_int(value: Any, where: _Where, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        where.fail(name, "must be a whole number, 0 or more")
    return value


def _token(variable: str, where: _Where) -> str:
    """The token in `variable`; refused when unset or too short, naming the variable, never the value."""
    token = os.environ.get(variable)
    if not token:
        where.fail("network_token_env", f"environment variable {variable} is not set (the token lives only there)")
    if len(token) < MIN_TOKEN_LENGTH:
        where.fail("network_token_env", f"environment variable {variable} holds a token shorter than "
                                        f"{MIN_TOKEN_LENGTH} characters, too short to keep out of logs and errors "
                                        "(TUNE's are 32 or more)")
    return token


def _prefix(value: Any, where: _Where, name: str) -> str:
    """An empty YAML value (`offer_name_prefix:`) means no prefix, not the text 'None'."""
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        where.fail(name, "must be a string")
    return str(value)


def _offer_windows(value: Any, where: _Where) -> dict[int, int]:
    windows: dict[int, int] = {}
    for offer_id, days in _mapping(value, where, "offer_attribution_window_days").items():
        name = f"offer_attribution_window_days.{offer_id}"
        if isinstance(offer_id, bool) or not re.fullmatch(r"\s*[0-9]+\s*", str(offer_id)) or int(offer_id) <= 0:
            where.fail(name, f"{offer_id!r} is not an offer id (a positive integer)")
        if int(offer_id) in windows:
            where.fail(name, f"offer {int(offer_id)} is given twice")
        windows[int(offer_id)] = _positive_int(days, where, name)
    return windows


def _partitions_start(value: Any, where: _Where) -> str:
    """The first hourly partition as Dagster's key (YYYY-MM-DD-HH:MM, UTC). A date (YAML reads
    `2026-01-01` as one) means its midnight; a timestamp must fall on the hour."""
    expected = "expected YYYY-MM-DD-HH:MM (UTC, on the hour) or YYYY-MM-DD"
    if isinstance(value, str):
        for form in (PARTITIONS_START_FORMAT, "%Y-%m-%d"):
            try:
                value = datetime.strptime(value.strip(), form)
                break
            except ValueError:
                continue
        else:
            where.fail("partitions_start", f"{value!r} is not a start hour; {expected}")
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        where.fail("partitions_start", f"{value!r} is not a start hour; {expected}")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if (value.minute, value.second, value.microsecond) != (0, 0, 0):
        where.fail("partitions_start", f"{value.isoformat()} is not on the hour; {expected}")
    return value.strftime(PARTITIONS_START_FORMAT)


def _php_param_name(name: str) -> str:
    """The name PHP files a query parameter under: leading spaces dropped, ' ' and '.' become '_',
    and `a[x]` is an array under `a` (so `aff.sub` or `aff_sub[]` replace aff_sub too)."""
    name = name.lstrip(" ")
    bracket = name.find("[")
    if bracket > 0 and "]" in name[bracket:]:
        name = name[:bracket]
    return re.sub(r"[ .\[]", "_", name)


def _hour(value: Any, where: _Where, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 23:
        where.fail(name, "must be an hour of the day, 0 to 23 (UTC)")
    return value


def _positive_number(value: Any, where: _Where, name: str) -> float:
    """Seconds (timeouts, backoff, the rate-limit window): finite, and at most a day. YAML's `.nan`
    and `.inf` are floats, and a sleep or socket timeout of either (or of 1e12 s) raises at every
    call; no comparison holds for NaN, so the range test refuses it too."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= MAX_SECONDS:
        where.fail(name, f"must be a positive number of seconds, at most {MAX_SECONDS} (got {value!r})")
    return float(value)


def _url(value: Any, where: _Where, name: str, *, required: bool = False) -> str:
    """https everywhere; plain http only to this machine (the sandbox)."""
    if value is None:
        if required:
            where.fail(name, "is required")
        return ""
    parsed = urlparse(str(value))
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        where.fail(name, f"{value!r} is not an http(s) URL")
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        where.fail(name, f"{value!r} must use https (plain http is only allowed to localhost or 127.0.0.1)")
    return str(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# What DuckDB does not take literally in a database path. `?` starts a URL query to it: the WAL goes
# to another path and every commit fails. `\` is a folder separator to it. `*` and `[` make the
# analysts' copy's month file paths patterns when its views read them (read_parquet expands them
# even in a quoted path), so the copy would read other folders' files too. A quote cannot be
# written in those views' SQL (publish.py).
_DUCKDB_PATH_REFUSED = {
    "?": "DuckDB reads it as the start of a URL query (its write-ahead log would go elsewhere and every commit fail)",
    "*": "DuckDB expands it as a pattern when the analysts' copy reads its month files",
    "[": "DuckDB expands it as a pattern when the analysts' copy reads its month files",
    "\\": "DuckDB reads it as a folder separator",
    "'": "the analysts' copy's views name their month files in SQL text, where a quote cannot go",
}


def _duckdb_path(value: Any, where: _Where) -> Path:
    """The warehouse file, refused where DuckDB could not use it as that file (a NUL cannot be in a path)."""
    text = _string(value, where, "warehouse.duckdb_path")
    if "\x00" in text:
        where.fail("warehouse.duckdb_path", "a path cannot hold a NUL character")
    path = where.resolve(text)
    # DuckDB opens the path as written; the copy's views name the files by their real path
    for shown in dict.fromkeys((str(path), os.path.realpath(path))):
        for char, why in _DUCKDB_PATH_REFUSED.items():
            if char in shown:
                where.fail("warehouse.duckdb_path", f"{shown!r} holds {char!r}: {why}; choose a path without it")
    if path.is_dir():
        where.fail("warehouse.duckdb_path", f"{str(path)!r} is a folder; name the DuckDB file in it (e.g. warehouse.duckdb)")
    return path


def _log_globs(trackly: dict, duckdb_path: Path, where: _Where) -> tuple[str, str]:
    """The click and message log globs, refused when one can match a file the warehouse writes (a run
    would load the pipeline's own output: `data/*/*messages*/*.parquet` read the analysts' copy's
    month files of trackly.messages, which doubled on every run), or a file the other can match.
    "Can match" is decided on the patterns as `glob.glob` reads them (globs.py), whatever is on disk
    now: the month files are written later, under new names."""
    folder = path_components(os.path.realpath(duckdb_path.parent))
    globs: dict[str, tuple[str, tuple]] = {}
    for kind in ("clicks", "messages"):
        name = f"trackly.{kind}"
        text = _string(trackly.get(kind), where, name)
        if "\x00" in text:
            where.fail(name, "a path cannot hold a NUL character")
        pattern = str(where.resolve(text))
        try:
            components = glob_components(pattern)
        except GlobError as exc:
            where.fail(name, f"{pattern!r}: {exc}")
        for names, what in Warehouse(duckdb_path).own_files:
            if globs_meet(components, (*folder, *map(Component.of_pattern, names))):
                where.fail(name, f"{pattern!r} can match {what}, next to warehouse.duckdb_path {str(duckdb_path)!r}: "
                           "each run would load the pipeline's own files as Trackly's logs. Give the logs a folder "
                           "the glob does not share with the warehouse")
        globs[kind] = (pattern, components)
    (clicks, click_parts), (messages, message_parts) = globs["clicks"], globs["messages"]
    if globs_meet(click_parts, message_parts):
        where.fail("trackly.messages", f"{messages!r} and trackly.clicks {clicks!r} can match the same file, which "
                   "would be loaded as both; give each log a folder or a name pattern of its own")
    return clicks, messages

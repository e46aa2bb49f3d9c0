"""trackly.yaml: load it, check every field, fail early with the file, network and field named.

The file is found at $TRACKLY_CONFIG, else ./trackly.yaml, else the project root's trackly.yaml.
Relative paths inside it are relative to the file. Tokens are never in the file: each network
names the environment variable that holds its token, and that variable must be set.

The file's shape is the pydantic models below (`TracklyFile` and its sections, `NetworkConfig`):
unknown keys are refused, each default is written once, and every refusal is worded here (`_Refused`,
`_says`); `_config_error` turns pydantic's ValidationError into a ConfigError naming the file, the
network and the field. `load_config` returns the `TracklyConfig` the pipeline reads.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from trackly_pipeline import bounded_yaml
from trackly_pipeline.globs import Component, GlobError, glob_components, globs_meet, path_components
from trackly_pipeline.tune import defaults
from trackly_pipeline.tune.links import own_param_names
from trackly_pipeline.tune.models import extra_conversion_fields_for
from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.lake import (
    DEFAULT_COMMIT_ATTEMPTS,
    DEFAULT_SNAPSHOT_RETENTION_DAYS,
    LakeSettings,
    libpq_fields,
)

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


# ---- how a refusal is worded ----------------------------------------------------------------


class _Refused(ValueError):
    """A check's refusal, in the words the ConfigError will say. `field` names a part of the value
    checked (`global_url_params.<name>`, `trackly.messages` from a check of the whole file);
    `network` the network of a check across networks, by key."""

    def __init__(self, problem: str, *, field: str = "", network: str | None = None):
        super().__init__(problem)
        self.problem = problem
        self.field = field
        self.network = network


def _says(problem: str) -> WrapValidator:
    """Words what pydantic refuses in the checks annotated before it (type, Field constraints) as
    `problem`, which may quote the value as {value!r}. Refusals of the value's parts, and those
    already worded by a check, pass unchanged."""

    def reword(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if any(error["loc"] or isinstance(_refusal(error), _Refused) for error in exc.errors()):
                raise
            raise _Refused(problem.format(value=value)) from None

    return WrapValidator(reword)


def _refusal(error: ErrorDetails) -> Any:
    return error.get("ctx", {}).get("error")


@dataclass(frozen=True)
class _Loading:
    """The validation context: which file is read, and whether every network's token must be set."""

    path: Path
    require_tokens: bool

    def resolve(self, value: str) -> Path:
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else (self.path.parent / candidate).resolve()


def _loading(info: ValidationInfo) -> _Loading:
    return info.context


# ---- values -----------------------------------------------------------------------------------


def _path_text(value: Any) -> str:
    """A required path or glob (`_text`): no NUL, which no path can hold."""
    text = _text(value)
    if "\x00" in text:
        raise _Refused("a path cannot hold a NUL character")
    return text


def _text(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _Refused("is required")
    if not isinstance(value, (str, int)):
        raise _Refused("must be a string")
    return str(value)


def _prefix(value: Any) -> str:
    """An empty YAML value (`offer_name_prefix:`) means no prefix, not the text 'None'."""
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise _Refused("must be a string")
    return str(value)


def _url(value: Any) -> str:
    """https everywhere; plain http only to this machine (the sandbox)."""
    if value is None:
        raise _Refused("is required")
    parsed = urlparse(str(value))
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise _Refused(f"{value!r} is not an http(s) URL")
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        raise _Refused(f"{value!r} must use https (plain http is only allowed to localhost or 127.0.0.1)")
    return str(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _currency(value: Any) -> str:
    if not CURRENCY_PATTERN.match(str(value)):
        raise _Refused(f"{value!r} is not a 3-letter currency code")
    return str(value)


def _zone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise _Refused(f"unknown time zone {value!r}") from None
    return str(value)


def _or_none(check: Any) -> BeforeValidator:
    """`check` for a field that may be left empty (None)."""
    return BeforeValidator(lambda value: None if value is None else check(value))


def _one_of(choices: tuple[str, ...] | dict[str, str]) -> BeforeValidator:
    def check(value: Any) -> str:
        if str(value) not in choices:
            raise _Refused(f"{str(value)!r} is not one of {', '.join(choices)}")
        return str(value)

    return BeforeValidator(check)


def _token(variable: str) -> str:
    """The token in `variable`; refused when unset or too short, naming the variable, never the value."""
    token = os.environ.get(variable)
    if not token:
        raise _Refused(f"environment variable {variable} is not set (the token lives only there)")
    if len(token) < MIN_TOKEN_LENGTH:
        raise _Refused(
            f"environment variable {variable} holds a token shorter than {MIN_TOKEN_LENGTH} "
            "characters, too short to keep out of logs and errors (TUNE's are 32 or more)"
        )
    return token


def _text_matching(pattern: str, problem: str) -> Any:
    """A required string (`_text`) matching `pattern`, else `problem`, quoting the text as {value!r}.
    The BeforeValidator, listed after the WrapValidator, runs before it: the check sees the text."""
    return Annotated[str, Field(pattern=pattern), _says(problem), BeforeValidator(_text)]


NetworkKey = _text_matching(
    KEY_PATTERN.pattern, "{value!r} may only hold a-z, 0-9 and _ (it is used in asset keys and schedule names)"
)
NetworkId = _text_matching(r"^[A-Za-z0-9_-]+$", "{value!r} is not a TUNE network id")
VariableName = _text_matching(r"^[A-Z_][A-Z0-9_]*$", "{value!r} is not an environment variable name")
Url = Annotated[str, BeforeValidator(_url)]
PositiveInt = Annotated[int, Field(strict=True, gt=0), _says("must be a positive integer")]
WholeNumber = Annotated[int, Field(strict=True, ge=0), _says("must be a whole number, 0 or more")]
HourOfDay = Annotated[int, Field(strict=True, ge=0, le=23), _says("must be an hour of the day, 0 to 23 (UTC)")]
# Seconds (timeouts, backoff, the rate-limit window): finite, and at most a day. YAML's `.nan` and
# `.inf` are floats, and a sleep or socket timeout of either (or of 1e12 s) raises at every call;
# no comparison holds for NaN, so the range test refuses it too.
Seconds = Annotated[
    float,
    Field(strict=True, gt=0, le=MAX_SECONDS),
    _says(f"must be a positive number of seconds, at most {MAX_SECONDS} (got {{value!r}})"),
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- a network --------------------------------------------------------------------------------


class OfferSync(_Section):
    frequency: Annotated[str, _one_of(OFFER_SYNC_FREQUENCIES)] = "hourly"
    auto: Annotated[bool, Field(strict=True), _says("must be true or false")] = True


class NetworkConfig(_Section):
    """A network's fields in the order they are checked: a file with several problems is refused for
    the first, the same one as before pydantic (`_check_order`)."""

    key: NetworkKey
    network_id: NetworkId
    network_token_env: VariableName
    # TUNE's host for the network id unless given (an empty value too).
    api_url: Annotated[Url, Field(validate_default=True)] = ""
    base_url: Url
    message_id_field: Annotated[str, _one_of(MESSAGE_ID_FIELDS)] = "aff_sub"
    # After message_id_field: its validator reads which parameter carries the message id.
    global_url_params: dict[str, str] = {}
    offer_sync: OfferSync = OfferSync()
    timezone: Annotated[str | None, _or_none(_zone)] = None
    default_currency: Annotated[str | None, _or_none(_currency)] = None
    affiliate_id: str
    offer_name_prefix: Annotated[str, BeforeValidator(_prefix)] = ""
    lookback_days: PositiveInt = 7
    # Once a day (at this UTC hour) the hourly sweep reaches back this far instead, to catch status
    # and payout changes older than the lookback window.
    wide_sweep_days: PositiveInt = 45
    wide_sweep_hour: HourOfDay = 3
    # Click (or send) to conversion, per Trackly's rules: 7 days unless an offer says otherwise.
    attribution_window_days: PositiveInt = 7
    offer_attribution_window_days: dict[int, PositiveInt] = {}
    # How far after a conversion a click or send may be logged and still earn it: Trackly's and the
    # network's clocks are never exactly in step. A click later than that cannot have earned it.
    attribution_clock_skew_s: WholeNumber = 300
    page_size: PositiveInt = defaults.PAGE_SIZE
    # How patiently to talk to the API (tune/defaults.py; tests shorten them).
    timeout_s: Seconds = defaults.TIMEOUT_S
    max_retries: PositiveInt = defaults.MAX_RETRIES
    backoff_base_s: Seconds = defaults.BACKOFF_BASE_S
    rate_limit_calls: PositiveInt = defaults.RATE_LIMIT_CALLS
    rate_limit_window_s: Seconds = defaults.RATE_LIMIT_WINDOW_S

    @property
    def extra_conversion_fields(self) -> tuple[str, ...]:
        """The optional Report::getConversions fields the network's sweeps request: the
        ConversionsMobile.affiliate_unique1..5 when Trackly's message id travels in one of them,
        else none, as a TUNE that does not know them would reject every sweep."""
        return extra_conversion_fields_for(self.message_id_field)

    @field_validator("network_token_env")
    @classmethod
    def _token_is_set(cls, variable: str, info: ValidationInfo) -> str:
        if _loading(info).require_tokens:
            _token(variable)
        return variable

    @field_validator("api_url", mode="before")
    @classmethod
    def _tune_hosted(cls, value: Any, info: ValidationInfo) -> Any:
        network_id = info.data.get("network_id")  # absent when refused: that refusal is the one named
        return value if value or not network_id else defaults.default_api_url(network_id)

    @field_validator("base_url")
    @classmethod
    def _link_base(cls, base_url: str) -> str:
        if any(char in base_url for char in "?#"):
            # The tracking link is base_url + "/aff_c?...": a query here would swallow it.
            raise _Refused(f"{base_url!r} must not have a query or fragment (the link appends /aff_c?...)")
        return base_url.rstrip("/")

    @field_validator("affiliate_id", mode="before")
    @classmethod
    def _numeric_affiliate_id(cls, value: Any) -> str:
        """TUNE's affiliate ids are numbers. The sweeps ask TUNE for this affiliate's conversions only,
        so a typo would not fail: it would find none, and the window would look emptied."""
        text = _text(value).strip()
        if not text.isascii() or not text.isdigit() or int(text) == 0:
            raise _Refused(f"must be the network's numeric affiliate id, got {text!r}")
        return str(int(text))

    @field_validator("global_url_params", mode="before")
    @classmethod
    def _params_the_link_can_carry(cls, value: Any, info: ValidationInfo) -> dict[str, str]:
        if not isinstance(value, dict):
            raise _Refused("must be a mapping")
        field_name = info.data.get("message_id_field")
        own = own_param_names(MESSAGE_ID_FIELDS[field_name]) if field_name else set()
        for name, param in value.items():
            at = str(name)
            # Appended after the link's own parameters, a same-named one would replace them in PHP
            # (the last value wins): aff_sub would no longer carry the click id.
            if _php_param_name(at) in own:
                raise _Refused(
                    f"the tracking link sets this parameter itself ({', '.join(sorted(own))} are reserved)", field=at
                )
            if param is None or isinstance(param, (bool, dict, list)):
                # YAML reads on/yes/true as a boolean, which would reach the link as "True".
                raise _Refused("must be a string (quote it)", field=at)
            for macro in MACRO_PATTERN.findall(str(param)):
                if macro not in TRACKLY_MACROS:
                    raise _Refused(f"unknown macro {macro}; known: {', '.join(sorted(TRACKLY_MACROS))}", field=at)
        return {str(name): str(param) for name, param in value.items()}

    @field_validator("offer_attribution_window_days", mode="wrap")
    @classmethod
    def _offer_ids(cls, value: Any, handler: Any) -> dict[int, int]:
        """Offer ids as numbers (YAML keys may be quoted), each once; the days are checked as typed,
        an offer's before the next offer's id."""
        if not isinstance(value, dict):
            raise _Refused("must be a mapping")
        windows: dict[int, Any] = {}
        for offer_id, days in value.items():
            if isinstance(offer_id, bool) or not re.fullmatch(r"\s*[0-9]+\s*", str(offer_id)) or int(offer_id) <= 0:
                handler(windows)  # an earlier offer's days are refused first
                raise _Refused(f"{offer_id!r} is not an offer id (a positive integer)", field=str(offer_id))
            if int(offer_id) in windows:
                handler(windows)  # likewise
                raise _Refused(f"offer {int(offer_id)} is given twice", field=str(offer_id))
            windows[int(offer_id)] = days
        return handler(windows)


def _php_param_name(name: str) -> str:
    """The name PHP files a query parameter under: leading spaces dropped, ' ' and '.' become '_',
    and `a[x]` is an array under `a` (so `aff.sub` or `aff_sub[]` replace aff_sub too)."""
    name = name.lstrip(" ")
    bracket = name.find("[")
    if bracket > 0 and "]" in name[bracket:]:
        name = name[:bracket]
    return re.sub(r"[ .\[]", "_", name)


# ---- the file ---------------------------------------------------------------------------------

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


WAREHOUSE_BACKENDS = ("duckdb", "ducklake")
_LAKE_FIELDS = ("catalog", "catalog_password_env", "data_path", "commit_attempts", "snapshot_retention_days")


class WarehouseSection(_Section):
    """`backend: duckdb` (the default): the DuckDB file `duckdb_path`. `backend: ducklake`: a DuckLake
    lake, its catalog a PostgreSQL database (`catalog`, a libpq connection string; its password only
    through the variable `catalog_password_env`) and its data files under `data_path` (a folder, or
    s3://..., credentials from the environment) (README, Running past one machine)."""

    backend: Annotated[str, _one_of(WAREHOUSE_BACKENDS)] = "duckdb"
    duckdb_path: Annotated[Path, Field(validate_default=True)] = "data/trackly.duckdb"
    catalog: str | None = None
    catalog_password_env: VariableName | None = None
    data_path: str | None = None
    # A lake transaction refused at commit (another run changed the same table first) runs again,
    # up to this many attempts in all.
    commit_attempts: Annotated[int, Field(strict=True, ge=1, le=50), _says("must be a whole number from 1 to 50")] = (
        DEFAULT_COMMIT_ATTEMPTS
    )
    # The daily upkeep (job lake_upkeep) expires the lake's snapshots older than this many days:
    # time travel (AT (VERSION => n)) reaches this far back, and the data files only they use go.
    snapshot_retention_days: Annotated[
        int, Field(strict=True, ge=1), _says("must be a whole number of days, at least 1 (got {value!r})")
    ] = DEFAULT_SNAPSHOT_RETENTION_DAYS

    @field_validator("catalog", mode="before")
    @classmethod
    def _libpq_without_password(cls, value: Any) -> str:
        text = _text(value)
        try:
            fields = libpq_fields(text)
        except ImportError:
            raise _Refused(
                "reading it needs the project's `lake` extra (pip install 'trackly-pipeline[lake]')"
            ) from None
        except Exception:
            # psycopg2's message may quote the string, password included
            raise _Refused(
                "is not a libpq connection string (e.g. 'dbname=trackly_lake host=127.0.0.1 user=trackly')"
            ) from None
        if "password" in fields:
            raise _Refused("holds a password: name the variable that holds it in catalog_password_env instead")
        if "dbname" not in fields:
            raise _Refused("names no dbname (e.g. 'dbname=trackly_lake host=127.0.0.1')")
        return text

    @field_validator("catalog_password_env")
    @classmethod
    def _password_is_set(cls, variable: str, info: ValidationInfo) -> str:
        if _loading(info).require_tokens and not os.environ.get(variable):
            raise _Refused(f"environment variable {variable} is not set (the catalog's password lives only there)")
        return variable

    @field_validator("data_path", mode="before")
    @classmethod
    def _folder_or_url(cls, value: Any, info: ValidationInfo) -> str:
        text = _path_text(value)
        if "://" in text:
            if not text.startswith("s3://"):
                raise _Refused(f"{text!r}: a folder or an s3:// URL")
            if not text.removeprefix("s3://").strip("/"):
                raise _Refused(f"{text!r}: an s3:// URL names its bucket (s3://bucket/folder/)")
            return text.rstrip("/") + "/"
        return str(_loading(info).resolve(text)) + "/"

    @model_validator(mode="after")
    def _fields_of_the_backend(self) -> WarehouseSection:
        if self.backend == "ducklake":
            for name in ("catalog", "data_path"):
                if getattr(self, name) is None:
                    raise _Refused("is required with backend: ducklake", field=name)
        else:
            # Set for the DuckDB file, a lake's setting would be ignored without a word.
            for name in _LAKE_FIELDS:
                if name in self.model_fields_set:
                    raise _Refused("is read only with backend: ducklake", field=name)
        return self

    def lake(self) -> LakeSettings | None:
        if self.backend != "ducklake":
            return None
        return LakeSettings(
            self.catalog,
            self.data_path,
            self.catalog_password_env,
            self.commit_attempts,
            self.snapshot_retention_days,
        )

    @field_validator("duckdb_path", mode="before")
    @classmethod
    def _usable_by_duckdb(cls, value: Any, info: ValidationInfo) -> Path:
        """The warehouse file, refused where DuckDB could not use it as that file (a NUL cannot be in a path)."""
        text = _path_text(value)
        path = _loading(info).resolve(text)
        # DuckDB opens the path as written; the copy's views name the files by their real path
        for shown in dict.fromkeys((str(path), os.path.realpath(path))):
            for char, why in _DUCKDB_PATH_REFUSED.items():
                if char in shown:
                    raise _Refused(f"{shown!r} holds {char!r}: {why}; choose a path without it")
        if path.is_dir():
            raise _Refused(f"{str(path)!r} is a folder; name the DuckDB file in it (e.g. warehouse.duckdb)")
        return path


class TracklyLogs(_Section):
    """Globs of Trackly's click and message logs, resolved against the file's folder."""

    clicks: str
    messages: str

    @field_validator("clicks", "messages", mode="before")
    @classmethod
    def _glob(cls, value: Any, info: ValidationInfo) -> str:
        text = _path_text(value)
        pattern = str(_loading(info).resolve(text))
        try:
            glob_components(pattern)
        except GlobError as exc:
            raise _Refused(f"{pattern!r}: {exc}") from None
        return pattern


class TracklyFile(_Section):
    """trackly.yaml as written (paths resolved); `parse_config` makes it a TracklyConfig. The fields
    are in the order their values are checked (`_check_order`); the sections' shape comes first."""

    reporting_currency: Annotated[str, BeforeValidator(_currency), BeforeValidator(str)] = "USD"
    postback_base_url: Url
    networks: Annotated[
        tuple[NetworkConfig, ...], Field(min_length=1, validate_default=True), _says("must be a non-empty list")
    ] = ()
    fx_rates: Path | None = None
    warehouse: Annotated[WarehouseSection, Field(validate_default=True)] = {}
    # After warehouse: its validator keeps the log globs off the warehouse's own files.
    trackly: TracklyLogs
    partitions_start: Annotated[str, Field(validate_default=True)] = "2026-01-01-00:00"

    @field_validator("postback_base_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    @field_validator("networks")
    @classmethod
    def _one_network_per_key_and_account(cls, networks: tuple[NetworkConfig, ...]) -> tuple[NetworkConfig, ...]:
        seen: set[str] = set()
        for network in networks:
            if network.key in seen:
                raise _Refused(f"duplicate network key {network.key!r}", field="key", network=network.key)
            seen.add(network.key)
        _one_account_per_key(networks)
        return networks

    @field_validator("fx_rates", mode="before")
    @classmethod
    def _fx_rates_file(cls, value: Any, info: ValidationInfo) -> Path | None:
        return _loading(info).resolve(_text(value)) if value else None

    @field_validator("partitions_start", mode="before")
    @classmethod
    def _start_hour(cls, value: Any) -> str:
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
                raise _Refused(f"{value!r} is not a start hour; {expected}")
        elif isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if not isinstance(value, datetime):
            raise _Refused(f"{value!r} is not a start hour; {expected}")
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        if (value.minute, value.second, value.microsecond) != (0, 0, 0):
            raise _Refused(f"{value.isoformat()} is not on the hour; {expected}")
        return value.strftime(PARTITIONS_START_FORMAT)

    @field_validator("trackly")
    @classmethod
    def _logs_apart(cls, logs: TracklyLogs, info: ValidationInfo) -> TracklyLogs:
        """The click and message log globs, refused when one can match a file the warehouse writes (a
        run would load the pipeline's own output: `data/*/*messages*/*.parquet` read the analysts'
        copy's month files of trackly.messages, which doubled on every run), or a file the other can
        match. "Can match" is decided on the patterns as `glob.glob` reads them (globs.py), whatever is
        on disk now: the month files are written later, under new names."""
        warehouse = info.data.get("warehouse")
        if warehouse is None:  # refused: that refusal is the one named
            return logs
        duckdb_path = warehouse.duckdb_path
        _refuse_logs_reaching(
            logs,
            duckdb_path.parent,
            Warehouse(duckdb_path).own_files,
            f"next to warehouse.duckdb_path {str(duckdb_path)!r}",
            "the warehouse",
        )
        lake = warehouse.lake()
        data_folder = lake.local_data_folder() if lake else None
        if data_folder is not None:
            _refuse_logs_reaching(
                logs, data_folder, lake.own_files, f"under warehouse.data_path {lake.data_path!r}", "the lake"
            )
        if globs_meet(glob_components(logs.clicks), glob_components(logs.messages)):
            raise _Refused(
                f"{logs.messages!r} and trackly.clicks {logs.clicks!r} can match the same file, which would be "
                "loaded as both; give each log a folder or a name pattern of its own",
                field="messages",
            )
        return logs


def _refuse_logs_reaching(
    logs: TracklyLogs, folder: Path, own_files: list[tuple[tuple[str, ...], str]], where: str, owner: str
) -> None:
    """Refuse a log glob that can match one of `own_files` (fnmatch patterns relative to `folder`)."""
    components = path_components(os.path.realpath(folder))
    for kind, pattern in (("clicks", logs.clicks), ("messages", logs.messages)):
        for names, what in own_files:
            if globs_meet(glob_components(pattern), (*components, *map(Component.of_pattern, names))):
                raise _Refused(
                    f"{pattern!r} can match {what}, {where}: each run would load the pipeline's own files as "
                    f"Trackly's logs. Give the logs a folder the glob does not share with {owner}",
                    field=kind,
                )


def _shared_network_ids(networks: tuple[NetworkConfig, ...]) -> dict[str, list[NetworkConfig]]:
    """The networks of each TUNE network id that several keys share. Several keys on one network id
    are several affiliate accounts there: legitimate, and told apart by their affiliate ids."""
    by_network_id: dict[str, list[NetworkConfig]] = {}
    for network in networks:
        # Case aside: a network id names the API host (acmenet.api.hasoffers.com), and DNS ignores case.
        by_network_id.setdefault(network.network_id.lower(), []).append(network)
    return {network_id: sharing for network_id, sharing in by_network_id.items() if len(sharing) > 1}


def _one_account_per_key(networks: tuple[NetworkConfig, ...]) -> None:
    """The same account under two keys would have each of its conversions swept, and counted, under
    both: refused."""
    for sharing in _shared_network_ids(networks).values():
        first_with: dict[str, str] = {}
        for network in sharing:
            other = first_with.setdefault(network.affiliate_id, network.key)
            if other != network.key:
                raise _Refused(
                    f"network {other!r} has the same network_id {network.network_id!r} (case aside) and affiliate_id "
                    f"{network.affiliate_id}: one TUNE account under two keys would count each of its "
                    "conversions twice",
                    field="affiliate_id",
                    network=network.key,
                )


def _warn_of_shared_network_ids(networks: tuple[NetworkConfig, ...], path: Path) -> None:
    """Clicks logged without `affiliate_id` on a shared network id cannot be told apart, so they count
    for no key's offers (rollups.sql): say so, once the file is valid (a refused file is fixed first)."""
    for network_id, sharing in _shared_network_ids(networks).items():
        accounts = ", ".join(f"{n.key!r} (affiliate_id {n.affiliate_id})" for n in sharing)
        if (path, network_id, accounts) in _WARNED:
            continue  # once per process (the demo and the CLI load the file more than once)
        _WARNED.add((path, network_id, accounts))
        log.warning(
            "%s: networks %s share the TUNE network_id %r. Trackly clicks on it count for a key's offers in "
            "analytics.revenue_by_offer only when the click log carries the click's affiliate_id; a click logged "
            "without one cannot be told apart and counts for its message and creative only, for none of these "
            "keys' offers (docs/tables.md, trackly.clicks.affiliate_id)",
            path,
            accounts,
            network_id,
        )


# ---- what the pipeline reads --------------------------------------------------------------------


class TracklyConfig(_Section):
    path: Path
    duckdb_path: Path
    # The DuckLake lake (warehouse.backend: ducklake); None: the DuckDB file duckdb_path.
    lake: LakeSettings | None = None
    clicks_glob: str
    messages_glob: str
    reporting_currency: str
    postback_base_url: str
    networks: tuple[NetworkConfig, ...]
    fx_rates_path: Path | None
    partitions_start: str

    def warehouse(self, **options: Any) -> Warehouse:
        """The configured warehouse: the DuckDB file, or the lake (`options`: Warehouse's)."""
        return Warehouse(self.duckdb_path, lake=self.lake, **options)

    def network(self, key: str) -> NetworkConfig:
        for network in self.networks:
            if network.key == key:
                return network
        raise KeyError(key)

    def network_with_token(self, key: str) -> tuple[NetworkConfig, str]:
        """A network and its token, for a command that talks to that network only: loaded with
        require_tokens=False, the file needs only this network's variable set. Unknown keys and
        unset variables are ConfigErrors named like the load-time ones."""
        if key not in {network.key for network in self.networks}:
            configured = ", ".join(n.key for n in self.networks)
            raise ConfigError(_message(self.path, None, "networks", f"no network {key!r} (configured: {configured})"))
        network = self.network(key)
        try:
            return network, _token(network.network_token_env)
        except _Refused as refused:
            raise ConfigError(_message(self.path, f"network {key!r}", "network_token_env", refused.problem)) from None


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
    try:
        file = TracklyFile.model_validate(raw, context=_Loading(path, require_tokens))
    except ValidationError as exc:
        failure = _config_error(exc, raw, path)
    else:
        _warn_of_shared_network_ids(file.networks, path)
        return TracklyConfig(
            path=path,
            duckdb_path=file.warehouse.duckdb_path,
            lake=file.warehouse.lake(),
            clicks_glob=file.trackly.clicks,
            messages_glob=file.trackly.messages,
            reporting_currency=file.reporting_currency,
            postback_base_url=file.postback_base_url,
            networks=file.networks,
            fx_rates_path=file.fx_rates,
            partitions_start=file.partitions_start,
        )
    raise failure  # outside the except block: pydantic's error is not chained to it


# ---- pydantic's errors, as ConfigErrors -------------------------------------------------------------


def _config_error(exc: ValidationError, raw: Any, path: Path) -> ConfigError:
    """The first refusal in check order, named like `{file}: networks[1] (bolt): field: problem`."""
    error = min(exc.errors(), key=_check_order)
    loc = list(error["loc"])
    network = None
    if loc[:1] == ["networks"] and len(loc) > 1 and isinstance(loc[1], int):
        item = raw["networks"][loc[1]]
        key = item.get("key") if isinstance(item, dict) else None
        network = f"networks[{loc[1]}]" + (f" ({key})" if key else "")
        loc = loc[2:]
    refused = _refusal(error)
    if isinstance(refused, _Refused):
        problem = refused.problem
        loc += [refused.field] if refused.field else []
        if refused.network:  # a check across networks: the network by its key
            network, loc = f"network {refused.network!r}", [refused.field]
    elif error["type"] in _UNKNOWN_KEY:
        problem = f"unknown field (allowed: {', '.join(sorted(_model_at(error['loc'][:-1]).model_fields))})"
    elif error["type"] in _NOT_A_MAPPING or _is_section_missing(error):
        problem = "must be a mapping"
    elif error["type"] == "missing":
        problem = "is required"
    else:  # a check worded by pydantic alone
        problem = error["msg"]
    return ConfigError(_message(path, network, ".".join(map(str, loc)), problem))


_UNKNOWN_KEY = ("extra_forbidden", "invalid_key")
_NOT_A_MAPPING = ("model_type", "dict_type")
# The file and the sections whose shape (a mapping, no unknown key) was checked before any value.
_SECTIONS = ((), ("warehouse",), ("trackly",))


def _check_order(error: ErrorDetails) -> tuple:
    """Where the refused check stands in the file's check order, so that a file with several problems
    is refused for the one the hand-written checks named first before pydantic (pydantic lists its
    errors in an order of its own): the shape of the file and of its sections first, then the fields
    in model order (each network's in turn), a mapping's unknown keys (by name) before its fields."""
    loc = error["loc"]
    unknown = error["type"] in _UNKNOWN_KEY
    mapping = loc[:-1] if unknown else loc
    if mapping in _SECTIONS and (unknown or error["type"] in _NOT_A_MAPPING or _is_section_missing(error)):
        return (0, _SECTIONS.index(mapping), unknown, str(loc[-1]) if unknown else "")
    order: list[tuple] = []
    model: type[BaseModel] | None = TracklyFile
    for depth, part in enumerate(loc):
        if model is None:
            break  # within one field's value: pydantic's order is the value's
        if unknown and depth == len(loc) - 1:
            order.append((0, str(part)))
        elif isinstance(part, int):
            order.append((1, part))  # a network's place in the list
        else:
            annotation = model.model_fields[part].annotation
            order.append((1, list(model.model_fields).index(part)))
            if get_origin(annotation) is tuple and depth == len(loc) - 1:
                order.append((2,))  # the list's own refusal after its items' (pydantic adds "too short" to theirs)
            model = _section_model(annotation)
    return (1, *order)


def _is_section_missing(error: ErrorDetails) -> bool:
    """A section left out (`trackly:` missing) is refused as not a mapping, like one left empty."""
    if error["type"] != "missing":
        return False
    *mapping, name = error["loc"]
    return _section_model(_model_at(tuple(mapping)).model_fields[name].annotation) is not None


def _model_at(loc: tuple) -> type[BaseModel]:
    """The model of the mapping at a pydantic error location (list indexes skipped)."""
    model: type[BaseModel] = TracklyFile
    for part in loc:
        if isinstance(part, str):
            model = _section_model(model.model_fields[part].annotation)
    return model


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, alone or in a tuple; None for a plain value."""
    return next(
        (t for t in (annotation, *get_args(annotation)) if isinstance(t, type) and issubclass(t, BaseModel)), None
    )


def _message(path: Path, network: str | None, field_name: str, problem: str) -> str:
    scope = f"{network}: " if network else ""
    return f"{path}: {scope}{field_name or 'value'}: {problem}"

"""Dagster resources: the DuckDB warehouse and one TUNE API client per configured network."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import TypeVar

import dagster as dg
from pydantic import Field

from trackly_pipeline.config import NetworkConfig, TracklyConfig
from trackly_pipeline.tune import TuneClient, defaults
from trackly_pipeline.warehouse.database import DEFAULT_LOCK_TIMEOUT_S, Warehouse
from trackly_pipeline.warehouse.lake import DEFAULT_COMMIT_ATTEMPTS, LakeSettings


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file, whose writers are serialised by the `duckdb` pool (dagster.yaml); or, with
    `lake_catalog`, the DuckLake lake, written by every network's run at once."""

    duckdb_path: str
    # How long a step waits for another process's lock on the file before it fails, naming that
    # process: writing steps queue in the `duckdb` pool, so only a sweep's final write or a writer
    # outside Dagster (a CLI, a notebook) ever waits.
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
    # warehouse.backend: ducklake (config.WarehouseSection). The password's variable by name: its
    # value is read when a connection opens, never held in run config or the event log.
    lake_catalog: str | None = None
    lake_data_path: str | None = None
    lake_password_env: str | None = None
    lake_commit_attempts: int = DEFAULT_COMMIT_ATTEMPTS

    @classmethod
    def for_settings(cls, settings: TracklyConfig) -> WarehouseResource:
        lake = settings.lake
        if lake is None:
            return cls(duckdb_path=str(settings.duckdb_path))
        return cls(
            duckdb_path=str(settings.duckdb_path),
            lake_catalog=lake.catalog,
            lake_data_path=lake.data_path,
            lake_password_env=lake.password_env,
            lake_commit_attempts=lake.commit_attempts,
        )

    def get(self) -> Warehouse:
        lake = None
        if self.lake_catalog is not None:
            lake = LakeSettings(
                self.lake_catalog, self.lake_data_path, self.lake_password_env, self.lake_commit_attempts
            )
        return Warehouse(self.duckdb_path, lock_timeout_s=self.lock_timeout_s, lake=lake)


class TuneNetworkResource(dg.ConfigurableResource):
    """A TUNE network's API. The token comes from an environment variable through EnvVar, so it is
    resolved at run time and never stored in run config, the event log or the UI."""

    network_id: str
    api_url: str
    # Resolved from EnvVar inside a run; repr=False keeps it out of repr()/str() (logs, tracebacks,
    # debuggers) while Dagster's config schema and `self.token` stay as they were.
    token: str = Field(repr=False)
    timezone: str | None = None
    affiliate_id: str | None = None  # ours: the sweeps ask for this affiliate's conversions only
    page_size: int = defaults.PAGE_SIZE
    timeout_s: float = defaults.TIMEOUT_S
    max_retries: int = defaults.MAX_RETRIES
    backoff_base_s: float = defaults.BACKOFF_BASE_S
    rate_limit_calls: int = defaults.RATE_LIMIT_CALLS
    rate_limit_window_s: float = defaults.RATE_LIMIT_WINDOW_S
    extra_conversion_fields: list[str] = []  # noqa: RUF012 (Dagster config fields copy their default)  # see NetworkConfig.extra_conversion_fields

    def client(self, logger: logging.Logger | None = None) -> TuneClient:
        return TuneClient(
            self.network_id,
            self.token,
            self.api_url,
            timezone=self.timezone,
            affiliate_id=self.affiliate_id,
            page_size=self.page_size,
            timeout=self.timeout_s,
            max_retries=self.max_retries,
            backoff_base=self.backoff_base_s,
            rate_limit=(self.rate_limit_calls, self.rate_limit_window_s),
            extra_conversion_fields=self.extra_conversion_fields,
            logger=logger,
        )

    def secrets(self) -> list[str]:
        """What to redact from anything this resource's errors may reach."""
        return [self.token]


def api_pool(network_key: str) -> str:
    """The concurrency pool of the steps that call a network's API (limit 1, dagster.yaml): one
    at a time per network, as TUNE limits calls per network, and never in the `duckdb` pool."""
    return f"tune_api_{network_key}"


def tune_resource_key(network_key: str) -> str:
    """Each network's TUNE resource has a key of its own: a step initialises, and resolves the token
    of, only the network it works for, so one network's missing or wrong token fails that network alone."""
    return f"tune_{network_key}"


Compute = TypeVar("Compute", bound=Callable)


def takes_network_tune(network_key: str) -> Callable[[Compute], Compute]:
    """Lets a network's asset, check or op take its TUNE resource as a typed parameter,
    `tune: TuneNetworkResource`. Dagster names a resource after the parameter that receives it, and
    the key differs per network (`tune_resource_key`): this shows Dagster the parameter under the
    network's key and hands the resource on as `tune`. Apply it below `@dg.asset` / `@dg.op`."""
    key = tune_resource_key(network_key)

    def rename(compute: Compute) -> Compute:
        signature = inspect.signature(compute, eval_str=True)
        if "tune" not in signature.parameters:
            raise TypeError(f"{compute.__name__} has no `tune` parameter")

        @functools.wraps(compute)
        def with_network_tune(*args, **kwargs):
            return compute(*args, tune=kwargs.pop(key), **kwargs)

        with_network_tune.__signature__ = signature.replace(
            parameters=[
                parameter.replace(name=key) if parameter.name == "tune" else parameter
                for parameter in signature.parameters.values()
            ]
        )
        return with_network_tune

    return rename


def tune_resource_for(network: NetworkConfig) -> TuneNetworkResource:
    return TuneNetworkResource(
        network_id=network.network_id,
        api_url=network.api_url,
        token=dg.EnvVar(network.network_token_env),
        timezone=network.timezone,
        affiliate_id=network.affiliate_id,
        page_size=network.page_size,
        timeout_s=network.timeout_s,
        max_retries=network.max_retries,
        backoff_base_s=network.backoff_base_s,
        rate_limit_calls=network.rate_limit_calls,
        rate_limit_window_s=network.rate_limit_window_s,
        extra_conversion_fields=list(network.extra_conversion_fields),
    )

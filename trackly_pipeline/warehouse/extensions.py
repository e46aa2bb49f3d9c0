"""DuckDB extensions the DuckLake backend needs, loaded from their PyPI packages where installed
(the `lake` extra: a machine without internet access cannot download them at run time), otherwise
installed the usual way (INSTALL downloads the build for whatever duckdb is installed)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path

import duckdb

from trackly_pipeline.warehouse.schema import string_literal

# DuckDB's extension name, and the package that carries its binary.
PACKAGES = {
    "ducklake": "duckdb_extension_ducklake",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "httpfs": "duckdb_extension_httpfs",
    "aws": "duckdb_extension_aws",  # credentials for s3:// (AWS's credential chain)
}


def packaged_binary(name: str) -> Path | None:
    """The extension's binary inside its installed package, built for this duckdb; None when the
    package is not installed or was built for another duckdb release."""
    spec = importlib.util.find_spec(PACKAGES[name])
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
    binary = folder / f"{name}.duckdb_extension"
    return binary if binary.is_file() else None


# Packaged binaries DuckDB has loaded in this process with their signature checked.
_VERIFIED: set[Path] = set()


def connection_config(names: Iterable[str]) -> dict[str, str]:
    """The config of a new connection that will load the extensions `names`. DuckDB checks an
    extension's signature at every LOAD by hashing its whole binary: 77 MB for ducklake and
    postgres_scanner, 0.15 s of every lake connection's 0.25 s. Once a packaged binary has passed that
    check in this process, later connections load it without checking it again: it is a file in
    site-packages, installed like duckdb's own code, and already checked."""
    binaries = [packaged_binary(name) for name in names]
    if binaries and all(binary in _VERIFIED for binary in binaries):
        return {"allow_unsigned_extensions": "true"}
    return {}


def load(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    binary = packaged_binary(name)
    if binary is not None:
        conn.execute(f"LOAD {string_literal(str(binary))}")
        ((unchecked,),) = conn.execute("SELECT current_setting('allow_unsigned_extensions')").fetchall()
        if not unchecked:
            _VERIFIED.add(binary)
        return
    try:
        conn.execute(f"INSTALL {name}")
        conn.execute(f"LOAD {name}")
    except duckdb.Error as exc:
        raise RuntimeError(
            f"DuckDB extension {name} is not available: its package {PACKAGES[name]} (built for duckdb "
            f"{duckdb.__version__}) is not installed, and INSTALL {name} failed ({exc}). Install the "
            "project's `lake` extra (pip install 'trackly-pipeline[lake]') or give this machine internet access"
        ) from None

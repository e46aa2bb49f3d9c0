"""DuckDB extensions the DuckLake backend needs, loaded from their PyPI packages where installed
(the `lake` extra: a machine without internet access cannot download them at run time), otherwise
installed the usual way (INSTALL downloads the build for whatever duckdb is installed)."""

from __future__ import annotations

import importlib.util
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


def load(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    binary = packaged_binary(name)
    if binary is not None:
        conn.execute(f"LOAD {string_literal(str(binary))}")
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

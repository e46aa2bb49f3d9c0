"""`./run demo --warehouse ducklake`: the demo's lake catalog, a PostgreSQL database of its own.

Like the demo's folder, the database is the demo's only when the demo made it: it creates
`trackly_demo_lake` with a comment saying so, and a later run drops and creates it again only when it
finds that comment. A database of that name without it is never touched."""

from __future__ import annotations

import os
from contextlib import closing

DEMO_DATABASE = "trackly_demo_lake"
DEMO_COMMENT = "made by `trackly demo --warehouse ducklake`: each run drops and recreates it"
# The server the demo creates its database on, as a libpq connection string to an existing database.
SERVER_ENV = "TRACKLY_DEMO_POSTGRES"
DEFAULT_SERVER = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


class DemoCatalogError(Exception):
    """The demo may not create or reuse its lake's catalog database."""


def claim_demo_catalog() -> str:
    """Drop the demo's earlier catalog database (if the demo made it) and create it anew; return the
    lake's catalog connection string."""
    import psycopg2  # the `lake` extra
    from psycopg2.extensions import make_dsn, parse_dsn

    server = os.environ.get(SERVER_ENV, DEFAULT_SERVER)
    try:
        admin = psycopg2.connect(server, connect_timeout=5)
    except psycopg2.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DemoCatalogError(
            f"no PostgreSQL for the lake's catalog at {server!r} ({first}); start one, or point "
            f"{SERVER_ENV} at one (a libpq string: 'host=... port=... user=... dbname=...')"
        ) from None
    with closing(admin):
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (DEMO_DATABASE,)
            )
            found = cursor.fetchone()
            if found is not None:
                if found[0] != DEMO_COMMENT:
                    raise DemoCatalogError(
                        f"database {DEMO_DATABASE} exists and was not made by the demo (its comment is not the "
                        "demo's): the demo leaves it alone. Drop or rename it yourself to run the lake demo."
                    )
                cursor.execute(f"DROP DATABASE {DEMO_DATABASE} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {DEMO_DATABASE}")
            cursor.execute(f"COMMENT ON DATABASE {DEMO_DATABASE} IS %s", (DEMO_COMMENT,))
    fields = {key: value for key, value in parse_dsn(server).items() if key != "password"}
    return make_dsn(**{**fields, "dbname": DEMO_DATABASE})

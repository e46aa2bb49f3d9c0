"""Turns at the lake's commits: a PostgreSQL advisory lock on the catalog database that decides who
waits, never what is correct (DuckLake refuses a conflicting commit whether or not its writer held
the lock).

Every lake transaction holds the lock shared, so writers run side by side; a transaction on its
last attempt (`Warehouse.write`) holds it alone, which waits for the transactions under way and
keeps new ones waiting: a long transaction that kept losing at commit to short ones then commits.

The lock is taken in a session of its own for each attempt, closed after it (which releases the
lock, as a killed process's session does). Its wait runs in Python, not inside libpq, so it is
bounded (`wait_s`, then LakeBusy) and a run's termination interrupts it; an abandoned wait is
cancelled on the server, where a queued exclusive request would hold up every other writer. Where
this process cannot reach the server (a network cut), the session's own limits end it there."""

from __future__ import annotations

import hashlib
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from trackly_pipeline.warehouse.lake import LakeSettings, LakeUnavailable, first_line

# pg_advisory_lock's key: the first 8 bytes of this name's hash, so that no other application's
# lock on the same catalog database is likely to share it.
WRITE_LOCK_KEY = int.from_bytes(hashlib.sha256(b"trackly_pipeline.warehouse.write").digest()[:8], "big", signed=True)
CONNECT_TIMEOUT_S = 10.0

# Set while this thread's write holds a turn: a write begun inside that write's body (on another
# connection) runs in the same turn. PostgreSQL cannot tell that two sessions are one process's,
# and would make the inner write wait for the outer for ever.
_held = threading.local()


class LakeBusy(LakeUnavailable):
    """The write lock was not given within the wait: another process's transaction held it."""


@contextmanager
def write_turn(lake: LakeSettings, *, alone: bool, wait_s: float) -> Iterator[None]:
    """Hold the lake's write lock, shared or `alone`, for one transaction."""
    if getattr(_held, "turn", False):
        yield
        return
    import psycopg2  # the `lake` extra (dagster-postgres depends on it)
    from psycopg2.errors import LockNotAvailable

    what = "the write lock alone" if alone else "the write lock"
    session = None
    try:
        try:
            session = psycopg2.connect(
                lake.catalog, password=lake.password() or None, async_=True, options=_server_limits(wait_s)
            )
            _wait(session, CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise LakeUnavailable(
                f"DuckLake {lake.display_name}: its catalog database did not answer within "
                f"{CONNECT_TIMEOUT_S:g} s when asked for {what}"
            ) from None
        except psycopg2.Error as exc:
            raise LakeUnavailable(
                f"DuckLake {lake.display_name}: its catalog database refused {what}: {first_line(exc, lake)}"
            ) from None
        try:
            lock = "pg_advisory_lock" if alone else "pg_advisory_lock_shared"
            cursor = session.cursor()  # kept while the query runs: psycopg2 drops a collected one's
            cursor.execute(f"SELECT {lock}(%s)", (WRITE_LOCK_KEY,))
            _wait(session, wait_s)
        except (TimeoutError, LockNotAvailable):  # our deadline, or the server's lock_timeout first
            raise LakeBusy(
                f"DuckLake {lake.display_name}: {what} was not given within {wait_s:g} s: another "
                "process's transaction held it (a run or a session writing the lake). Wait for it to end "
                "(or end it), then run again"
            ) from None
        except psycopg2.Error as exc:
            raise LakeUnavailable(
                f"DuckLake {lake.display_name}: its catalog database was lost while waiting for {what}: "
                f"{first_line(exc, lake)}"
            ) from None
        _held.turn = True
        try:
            yield
        finally:
            _held.turn = False
    finally:
        if session is not None:
            session.close()  # and with the session, its lock


def _server_limits(wait_s: float) -> str:
    """The lock session's limits on the server, for when this process cannot end its wait itself
    (the network cut, the process frozen): the server gives the wait up a second after `wait_s`
    (lock_timeout), and ends the session of a client that stopped answering within about 25 s
    (keepalives), which releases a lock granted to it."""
    return (
        f"-c lock_timeout={int(wait_s * 1000) + 1000} "
        "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
    )


def _wait(session, timeout_s: float) -> None:
    """Wait for the asynchronous session's operation (connecting, or the lock's query), in steps
    of at most a second so that signals are handled; TimeoutError after `timeout_s`. An operation
    left unfinished (the timeout, an interrupt) is cancelled on the server."""
    from psycopg2.extensions import POLL_OK, POLL_READ, POLL_WRITE

    deadline = time.monotonic() + timeout_s
    try:
        while True:
            state = session.poll()
            if state == POLL_OK:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            readable, writable = ([session.fileno()], []) if state == POLL_READ else ([], [session.fileno()])
            assert state in (POLL_READ, POLL_WRITE), state
            select.select(readable, writable, [], min(remaining, 1.0))
    except BaseException:
        _cancel(session)
        raise


def _cancel(session) -> None:
    """Ask the server to end the session's query, for at most a second: libpq's cancel opens a
    connection of its own, which a cut network leaves hanging (the server's lock_timeout and
    keepalives end the wait then)."""

    def cancel() -> None:
        try:
            session.cancel()
        except Exception:  # a session that never connected, or is gone: nothing waits on the server
            pass

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    thread.join(timeout=1.0)

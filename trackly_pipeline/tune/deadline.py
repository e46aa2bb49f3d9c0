"""One wall-clock deadline per HTTP request, connect to last byte.

requests' `timeout` (and urllib3's, even `Timeout(total=...)`) bounds each socket operation, not
the request: a server that sends a header line, or a body byte, a little more often than the
timeout keeps a request alive for as long as it likes (a header line a second held a 3 s request
for 30 s). Checking the clock between reads cannot help during the header phase, where http.client
reads every line itself. So a watchdog timer shuts the request's socket down at the deadline:
`shutdown()` wakes a read blocked on that socket at once (closing it from another thread would
not), the read fails, and the caller sees `RequestDeadline.expired` and reports a timeout.

The socket is found through the connection classes of `DeadlineAdapter`, which register it with
the thread's current deadline when they connect and when they wait for a reply (a kept-alive
connection does not connect again). Name resolution (getaddrinfo) cannot be interrupted, and
connecting (TCP, and TLS's handshake, which runs on a socket not yet handed over) is bounded by the
socket timeout per operation only; from the request on, the deadline holds.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import requests
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class RequestDeadline:
    """Context manager: while active on a thread, the sockets its requests use are shut down
    when `seconds` have passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends_at = time.monotonic() + seconds
        self._expired = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    @property
    def expired(self) -> bool:
        return self._expired.is_set() or time.monotonic() >= self._ends_at

    def remaining(self) -> float:
        return max(0.0, self._ends_at - time.monotonic())

    def watch(self, sock: socket.socket | None) -> None:
        """Shut `sock` down at the deadline (at once if it has passed)."""
        if sock is None:
            return
        with self._lock:
            if not self._expired.is_set():
                if all(known is not sock for known in self._sockets):
                    self._sockets.append(sock)
                return
        _shut_down(sock)

    def __enter__(self) -> RequestDeadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._timer.cancel()
        _current.deadline = None

    def _expire(self) -> None:  # on the timer's thread
        with self._lock:
            self._expired.set()
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut_down(sock)


def current_deadline() -> RequestDeadline | None:
    return getattr(_current, "deadline", None)


def _shut_down(sock: socket.socket) -> None:
    try:
        # The plain socket's shutdown, also for TLS: SSLSocket.shutdown would drop its SSL object
        # under the reading thread's feet.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected: nothing left to wake


class _Watched:
    """Mixin for urllib3 connections: hand the socket to the thread's deadline, if any."""

    sock: socket.socket | None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._watch()

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        self._watch()
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]

    def _watch(self) -> None:
        deadline = current_deadline()
        if deadline is not None:
            deadline.watch(self.sock)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connections obey the thread's RequestDeadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):  # not SOCKS, whose pools are its own
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def install(session: Any) -> None:
    """Mount DeadlineAdapter on a requests.Session; other session-likes (test doubles) are left as
    they are, and only the checks between body chunks bound them."""
    if isinstance(session, requests.Session):
        adapter = DeadlineAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)

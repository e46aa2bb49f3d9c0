"""A raw-socket HTTP server on 127.0.0.1 for hostile replies: whatever bytes, at whatever pace.

`http.server` cannot send a header line at a time, a broken status line or a body longer than its
Content-Length; this one hands each connection's socket to a function that writes what it likes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlsplit

Query = dict[str, str]
Respond = Callable[[Query, socket.socket, threading.Event], None]


class RawServer:
    """Accepts connections; per request calls `respond(query, socket, stopped)` and closes."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.requests: list[Query] = []
        self.stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/Apiv3/json"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                head = _read_head(conn)
                if head is None:
                    return
                target = head.split(b" ")[1].decode("latin-1") if head.count(b" ") >= 2 else "/"
                query = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
                self.requests.append(query)
                self.respond(query, conn, self.stopped)
            except OSError:
                pass  # the client gave up (its deadline shut the socket)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self._thread.join(2)
        self._listener.close()


def _read_head(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return None
        data += piece
    return data


@contextmanager
def raw_server(respond: Respond) -> Iterator[RawServer]:
    with RawServer(respond) as server:
        yield server


def dribble(conn: socket.socket, stopped: threading.Event, pieces: list[bytes], every: float) -> None:
    """Send `pieces` one at a time, `every` seconds apart, until done or the server stops."""
    for piece in pieces:
        conn.sendall(piece)
        if stopped.wait(every):
            return


def elapsed(call: Callable[[], object]) -> tuple[float, object]:
    """(seconds, what `call` returned or raised)."""
    started = time.monotonic()
    try:
        outcome: object = call()
    except Exception as exc:
        outcome = exc
    return time.monotonic() - started, outcome

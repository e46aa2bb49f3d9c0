"""SandboxServer: the TUNE API over HTTP on loopback, in a background thread."""
from __future__ import annotations

import ipaddress
import json
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterable
from urllib.parse import parse_qsl, urlsplit

from .api import SandboxApi
from .control import ControlError, handle_control
from .faults import FaultPlan, FaultRule
from .hostile import add_hostile_offer, add_hostile_rows
from .paging import short_page
from .params import decode_params, redacted
from .wire import INVALID_NETWORK_BODY, INVALID_TOKEN_MESSAGE, encode, failure
from .world import SandboxWorld

log = logging.getLogger(__name__)

_HTTP_FAULTS = {"http_500": 500, "http_502": 502, "http_504": 504}


@dataclass(frozen=True)
class Reply:
    """What the handler writes for one API request; the wire faults shape how it is sent."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    piece_bytes: int = 0  # trickle: send the body this many bytes at a time...
    pause: float = 0.0  # ...this many seconds apart
    cut_at: int | None = None  # truncated: send only this many body bytes, then drop the connection


def _page_of(params: dict) -> int:
    try:
        return int(str(params.get("page") or 1))
    except ValueError:
        return 1


class _Handler(BaseHTTPRequestHandler):
    server: "_HttpServer"
    server_version = "TuneSandbox/1.0"

    def log_message(self, format: str, *args) -> None:
        # The default access log prints the query string, which carries the NetworkToken.
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self._deliver(Reply(status, body, content_type))

    def _deliver(self, reply: Reply) -> None:
        # Content-Length is always the whole body, also when a fault sends less or sends it slowly.
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        try:
            if reply.cut_at is not None:
                self.wfile.write(reply.body[: reply.cut_at])
                self.close_connection = True
            elif reply.piece_bytes:
                self._trickle(reply)
            else:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its deadline passed)

    def _trickle(self, reply: Reply) -> None:
        stopping = self.server.sandbox._stopping
        for start in range(0, len(reply.body), reply.piece_bytes):
            if start and stopping.wait(reply.pause):
                self.close_connection = True  # the server is stopping: do not hold it up
                return
            self.wfile.write(reply.body[start : start + reply.piece_bytes])

    def _dispatch(self, verb: str) -> None:
        sandbox = self.server.sandbox
        url = urlsplit(self.path)
        if url.path.startswith("/_sandbox/"):
            return self._control(verb, url.path)
        if url.path == "/Apiv3/json":
            target = None
        elif url.path.startswith("/v3/") and url.path.endswith(".json"):
            target = url.path[len("/v3/"):-len(".json")]
        else:
            return self._send(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html")
        if verb not in ("GET", "POST"):
            return self._send(405, b"<html><body><h1>405 Method Not Allowed</h1></body></html>", "text/html")
        pairs = parse_qsl(url.query, keep_blank_values=True)
        if verb == "POST":
            pairs += parse_qsl(self._body().decode("utf-8", "replace"), keep_blank_values=True)
        params = decode_params(pairs)
        target = target or str(params.get("Target") or "")
        self._deliver(sandbox.respond(target, params))

    def _control(self, verb: str, path: str) -> None:
        sandbox = self.server.sandbox
        try:
            raw = self._body() if verb == "POST" else b""
            payload = json.loads(raw) if raw else None
            reply = handle_control(verb, path, payload, sandbox.world, sandbox.faults)
        except KeyError:
            return self._send(404, json.dumps({"error": f"unknown control path {path}"}).encode())
        except (ControlError, json.JSONDecodeError) as error:
            return self._send(400, json.dumps({"error": str(error)}).encode())
        self._send(200, json.dumps(reply).encode())


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a request still sleeping in a `slow` fault must not block shutdown
    allow_reuse_address = True

    def __init__(self, address, sandbox: "SandboxServer") -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)


class SandboxServer:
    """A TUNE Network API on http://127.0.0.1:PORT (loopback only) serving a SandboxWorld.

    Use as a context manager, or call start() and stop(). `requests` and `injected` record what
    was served (credentials redacted) so tests can assert on client behaviour.
    """

    def __init__(
        self,
        world: SandboxWorld,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Iterable[FaultRule] = (),
        rate_limit: tuple[int, float] = (50, 10.0),
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the sandbox only listens on loopback, not {host}")
        self.world = world
        self.host = host
        self.api = SandboxApi(world, rate_limit)
        self.faults = FaultPlan(faults)
        self.requests: list[tuple[str, str, dict]] = []
        self.injected: list[tuple[str, str, int]] = []
        self._requested_port = port
        self._record_lock = threading.Lock()
        self._stopping = threading.Event()
        self._http: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> "SandboxServer":
        if self._http is not None:
            return self
        self._stopping.clear()
        self._http = _HttpServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, name="tune-sandbox", daemon=True)
        self._thread.start()
        log.info("TUNE sandbox listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._http is None:
            return
        self._stopping.set()  # wakes requests sleeping in a `slow` fault
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)
        self._http = self._thread = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("server is not running")
        return self._http.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + "/Apiv3/json"

    # -- faults -------------------------------------------------------------------------------

    def add_fault(self, rule: FaultRule) -> None:
        self.faults.add(rule)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- one API request ----------------------------------------------------------------------

    def respond(self, target: str, params: dict) -> Reply:
        """The reply to a decoded API request, faults included."""
        method = f"{target}::{params.get('Method', '')}"
        page = _page_of(params)
        with self._record_lock:
            self.requests.append((target, str(params.get("Method", "")), redacted(params)))
        rule = self.faults.pick(method, page, params.get("NetworkId"))
        if rule is None:
            body = encode(self.api.handle(target, params))
            log.debug("served %s page %s", method, page)
            return Reply(200, body)
        with self._record_lock:
            self.injected.append((rule.kind, method, page))
        log.debug("injected %s into %s page %s", rule.kind, method, page)
        return self._inject(rule, target, params)

    def _inject(self, rule: FaultRule, target: str, params: dict) -> Reply:
        if rule.kind in _HTTP_FAULTS:
            status = _HTTP_FAULTS[rule.kind]
            return Reply(status, _html_page(status, "Sandbox fault"), "text/html")
        if rule.kind == "http_429":
            # What a proxy or CDN in front of TUNE sends; TUNE itself answers 200 (rate_limit).
            headers = () if rule.retry_after is None else (("Retry-After", rule.retry_after),)
            return Reply(429, _html_page(429, "Too Many Requests"), "text/html", headers)
        if rule.kind == "slow":
            self._stopping.wait(rule.delay)
            return Reply(200, encode(self.api.handle(target, params)))
        if rule.kind == "trickle":
            return Reply(200, encode(self.api.handle(target, params)), piece_bytes=rule.piece_bytes, pause=rule.delay)
        if rule.kind == "truncated":
            body = encode(self.api.handle(target, params))
            return Reply(200, body, cut_at=len(body) // 2)
        if rule.kind == "short_page":
            return Reply(200, encode(short_page(self.api.handle(target, params), rule.keep_rows)))
        if rule.kind == "malformed_json":
            body = encode(self.api.handle(target, params))
            return Reply(200, body[: max(1, len(body) // 2)])
        if rule.kind == "rate_limit":
            return Reply(200, encode(self.api.rate_limited_body(target, params)))
        if rule.kind == "invalid_token":
            return Reply(200, encode(failure(target, params, INVALID_TOKEN_MESSAGE)))
        if rule.kind == "hostile_rows":
            return Reply(200, encode(add_hostile_rows(self.world, params, self.api.handle(target, params))))
        if rule.kind == "hostile_offers":
            return Reply(200, encode(add_hostile_offer(self.api.handle(target, params))))
        if rule.kind == "invalid_network":
            return Reply(200, encode(INVALID_NETWORK_BODY))
        return Reply(200, encode(failure(target, params, rule.message)))  # api_error


def _html_page(status: int, text: str) -> bytes:
    return f"<html><body><h1>{status}</h1><p>{text}</p></body></html>".encode()

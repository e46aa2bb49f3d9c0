"""SandboxServer: the TUNE API over HTTP on loopback, in a background thread."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .api import SandboxApi
from .control import ControlError, handle_control
from .faults import FaultPlan, FaultRule
from .hostile import add_hostile_offer, add_hostile_rows
from .paging import short_page
from .params import decode_params, malformed_param, redacted
from .wire import INVALID_NETWORK_BODY, encode, failure, request_failure
from .world import SandboxWorld

log = logging.getLogger(__name__)

_HTTP_FAULTS = {"http_500": 500, "http_502": 502, "http_504": 504}
# A request body is a form of API parameters or a control payload: far below this.
MAX_BODY_BYTES = 1 << 20
# How long a connection may keep the server waiting for the bytes it announced (or any bytes at all).
SOCKET_TIMEOUT_S = 30.0
CONTROL_SECRET_HEADER = "X-Sandbox-Secret"
_DIGITS = re.compile(r"[0-9]+")


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


class _BadRequest(Exception):
    """A request the sandbox cannot read: answered with `status` and the message, never a traceback."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _page_of(params: dict) -> int:
    try:
        return int(str(params.get("page") or 1))
    except ValueError:
        return 1


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    server_version = "TuneSandbox/1.0"
    timeout = SOCKET_TIMEOUT_S  # a client that stops sending frees its thread

    def log_message(self, format: str, *args) -> None:
        # The default access log prints the query string, which carries the NetworkToken.
        pass

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def _answer(self, verb: str) -> None:
        """Every request gets a reply: a request the sandbox cannot read gets 4xx with the message
        (TUNE's error envelope on the API, `{"error": ...}` on the control endpoints), and a bug
        of the sandbox's own a 500 (logged with its traceback) instead of a dropped connection."""
        self._replied = False
        control = urlsplit(self.path).path.startswith("/_sandbox/")
        try:
            self._dispatch(verb)
        except _BadRequest as error:
            self._refuse(error.status, error.message, control)
        except Exception:
            log.exception("the sandbox failed to answer %s %s", verb, urlsplit(self.path).path)
            self._refuse(500, "Internal error in the TUNE sandbox", control)

    def _refuse(self, status: int, message: str, control: bool) -> None:
        if self._replied:  # too late for another status line: end the reply where it is
            self.close_connection = True
            return
        body = json.dumps({"error": message}).encode() if control else encode(request_failure(status, message))
        self._send(status, body)

    def _body(self) -> bytes:
        """The request body, after checking its announced length: a number of bytes (one value),
        at most MAX_BODY_BYTES, all of which arrive."""
        if self.headers.get("Transfer-Encoding"):
            raise _BadRequest(411, "send the request body with a Content-Length (no Transfer-Encoding)")
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return b""
        if len(set(values)) > 1 or not _DIGITS.fullmatch(values[0].strip()):
            raise _BadRequest(400, f"Content-Length must be one number of bytes, got {', '.join(values)!r}")
        length = int(values[0])
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, f"request body of {length} bytes; at most {MAX_BODY_BYTES} bytes are read")
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            raise _BadRequest(408, f"request body not sent within {SOCKET_TIMEOUT_S:g} s") from None
        if len(body) < length:
            raise _BadRequest(400, f"request body shorter than its Content-Length ({len(body)} of {length} bytes)")
        return body

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self._deliver(Reply(status, body, content_type))

    def _deliver(self, reply: Reply) -> None:
        # Content-Length is always the whole body, also when a fault sends less or sends it slowly.
        self._replied = True
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
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client gave up (e.g. its deadline passed) or stopped reading

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
            target = url.path[len("/v3/") : -len(".json")]
        else:
            return self._send(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html")
        if verb not in ("GET", "POST"):
            return self._send(405, b"<html><body><h1>405 Method Not Allowed</h1></body></html>", "text/html")
        pairs = parse_qsl(url.query, keep_blank_values=True)
        if verb == "POST":
            pairs += parse_qsl(self._body().decode("utf-8", "replace"), keep_blank_values=True)
        params = decode_params(pairs)
        problem = malformed_param(params)
        if problem is not None:
            raise _BadRequest(400, problem)
        target = target or str(params.get("Target") or "")
        self._deliver(sandbox.respond(target, params))

    def _control(self, verb: str, path: str) -> None:
        """Only for a caller that knows the server's secret and sends JSON: a web page open in a
        browser can send a POST cross-origin (text/plain or a form) without asking, but neither a
        header of its own nor a JSON body, and it cannot know the secret."""
        sandbox = self.server.sandbox
        sent = self.headers.get(CONTROL_SECRET_HEADER) or ""
        if not hmac.compare_digest(sent.encode("utf-8", "replace"), sandbox.control_secret.encode()):
            raise _BadRequest(
                403,
                f"the control endpoints need the header {CONTROL_SECRET_HEADER} with the "
                "server's secret (printed by `trackly sandbox serve`; SandboxServer.control_secret)",
            )
        payload = None
        if verb == "POST":
            media_type = (self.headers.get("Content-Type") or "").partition(";")[0].strip().lower()
            if media_type != "application/json":
                raise _BadRequest(
                    415, f"a control request's body must be application/json, not {media_type or 'untyped'}"
                )
            try:
                payload = json.loads(self._body(), parse_constant=_no_constant)
            except (ValueError, UnicodeDecodeError) as error:
                raise _BadRequest(400, f"the body is not JSON: {error}") from None
        try:
            reply = handle_control(verb, path, payload, sandbox.world, sandbox.faults)
        except KeyError:
            raise _BadRequest(404, f"unknown control path {path}") from None
        except ControlError as error:
            raise _BadRequest(400, str(error)) from None
        self._send(200, json.dumps(reply).encode())


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a request still sleeping in a `slow` fault must not block shutdown
    allow_reuse_address = True

    def __init__(self, address, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)


class SandboxServer:
    """A TUNE Network API on http://127.0.0.1:PORT (loopback only) serving a SandboxWorld.

    Use as a context manager, or call start() and stop(). `requests` and `injected` record what
    was served (credentials redacted) so tests can assert on client behaviour. The control
    endpoints (/_sandbox/...) answer only requests carrying `control_secret` in the
    X-Sandbox-Secret header: a new random one per server unless one is given.
    """

    def __init__(
        self,
        world: SandboxWorld,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Iterable[FaultRule] = (),
        rate_limit: tuple[int, float] = (50, 10.0),
        control_secret: str | None = None,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the sandbox only listens on loopback, not {host}")
        if control_secret is not None and (not control_secret or not control_secret.isascii()):
            raise ValueError("control_secret must be non-empty ASCII text")
        self.control_secret = control_secret or secrets.token_urlsafe(32)
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

    def start(self) -> SandboxServer:
        if self._http is not None:
            return self
        self._stopping.clear()
        self._http = _HttpServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, name="tune-sandbox", daemon=True
        )
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

    def __enter__(self) -> SandboxServer:
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
        if rule.kind == "hostile_rows":
            return Reply(200, encode(add_hostile_rows(self.world, params, self.api.handle(target, params))))
        if rule.kind == "hostile_offers":
            return Reply(200, encode(add_hostile_offer(self.api.handle(target, params))))
        if rule.kind == "reply":  # whatever a test needs TUNE, or a proxy before it, to have said
            return Reply(200, rule.body.encode("utf-8", "surrogatepass"))
        if rule.kind in ("invalid_token", "invalid_network"):  # TUNE's one reply to both (recording 23)
            return Reply(200, encode(INVALID_NETWORK_BODY))
        return Reply(200, encode(failure(target, params, rule.message)))  # api_error


def _html_page(status: int, text: str) -> bytes:
    return f"<html><body><h1>{status}</h1><p>{text}</p></body></html>".encode()

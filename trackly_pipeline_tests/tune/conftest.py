"""Shared helpers for the TUNE client tests: recorded replies and a scripted local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

# Real recorded replies (MIT, from the pyoffers client's cassettes); see recorded/README.md.
RECORDED_DIR = Path(__file__).resolve().parent / "recorded"

SECRET_TOKEN = "s3cr3t-T0KEN-do-not-leak"


def recorded(name_prefix: str) -> dict:
    """The recording whose file name starts with ``name_prefix`` (e.g. "04")."""
    (path,) = sorted(RECORDED_DIR.glob(f"{name_prefix}-*.json"))
    return json.loads(path.read_text())


def recorded_body(name_prefix: str) -> str:
    return recorded(name_prefix)["body"]


def envelope(data: object) -> str:
    """A successful TUNE reply wrapping ``data``, echoing the token like the real API does."""
    return json.dumps(
        {
            "request": {"Target": "X", "Method": "y", "NetworkToken": SECRET_TOKEN},
            "response": {"status": 1, "httpStatus": 200, "data": data, "errors": [], "errorMessage": None},
        }
    )


def api_error(message: str) -> str:
    return json.dumps(
        {
            "request": {"NetworkToken": SECRET_TOKEN},
            "response": {
                "status": -1,
                "httpStatus": 200,
                "data": "",
                "errors": [{"publicMessage": message}],
                "errorMessage": message,
            },
        }
    )


@dataclass
class Reply:
    body: str | bytes
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # the status line's reason phrase (None: the standard one)


@dataclass
class ScriptedServer:
    """Answers requests from a script of replies, in order (the last reply repeats)."""

    replies: list[Reply]
    requests: list[list[tuple[str, str]]] = field(default_factory=list)
    url: str = ""

    def next_reply(self, query: list[tuple[str, str]]) -> Reply:
        self.requests.append(query)
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


@pytest.fixture
def scripted_server() -> Iterator[callable]:
    servers: list[ThreadingHTTPServer] = []

    def start(*replies: Reply | str) -> ScriptedServer:
        script = ScriptedServer([r if isinstance(r, Reply) else Reply(r) for r in replies])

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                reply = script.next_reply(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                if reply.delay:
                    threading.Event().wait(reply.delay)
                payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status, reply.reason)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        script.url = f"http://127.0.0.1:{server.server_address[1]}/Apiv3/json"
        return script

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()

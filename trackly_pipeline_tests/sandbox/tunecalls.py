"""Calling the sandbox over real HTTP the way a TUNE client does (requests, bracket params)."""

from __future__ import annotations

import socket

import requests

from trackly_pipeline.sandbox import SandboxServer


class Tune:
    """Calls a sandbox the way a TUNE client does: GET, bracket params, NetworkId + NetworkToken."""

    def __init__(self, server: SandboxServer, network_id: str = "acmenet") -> None:
        self.server = server
        self.network_id = network_id

    def raw(self, target: str, method: str, params=(), network_id=None, token=None, form="apiv3", verb="GET"):
        network_id = network_id or self.network_id
        token = token if token is not None else self.server.world.token_for(network_id)
        query = [("Method", method), ("NetworkId", network_id), ("NetworkToken", token), *params]
        if form == "apiv3":
            url, query = self.server.api_url, [("Target", target), *query]
        else:
            url = f"{self.server.url}/v3/{target}.json"
        if verb == "POST":
            return requests.post(url, data=query, timeout=10)
        return requests.get(url, params=query, timeout=10)

    def ours(self, network_id: str | None = None) -> list[tuple[str, str]]:
        """The report filter for our affiliate's rows: the network also reports other partners'."""
        affiliate_id = self.server.world.network(network_id or self.network_id).affiliate_id
        return [
            ("filters[Stat.affiliate_id][conditional]", "EQUAL_TO"),
            ("filters[Stat.affiliate_id][values][]", affiliate_id),
        ]

    def call(self, target: str, method: str, params=(), **kwargs) -> dict:
        reply = self.raw(target, method, params, **kwargs)
        assert reply.status_code == 200
        return reply.json()

    def data(self, target: str, method: str, params=(), **kwargs):
        body = self.call(target, method, params, **kwargs)
        assert body["response"]["status"] == 1, body["response"]
        return body["response"]["data"]

    def error(self, target: str, method: str, params=(), **kwargs) -> str:
        body = self.call(target, method, params, **kwargs)
        response = body["response"]
        assert response["status"] == -1 and response["httpStatus"] == 200 and response["data"] == ""
        assert response["errors"] == [{"publicMessage": response["errorMessage"]}]
        return response["errorMessage"]


def fields(*names: str) -> list[tuple[str, str]]:
    return [("fields[]", n) for n in names]


def between(field: str, low: str, high: str) -> list[tuple[str, str]]:
    return [
        (f"filters[{field}][conditional]", "BETWEEN"),
        (f"filters[{field}][values][]", low),
        (f"filters[{field}][values][]", high),
    ]


def control(server: SandboxServer, verb: str, path: str, payload=None) -> requests.Response:
    """A request to the sandbox's control endpoints (`/_sandbox/...`), with the server's secret."""
    headers = {"X-Sandbox-Secret": server.control_secret}
    return requests.request(verb, server.url + path, json=payload, headers=headers, timeout=5)


def raw_http(
    server: SandboxServer,
    request: bytes,
    timeout: float = 5.0,
    *,
    hang_up: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as the bytes given (for malformed requests no HTTP library would send) and
    read the whole reply: (status, headers, body). Raises if the server hangs up without one, or
    gives none within `timeout`. `hang_up=False` keeps the sending side open, as a client waiting
    for its reply does (a server reading until the end of the stream then waits forever)."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(request)
        if hang_up:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    if not head:
        raise ConnectionError("the server closed the connection without a reply")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body

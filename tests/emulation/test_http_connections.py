"""The engine's HTTP handler (``emulation/core/http.py``) keeps connections open, safely.

A small WSGI application stands in for the engine; a client sends several requests on one
connection and reads every answer whole.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import make_server

from emulation.core.http import EngineRequestHandler


def _app(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    peer = str(environ["REMOTE_PORT"]).encode()
    if path == "/read":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size)
        start_response("200 OK", [("Content-Length", str(len(body) + len(peer) + 1))])
        return [peer, b":", body]
    if path == "/stream":  # no Content-Length: sent chunked
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return iter([b"one,", b"", b"two,", peer])
    if path == "/fail":
        raise RuntimeError("the application failed")
    if path == "/environ":  # what the handler made of the request
        seen = {
            key: value
            for key, value in environ.items()
            if isinstance(value, (str, dict)) and key not in {"REMOTE_PORT", "SERVER_PORT"}
        }
        body = json.dumps(seen, sort_keys=True).encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    # answers without reading the request body
    start_response("200 OK", [("Content-Length", str(len(peer)))])
    return [peer]


def _serve(handler: type) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, _app, threaded=True, request_handler=handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    yield from _serve(EngineRequestHandler)


@pytest.fixture(scope="module")
def moto_port() -> Iterator[int]:
    yield from _serve(MotoRequestHandler)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amz-meta-colour": "red", "Content-Type": "text/plain"},
        {"x-amz-meta-my_key": "1", "x-amz-meta-other": "2"},  # kept as spelled, for S3
        {"x-amz-meta-my_key": "1", "x-amz-meta-my-key": "2"},  # the dashed one wins
    ],
    ids=["no underscore", "underscore", "underscore and dashed"],
)
def test_the_environ_is_the_one_motos_handler_makes(
    port: int, moto_port: int, headers: dict[str, str]
) -> None:
    seen = []
    for server_port in (port, moto_port):
        conn = http.client.HTTPConnection("127.0.0.1", server_port)
        response, body = _exchange(conn, "PUT", "/environ", b"data", Host="engine.test:4566", **headers)
        assert response.status == 200
        seen.append(json.loads(body))
        conn.close()
    ours, motos = seen
    assert ours == motos
    assert ours["moto.preserved_header_names"] == (
        {"HTTP_X_AMZ_META_MY_KEY": "x-amz-meta-my_key"} if "x-amz-meta-other" in headers else {}
    )


def _exchange(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None, **headers: str
) -> Any:
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response, response.read()


def test_requests_share_one_connection(port: int) -> None:
    """Several requests on one connection are all answered, on that same connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    peers = set()
    for number in range(5):
        response, data = _exchange(conn, "PUT", "/read", f"body {number}".encode())
        peer, _, body = data.partition(b":")
        assert (response.status, body) == (200, f"body {number}".encode())
        assert response.getheader("Connection") is None
        peers.add(peer)
    assert len(peers) == 1
    conn.close()


def test_an_unread_request_body_does_not_spill_into_the_next_request(port: int) -> None:
    """A body the application did not read is dropped before the next request is read."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    first, _ = _exchange(conn, "PUT", "/ignore", b"GET /read HTTP/1.1\r\n\r\n" * 50)
    second, data = _exchange(conn, "PUT", "/read", b"next")
    assert (first.status, second.status) == (200, 200)
    assert data.endswith(b":next")
    conn.close()


def test_answers_without_a_length_are_chunked(port: int) -> None:
    """A streamed answer arrives whole (chunked), and the connection stays usable."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    response, data = _exchange(conn, "GET", "/stream")
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert data.startswith(b"one,two,")
    response, data = _exchange(conn, "PUT", "/read", b"after")
    assert data.endswith(b":after")
    conn.close()


def test_a_client_that_asks_to_close_is_answered_and_closed(port: int) -> None:
    """``Connection: close`` from the client is honoured."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    response, _ = _exchange(conn, "GET", "/ignore", Connection="close")
    assert response.status == 200
    assert response.getheader("Connection") == "close"
    conn.close()


def test_a_failing_application_gets_a_500_and_a_closed_connection(port: int) -> None:
    """An application error answers 500 and closes the connection; the server serves on."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    response, _ = _exchange(conn, "GET", "/fail")
    assert response.status == 500
    assert response.getheader("Connection") == "close"
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port)
    response, _ = _exchange(conn, "GET", "/ignore")
    assert response.status == 200
    conn.close()


def test_head_answers_carry_no_body(port: int) -> None:
    """A HEAD answer keeps its Content-Length but sends no body (the next answer is intact)."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    response, data = _exchange(conn, "HEAD", "/ignore")
    assert response.status == 200 and data == b""
    assert int(response.getheader("Content-Length")) > 0
    response, data = _exchange(conn, "PUT", "/read", b"x")
    assert data.endswith(b":x")
    conn.close()

"""The engine's HTTP/1.1 connection handling: persistent connections, one write per answer.

Measured with ``benchmarks/bench_peers.py``: werkzeug's development server (which moto's
server uses) answers every request with ``Connection: close``. A boto3 client then opens a
new TCP connection (and the server a new thread) for every call; against a server that
answers instantly that alone caps a client at ~300 small S3 PutObject/s, against ~870/s
when the connection is kept. It also sends the status line and headers in one packet and
the body in another.

:class:`EngineRequestHandler` is werkzeug's request handler with what moto's server handler
adds (the environ keeps the original spelling of headers with underscores, which S3
metadata needs; moto's handler lives in a module that imports Flask), and replaces how a
request is run and answered:

* the connection is kept open after a complete exchange (HTTP/1.1 and no
  ``Connection: close`` from the client), as AWS's endpoints do;
* the request body is handed to the application bounded by its ``Content-Length``;
  whatever the application left unread is read and dropped before the next request is
  read. A chunked request body, a failed application or an unread body too large to
  drop closes the connection after the answer, as before;
* the environ is werkzeug's when no header name holds an underscore (moto's handler
  adds nothing else then, after reading every header again: a tenth of a small S3 call's
  CPU);
* an answer with a ``Content-Length`` is written with its headers in one ``sendall``
  (status line, headers and the first body chunk); an answer without one is streamed
  with ``Transfer-Encoding: chunked`` (Kinesis Video media, event streams).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

log = logging.getLogger(__name__)

#: an unread request body up to this size is dropped to keep the connection; past it, closed
DRAIN_LIMIT = 1 << 20
_NO_BODY_STATUSES = frozenset({204, 304})


class _Exchange:
    """One request's answer as the application builds it (WSGI ``start_response``)."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called twice")
        self.status = status
        self.headers = list(headers)
        return self._write_unsupported

    @staticmethod
    def _write_unsupported(data: bytes) -> None:
        raise NotImplementedError("the engine's applications return their body; write() is not offered")


class EngineRequestHandler(WSGIRequestHandler):  # type: ignore[misc]
    """moto's request handler with persistent connections (see the module docstring)."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Answers are written in as few sends as possible; never wait for an ACK in between.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().make_environ()
        names: dict[str, str] = {}
        if any("_" in name for name in self.headers):
            names = self._underscored_headers(environ)
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
        return environ

    def _underscored_headers(self, environ: dict[str, Any]) -> dict[str, str]:
        """What moto's server handler adds to the environ for S3 metadata headers with an
        underscore in their name: werkzeug drops those (WSGI cannot tell ``x_a`` from
        ``x-a``), so each goes in under its WSGI key (values joined by commas) with its
        spelling recorded, unless a dashed header of the same key was sent: that one wins.
        Returns the spellings, by WSGI key."""
        dashed = {environ_key_for_header(name) for name in self.headers if "_" not in name}
        names: dict[str, str] = {}
        values: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            if not should_preserve_original_header_name(name):
                continue
            key = environ_key_for_header(name)
            if key not in dashed:
                names.setdefault(key, name)
                values.setdefault(key, []).append(value.replace("\r\n", ""))
        for key, joined in values.items():
            environ[key] = ",".join(joined)
        return names

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.environ = self.make_environ()
        body = self._bounded_input(environ)
        keep = body is not None and self._client_keeps_alive()
        exchange = _Exchange()
        try:
            answer = self.server.app(environ, exchange.start_response)
            try:
                keep = self._answer(exchange, answer, environ["REQUEST_METHOD"], keep)
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:
            self.close_connection = True
            log.exception("error on request %s %s", self.command, self.path)
            if not exchange.sent:
                self._send_error_answer()
            return
        if keep and body is not None and not self._drain(body):
            keep = False
        if getattr(self.server.app, "stopping", False):
            keep = False  # the engine is stopping: no further request on this connection
        self.close_connection = not keep

    # -- request ------------------------------------------------------------------------
    def _bounded_input(self, environ: dict[str, Any]) -> LimitedStream | None:
        """Bound ``wsgi.input`` by ``Content-Length`` (None when the body is chunked or
        its length unknown: the connection is then closed after the answer)."""
        if environ.get("wsgi.input_terminated"):
            return None
        length = environ.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            return None
        if size < 0:
            return None
        stream = LimitedStream(self.rfile, size)
        environ["wsgi.input"] = stream
        return stream

    def _client_keeps_alive(self) -> bool:
        if self.request_version != "HTTP/1.1":
            return False
        return "close" not in self.headers.get("Connection", "").lower()

    @staticmethod
    def _drain(body: LimitedStream) -> bool:
        """Read what the application left of the request body; False: close instead."""
        left = body.limit - body.tell()
        if left <= 0:
            return True
        if left > DRAIN_LIMIT:
            return False
        try:
            body.exhaust()
        except Exception:  # the client went away mid-body
            return False
        return True

    # -- answer -------------------------------------------------------------------------
    def _answer(self, exchange: _Exchange, answer: Iterable[bytes], method: str, keep: bool) -> bool:
        """Write the application's answer; returns whether the connection may be kept."""
        chunks = iter(answer)
        first = b""
        for chunk in chunks:  # an application may call start_response on its first chunk
            if chunk:
                first = bytes(chunk)
                break
        else:
            chunks = iter(())
        if exchange.status is None:
            raise AssertionError("the application returned without calling start_response")
        code = int(exchange.status.split(None, 1)[0])
        names = {name.lower() for name, _ in exchange.headers}
        bodyless = method == "HEAD" or code < 200 or code in _NO_BODY_STATUSES
        chunked = not bodyless and "content-length" not in names
        lines = [f"HTTP/1.1 {exchange.status}\r\n"]
        if "server" not in names:
            lines.append(f"Server: {self.version_string()}\r\n")
        if "date" not in names:
            lines.append(f"Date: {self.date_time_string()}\r\n")
        lines.extend(f"{name}: {value}\r\n" for name, value in exchange.headers)
        if chunked:
            lines.append("Transfer-Encoding: chunked\r\n")
        if not keep:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        exchange.sent = True
        send = self.connection.sendall
        if bodyless:
            send(head)
            for _ in chunks:  # run the application to its end; HEAD answers carry no body
                pass
            return keep
        if not chunked:
            send(head + first)
            for chunk in chunks:
                if chunk:
                    send(chunk)
            return keep
        send(head + _chunk(first) if first else head)
        for chunk in chunks:
            if chunk:
                send(_chunk(bytes(chunk)))
        send(b"0\r\n\r\n")
        return keep

    def _send_error_answer(self) -> None:
        body = b"Internal Server Error"
        head = (
            f"HTTP/1.1 {HTTPStatus.INTERNAL_SERVER_ERROR.value} Internal Server Error\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            self.connection.sendall(head.encode("latin-1") + body)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)

"""A Service's stable local port: a TCP load balancer over the ready pods.

Like kube-proxy, it balances connections (not requests) round-robin over the endpoints
that are ready at the moment a connection arrives; a connection stays with its pod until
either side closes it. When the chosen pod refuses the connection (it is just stopping),
the next endpoint is tried. With no ready endpoint the connection is closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Endpoints = Callable[[], list[tuple[str, int]]]  # [(pod name, local port)]
CHUNK = 65536


class ServiceProxy:
    """Listens on 127.0.0.1:``local_port`` and forwards to ``endpoints()``."""

    def __init__(self, key: str, service_port: int, local_port: int, endpoints: Endpoints) -> None:
        self.key = key
        self.service_port = service_port
        self.local_port = local_port
        self.target: int | str = service_port  # the Service's targetPort (set by the cluster)
        self.endpoints = endpoints
        self._counter = itertools.count()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.connections_total = 0
        self.refused_total = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.local_port, reuse_address=True
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        for task in list(self._connections):
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._forward(reader, writer)
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_total += 1
        endpoints = self.endpoints()
        if not endpoints:
            self.refused_total += 1
            return
        start = next(self._counter)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for offset in range(len(endpoints)):
            _, port = endpoints[(start + offset) % len(endpoints)]
            try:
                upstream = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue
        if upstream is None:
            self.refused_total += 1
            return
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            up_writer.close()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()

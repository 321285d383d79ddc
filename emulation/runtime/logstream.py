"""Pod logs over the control API: the last lines, then (``follow``) new lines as they come.

The answer is ``text/plain``, chunked; with ``follow=true`` it stays open, sending lines as
pods write them (new pods of a deployment join the stream) until the client closes or,
for one pod, the pod is gone. A deployment's lines are prefixed with ``[pod] ``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from emulation.runtime.exceptions import ObjectNotFoundError

if TYPE_CHECKING:
    from emulation.runtime.controller import Cluster

FOLLOW_POLL_SECONDS = 0.2


async def stream_logs(
    cluster: Cluster,
    writer: asyncio.StreamWriter,
    ns: str,
    name: str,
    deployment: bool,
    tail: int,
    follow: bool,
) -> None:
    """Write the whole answer: a deployment's (every pod's) or one pod's log lines."""
    if deployment:
        cluster.deployment(ns, name)  # ObjectNotFoundError for an unknown deployment
        files = cluster.log_files(ns, name)
    else:
        pod = cluster.find_pod(ns, name)
        files = [(pod.name, pod.log_path)]
    stream = _LogStream(writer, prefix=deployment)
    # Read the tails (and so fix where following starts) before the answer's head goes
    # out: a client that writes a line once it sees the head must get that line.
    tails = [(pod_name, stream.read_tail(pod_name, path, tail)) for pod_name, path in files]
    head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n"
    writer.write((head + "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
    try:
        for pod_name, lines in tails:
            await stream.send(pod_name, lines)
        while follow and not writer.is_closing():
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
            current = cluster.log_files(ns, name) if deployment else files
            for pod_name, path in current:
                stream.offsets[pod_name] = await stream.send_new(
                    pod_name, path, stream.offsets.get(pod_name, 0)
                )
            if not deployment and not any(p.name == name for p in cluster.all_pods()):
                break  # the pod is gone
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except ObjectNotFoundError:
        writer.write(b"0\r\n\r\n")


class _LogStream:
    """Sends log lines as HTTP chunks, prefixed with the pod name for deployments."""

    def __init__(self, writer: asyncio.StreamWriter, prefix: bool) -> None:
        self.writer = writer
        self.prefix = prefix
        self.offsets: dict[str, int] = {}
        self.partial: dict[str, bytes] = {}

    async def send(self, pod: str, lines: list[bytes]) -> None:
        if not lines:
            return
        if self.prefix:
            lines = [f"[{pod}] ".encode() + line for line in lines]
        data = b"".join(line + b"\n" for line in lines)
        self.writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await self.writer.drain()

    def read_tail(self, pod: str, path: Path, tail: int) -> list[bytes]:
        """The last ``tail`` complete lines (all when negative); following starts after them."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.offsets[pod] = 0
            return []
        self.offsets[pod] = len(data)
        complete = data[: data.rfind(b"\n") + 1]
        self.partial[pod] = data[len(complete) :]
        lines = complete.splitlines()
        if tail >= 0:
            lines = lines[-tail:] if tail else []
        return lines

    async def send_new(self, pod: str, path: Path, offset: int) -> int:
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                fresh = fh.read()
        except FileNotFoundError:
            return offset
        if not fresh:
            return offset
        data = self.partial.pop(pod, b"") + fresh
        cut = data.rfind(b"\n") + 1
        self.partial[pod] = data[cut:]
        await self.send(pod, data[:cut].splitlines())
        return offset + len(fresh)

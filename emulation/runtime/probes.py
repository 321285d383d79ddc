"""Container probes as the kubelet runs them: httpGet, tcpSocket and exec.

An httpGet probe succeeds on a status code from 200 to 399 (the kubelet's rule) and
sends ``User-Agent: kube-probe/<version>``; tcpSocket succeeds when a connection opens;
exec when the command exits 0. Each attempt is bounded by ``timeoutSeconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from emulation.runtime.manifests import Probe

USER_AGENT = "kube-probe/1.31"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str = ""


async def run_probe(
    probe: Probe, port: int | None, env: Mapping[str, str], cwd: str, host: str = "127.0.0.1"
) -> ProbeResult:
    """One attempt of ``probe`` against a pod listening on ``port``."""
    try:
        if probe.handler == "http":
            return await asyncio.wait_for(_http(probe, host, port), probe.timeout)
        if probe.handler == "tcp":
            return await asyncio.wait_for(_tcp(host, port), probe.timeout)
        return await _exec(probe, env, cwd)
    except TimeoutError:
        return ProbeResult(False, f"timeout after {probe.timeout:g}s")


async def _http(probe: Probe, host: str, port: int | None) -> ProbeResult:
    if port is None:
        return ProbeResult(False, "no port to probe")
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        return ProbeResult(False, f'Get "http://{host}:{port}{probe.path}": {exc.strerror or exc}')
    try:
        headers = {"Host": f"{host}:{port}", "User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
        headers.update(dict(probe.headers))
        request = f"GET {probe.path or '/'} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        writer.write((request + "\r\n").encode())
        await writer.drain()
        line = await reader.readline()
        parts = line.decode("latin-1").split()
        if len(parts) < 2 or not parts[1].isdigit():
            return ProbeResult(False, "HTTP probe failed: malformed response")
        code = int(parts[1])
        if 200 <= code < 400:
            return ProbeResult(True, f"HTTP {code}")
        return ProbeResult(False, f"HTTP probe failed with statuscode: {code}")
    except OSError as exc:
        return ProbeResult(False, f"HTTP probe failed: {exc}")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _tcp(host: str, port: int | None) -> ProbeResult:
    if port is None:
        return ProbeResult(False, "no port to probe")
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        return ProbeResult(False, f"dial tcp {host}:{port}: {exc.strerror or exc}")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(True, "connected")


async def _exec(probe: Probe, env: Mapping[str, str], cwd: str) -> ProbeResult:
    try:
        proc = await asyncio.create_subprocess_exec(
            *probe.command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
        )
    except OSError as exc:
        return ProbeResult(False, f"exec failed: {exc}")
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), probe.timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return ProbeResult(False, f"command timed out after {probe.timeout:g}s")
    text = out.decode(errors="replace").strip()[-200:]
    if proc.returncode == 0:
        return ProbeResult(True, text)
    return ProbeResult(False, f"command exited {proc.returncode}: {text}")

"""The runtime process: ``python -m emulation.runtime --state-dir D --engine-endpoint URL``.

Loads and validates the manifests, writes a fresh admin token to
``<state>/runtime/admin-token``, makes the Kubernetes API's CA (``ca.crt``, kept) and a
fresh serving certificate, binds every Service's local port, the Kubernetes API (HTTPS)
and the internal channel (127.0.0.1 only), writes ``<state>/runtime/api.json`` (pid, the
Kubernetes API's URL and CA, the internal URL, Service ports), then reconciles until
SIGTERM or SIGINT, when it stops every pod (SIGTERM, grace, SIGKILL) and removes
``api.json``. Logs go to stderr; pod output to per-pod files. ``<state>/runtime`` is 0700;
the admin token, ``api.json``, the keys and the service-account signing key are 0600.

Exit codes: 0 stopped cleanly, 3 a port is in use, 4 bad arguments, 5 invalid manifests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import psutil

from emulation.runtime.api import ControlApi
from emulation.runtime.auth import write_admin_token
from emulation.runtime.controller import Cluster, PortInUseError
from emulation.runtime.exceptions import ManifestError
from emulation.runtime.kube.server import KubeApi
from emulation.runtime.kube.tls import issue_serving_certificate, server_context
from emulation.runtime.manifests import load_manifests
from emulation.runtime.settings import DEFAULT_NODES, Node, RuntimeSettings
from emulation.runtime.tokens import write_private

log = logging.getLogger("emulation.runtime")

EXIT_PORT_IN_USE = 3
EXIT_BAD_ARGS = 4
EXIT_BAD_MANIFESTS = 5


def parse_args(argv: list[str] | None = None) -> tuple[RuntimeSettings, str]:
    parser = argparse.ArgumentParser(prog="python -m emulation.runtime", description=__doc__)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--manifests", type=Path, default=None, help="default: STATE/manifests")
    parser.add_argument("--engine-endpoint", default=None, help="AWS_ENDPOINT_URL for the pods")
    parser.add_argument("--region", default="us-west-2")
    parser.add_argument("--oidc-issuer", default="https://oidc.local.nexuskit.dev")
    parser.add_argument("--service-port-base", type=int, default=4666)
    parser.add_argument("--api-port", type=int, default=0, help="internal channel; 0 picks a free port")
    parser.add_argument("--kube-api-port", type=int, default=0, help="Kubernetes API; 0 picks a free port")
    parser.add_argument("--no-kube-api", action="store_true", help="no Kubernetes API (benchmarks)")
    parser.add_argument("--bookmark-seconds", type=float, default=30.0, help="watch BOOKMARK interval")
    parser.add_argument("--workdir", type=Path, default=Path.cwd(), help="cwd and PYTHONPATH of the pods")
    parser.add_argument("--nodes", default=None, help="JSON list of {name, labels, taints}")
    parser.add_argument("--backoff-base", type=float, default=10.0)
    parser.add_argument("--backoff-max", type=float, default=300.0)
    parser.add_argument("--credential-seconds", type=int, default=3600)
    parser.add_argument("--no-credential-refresh", action="store_true")
    parser.add_argument(
        "--min-token-seconds", type=int, default=600, help="shortest projected token (tests; Kubernetes: 600)"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    nodes: tuple[Node, ...] = DEFAULT_NODES
    if args.nodes:
        try:
            nodes = tuple(Node.from_dict(item) for item in json.loads(args.nodes))
        except (ValueError, KeyError, TypeError) as exc:
            parser.error(f"--nodes: {exc}")
    if not 1 <= args.service_port_base <= 65000:
        parser.error("--service-port-base must be a port number")
    if args.min_token_seconds < 1:
        parser.error("--min-token-seconds must be at least 1")
    state_dir = args.state_dir.resolve()
    settings = RuntimeSettings(
        state_dir=state_dir,
        manifests_dir=(args.manifests or state_dir / "manifests").resolve(),
        engine_endpoint=args.engine_endpoint,
        region=args.region,
        oidc_issuer=args.oidc_issuer,
        service_port_base=args.service_port_base,
        api_port=args.api_port,
        workdir=args.workdir.resolve(),
        nodes=nodes,
        backoff_base=args.backoff_base,
        backoff_max=args.backoff_max,
        credential_seconds=args.credential_seconds,
        refresh_credentials=not args.no_credential_refresh,
        min_token_seconds=args.min_token_seconds,
        kube_api_port=None if args.no_kube_api else args.kube_api_port,
        bookmark_seconds=args.bookmark_seconds,
    )
    return settings, args.log_level


def sweep_orphans(processes_file: Path) -> int:
    """Kill pod processes a crashed runtime left behind (recorded pid and start time match)."""
    try:
        recorded = json.loads(processes_file.read_text())
    except (FileNotFoundError, ValueError):
        return 0
    killed = []
    for pid, entry in recorded.items():
        try:
            proc = psutil.Process(int(pid))
            started = entry.get("started")
            if started is None or abs(proc.create_time() - float(started)) > 0.01:
                continue
            os.killpg(proc.pid, signal.SIGKILL)
            killed.append(proc)
        except (psutil.Error, ProcessLookupError, PermissionError, ValueError, TypeError, AttributeError):
            continue
    psutil.wait_procs(killed, timeout=5)
    processes_file.unlink(missing_ok=True)
    return len(killed)


def _fresh_folders(settings: RuntimeSettings) -> None:
    """Pods of a previous run are gone: drop their folders, keep their logs one run longer."""
    settings.runtime_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.runtime_dir, 0o700)  # tokens, keys and pod folders live below
    shutil.rmtree(settings.pods_dir, ignore_errors=True)
    if settings.logs_dir.exists():
        previous = settings.runtime_dir / "logs.previous"
        shutil.rmtree(previous, ignore_errors=True)
        settings.logs_dir.rename(previous)
    settings.logs_dir.mkdir(parents=True)


async def serve(settings: RuntimeSettings, cluster: Cluster) -> int:
    admin_token = write_admin_token(settings.admin_token_file)
    api = ControlApi(cluster, admin_token)
    kube: KubeApi | None = None
    kube_url = ""
    if settings.kube_api_port is not None:
        serving = issue_serving_certificate(settings.runtime_dir)
        cluster.ca_pem = serving.ca_pem
        kube = KubeApi(cluster, admin_token, server_context(serving), settings.bookmark_seconds)
    try:
        await cluster.start_services()
        port = await api.start(settings.api_port)
        if kube is not None:
            cluster.kube_port = await kube.start(settings.kube_api_port or 0)
            kube_url = f"https://127.0.0.1:{cluster.kube_port}"
    except PortInUseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PORT_IN_USE
    except OSError as exc:
        await cluster.stop_services()
        await api.stop()
        print(f"error: an API port is in use: {exc.strerror}", file=sys.stderr)
        return EXIT_PORT_IN_USE
    cluster.api_url = f"http://127.0.0.1:{port}"
    info = {
        "pid": os.getpid(),
        "api_port": port,
        "api_url": cluster.api_url,
        "kube_url": kube_url,
        "kube_ca": str(settings.runtime_dir / "ca.crt") if kube_url else "",
        "started_at": time.time(),
        "manifests": str(settings.manifests_dir),
        "services": {
            f"{ns}/{name}": {str(k): v for k, v in ports.items()}
            for (ns, name), ports in cluster.service_ports.items()
        },
    }
    write_private(settings.info_file, json.dumps(info, indent=2))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "runtime up: Kubernetes API %s, %d deployments, %d services",
        kube_url or "(off)",
        len(cluster.manifests.deployments),
        len(cluster.proxies),
    )
    runner = loop.create_task(cluster.run(), name="reconcile")
    await stop.wait()
    log.info("stopping: terminating %d pods", sum(len(p) for p in cluster.pods.values()))
    if kube is not None:
        await kube.stop()
    await api.stop()
    await cluster.shutdown()
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    settings.info_file.unlink(missing_ok=True)
    log.info("runtime stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    settings, level = parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        manifests = load_manifests(settings.manifests_dir, settings.min_token_seconds)
    except ManifestError as exc:
        print(f"manifest error: {exc}", file=sys.stderr)
        return EXIT_BAD_MANIFESTS
    _fresh_folders(settings)
    swept = sweep_orphans(settings.processes_file)
    if swept:
        log.warning("killed %d pod processes left by a previous runtime", swept)

    async def run() -> int:
        return await serve(settings, Cluster(settings, manifests))

    return asyncio.run(run())

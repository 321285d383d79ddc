"""``python -m tests.runtime.lab_pod``: the pod the runtime tests' Deployments run.

A small service the tests can look into and steer (a fixture, not part of the kit): a
real HTTP server (standard library only) on ``PORT`` (default 8000), bound to 127.0.0.1 on
a workstation and to 0.0.0.0 inside a cluster (``KUBERNETES_SERVICE_HOST`` set):

``GET /health``
    liveness: ``{"status": "ok", "service": NAME}``.
``GET /ready``
    readiness: 200, or 503 after ``POST /_placeholder/ready {"ready": false}``.
``GET /``
    who and where it is: service name, pod, namespace, the environment it got (secret
    values redacted), the AWS setup (region, endpoint, credential source, role) and the
    contents of the files under ``NEXUS_CONFIG_DIR`` (a mounted ConfigMap).
``GET /whoami``
    ``sts:GetCallerIdentity`` with the pod's own AWS configuration (boto3, imported on
    first use): ``{"arn": ...}`` or ``{"arn": null, "error": ...}``.
``GET /metrics``
    Prometheus text: requests served, uptime.

SIGTERM stops accepting, finishes the requests in flight and exits 0.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SECRET_RE = re.compile(r"SECRET|TOKEN|PASSWORD|PRIVATE|CREDENTIAL|ACCESS_KEY", re.IGNORECASE)
STARTED = time.time()


class State:
    ready = True
    requests = 0
    lock = threading.Lock()


def service_name() -> str:
    return os.environ.get("SERVICE_NAME") or os.environ.get("HOSTNAME", "placeholder")


def redacted_env() -> dict[str, str]:
    return {k: ("***" if SECRET_RE.search(k) else v) for k, v in sorted(os.environ.items())}


def config_files() -> dict[str, str]:
    folder = os.environ.get("NEXUS_CONFIG_DIR")
    if not folder or not Path(folder).is_dir():
        return {}
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            out[str(path.relative_to(folder))] = path.read_text(errors="replace")
    return out


def aws_setup() -> dict[str, Any]:
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID"):
        source = "environment"
    elif env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        source = "web-identity"
    else:
        source = None
    return {
        "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        "endpoint_url": env.get("AWS_ENDPOINT_URL"),
        "credentials": source,
        "role_arn": env.get("AWS_ROLE_ARN"),
        "web_identity_token_file": env.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
    }


def whoami() -> dict[str, Any]:
    try:
        import boto3  # only on demand: it costs ~30 MB per process

        arn = boto3.client("sts").get_caller_identity()["Arn"]
        return {"arn": arn}
    except Exception as exc:  # any SDK failure is the answer
        return {"arn": None, "error": f"{type(exc).__name__}: {exc}"}


class Handler(BaseHTTPRequestHandler):
    server_version = "nexus-placeholder/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if "/health" in self.path or "/ready" in self.path:
            return  # probes every few seconds would drown the log
        sys.stdout.write(f"{self.address_string()} {format % args}\n")

    def _send(self, code: int, payload: Any, content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, indent=2).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with State.lock:
            State.requests += 1
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._send(200, {"status": "ok", "service": service_name()})
        elif path == "/ready":
            ready = State.ready
            self._send(200 if ready else 503, {"ready": ready, "service": service_name()})
        elif path == "/":
            self._send(
                200,
                {
                    "service": service_name(),
                    "placeholder": True,
                    "pod": os.environ.get("POD_NAME") or os.environ.get("HOSTNAME"),
                    "namespace": os.environ.get("POD_NAMESPACE"),
                    "pid": os.getpid(),
                    "uptime_s": round(time.time() - STARTED, 3),
                    "aws": aws_setup(),
                    "config": config_files(),
                    "env": redacted_env(),
                },
            )
        elif path == "/whoami":
            self._send(200, whoami())
        elif path == "/metrics":
            text = (
                "# TYPE nexus_placeholder_requests_total counter\n"
                f"nexus_placeholder_requests_total {State.requests}\n"
                "# TYPE nexus_placeholder_uptime_seconds gauge\n"
                f"nexus_placeholder_uptime_seconds {time.time() - STARTED:.3f}\n"
            )
            self._send(200, text.encode(), "text/plain; version=0.0.4")
        else:
            self._send(404, {"error": f"{path} is not served by the placeholder of {service_name()}"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.split("?", 1)[0] != "/_placeholder/ready":
            self._send(
                501, {"error": f"{self.path} is not implemented by the placeholder of {service_name()}"}
            )
            return
        try:
            State.ready = bool(json.loads(raw or b"{}").get("ready", True))
        except (ValueError, AttributeError):
            self._send(400, {"error": 'body must be {"ready": true|false}'})
            return
        self._send(200, {"ready": State.ready})


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    host = "0.0.0.0" if os.environ.get("KUBERNETES_SERVICE_HOST") else "127.0.0.1"
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = False
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    print(f"{service_name()} placeholder listening on {host}:{port}", flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    print(f"{service_name()} placeholder stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

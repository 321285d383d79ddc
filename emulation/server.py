"""The embedded engine process: ``python -m emulation --port 4566 --state-dir .nexus``.

Binds 127.0.0.1 only, restores persisted state, starts the extensions, serves, and takes
a snapshot about once a second while anything changed. SIGTERM or SIGINT stop it
cleanly: the server stops accepting, the extensions stop their workers, and a final
snapshot is written. Exit codes: 0 stopped cleanly, 3 port in use, 4 bad arguments.

Everything the engine writes is its owner's alone: the process runs with umask 077 (files
0600, folders 0700), the state dir is made 0700, and ``<state_dir>/engine-token`` (the
admin's bearer token for ``/_nexus``, new at every start) is 0600 and removed at a clean
stop, after which ``<state_dir>/engine-stopped.json`` says whether the final snapshot was
written (``nexuskit down`` reads it). moto's debugging API is off unless ``--moto-api``
(see :mod:`emulation.core.motoapi`).
"""

from __future__ import annotations

import argparse
import errno
import gc
import importlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from emulation.core.hosts import ALLOWED_HOSTS_ENV, HostPolicy
from emulation.core.settings import (
    CLOCK_SKEW_ENV,
    GLUE_TIMEOUT_SCALE_ENV,
    KINESIS_RETENTION_SCALE_ENV,
    EngineSettings,
)

log = logging.getLogger("emulation.server")

#: the garbage collector's thresholds while the engine starts and serves its first burst
#: (see :meth:`emulation.core.app.EngineApp.settle_collector`)
START_GC_THRESHOLD = (5000, 50, 1000)

EXIT_PORT_IN_USE = 3
EXIT_BAD_ARGS = 4
#: how the engine's last stop ended, written when the engine has stopped cleanly
STOP_RECORD = "engine-stopped.json"


def parse_args(argv: list[str] | None = None) -> EngineSettings:
    parser = argparse.ArgumentParser(prog="python -m emulation", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--no-persist", action="store_true")
    parser.add_argument("--snapshot-interval", type=float, default=1.0)
    parser.add_argument(
        "--disk-reserve-mb",
        type=int,
        default=64,
        help="refuse writes (503) while the state dir's file system has less free space than "
        "this plus the request (default 64)",
    )
    parser.add_argument(
        "--memory-budget",
        type=int,
        default=64,
        metavar="MB",
        help="MiB of memory for caches of stored data, such as the newest Kinesis records "
        "(older ones are read from disk; default 64)",
    )
    parser.add_argument("--firehose-buffering", choices=["fast", "aws"], default="fast")
    parser.add_argument("--kinesis-limits", choices=["aws", "off"], default="aws")
    parser.add_argument("--iam", choices=["enforce", "log", "off"], default="enforce")
    parser.add_argument(
        "--lake-formation",
        choices=["aws", "strict"],
        default="aws",
        help="aws (default): direct S3 calls are IAM's alone, as in AWS; strict: registered "
        "locations also need a Lake Formation grant for direct S3 data calls (stricter than AWS)",
    )
    parser.add_argument(
        "--warm-up",
        choices=["lazy", "platform"],
        default="lazy",
        help="lazy (default): import a service on its first request, as moto does; platform: "
        "also import every service of the platform in the background, one at a time whenever "
        "no request has been served for 0.2 s (what `nexuskit up` uses)",
    )
    parser.add_argument("--extensions", default="", help="comma-separated subset (default: all)")
    parser.add_argument(
        "--moto-api",
        action="store_true",
        help="serve moto's /moto-api (reset, recorder, dashboard) to admin-signed requests",
    )
    parser.add_argument(
        "--allowed-hosts",
        default=os.environ.get(ALLOWED_HOSTS_ENV, ""),
        help=f"more Host names to answer (comma-separated; default: ${ALLOWED_HOSTS_ENV})",
    )
    args = parser.parse_args(argv)
    if args.host not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("the engine binds loopback only (127.0.0.1)")
    extensions = tuple(name for name in args.extensions.split(",") if name)
    return EngineSettings(
        host=args.host,
        port=args.port,
        state_dir=args.state_dir,
        persist=not args.no_persist and args.state_dir is not None,
        snapshot_interval=args.snapshot_interval,
        disk_reserve_mb=max(0, args.disk_reserve_mb),
        warm_up=args.warm_up,
        firehose_buffering=args.firehose_buffering,
        kinesis_limits=args.kinesis_limits,
        iam=args.iam,
        lake_formation=args.lake_formation,
        admin_access_key=os.environ.get("NEXUSKIT_ADMIN_ACCESS_KEY", "test"),
        admin_secret_key=os.environ.get("NEXUSKIT_ADMIN_SECRET_KEY", "test"),
        extensions=extensions,
        moto_api=args.moto_api,
        allowed_hosts=HostPolicy.parse(args.allowed_hosts),
        # read only when the extension that uses them runs (a bad value fails or warns there)
        glue_timeout_scale=_glue_timeout_scale() if not extensions or "glue" in extensions else 1.0,
        clock_skew_seconds=_clock_skew() if args.iam != "off" else 0.0,
        memory_budget_mb=max(1, args.memory_budget),
        kinesis_retention_scale=_kinesis_retention_scale(),
    )


def _glue_timeout_scale() -> float:
    return float(os.environ.get(GLUE_TIMEOUT_SCALE_ENV, "1") or 1)


def _kinesis_retention_scale() -> float:
    raw = os.environ.get(KINESIS_RETENTION_SCALE_ENV, "1") or "1"
    try:
        scale = float(raw)
    except ValueError:
        scale = 0.0
    if scale > 0:
        return scale
    log.warning("%s=%r is not a positive number; ignoring it", KINESIS_RETENTION_SCALE_ENV, raw)
    return 1.0


def _clock_skew() -> float:
    raw_skew = os.environ.get(CLOCK_SKEW_ENV, "0") or "0"
    try:
        return float(raw_skew)
    except ValueError:
        log.warning("%s=%r is not a number of seconds; ignoring it", CLOCK_SKEW_ENV, raw_skew)
        return 0.0


#: the modules :class:`EngineServer` imports (moto's core among them)
ENGINE_SERVER_IMPORTS = (
    "werkzeug.serving",
    "emulation.core.app",
    "emulation.core.http",
    "emulation.extensions",
)


class EngineServer:
    """Owns the HTTP server thread, the snapshot loop and the extensions."""

    def __init__(self, settings: EngineSettings, listener: socket.socket | None = None) -> None:
        from werkzeug.serving import make_server

        from emulation.core.app import EngineApp
        from emulation.core.http import EngineRequestHandler
        from emulation.extensions import load_extensions

        self.settings = settings
        # Bind first: a busy port must fail before any state is touched (main binds before
        # it imports the engine's modules). The engine binds the socket itself: werkzeug
        # answers a busy port with its own message and exit code 1, where `nexuskit up`
        # needs the OSError (EXIT_PORT_IN_USE, see main).
        if listener is None:
            listener = listen(settings)
        try:
            self.app = EngineApp(settings, load_extensions(settings))
            self.http: Any = make_server(
                settings.host,
                settings.port,
                self.app,
                threaded=True,
                request_handler=EngineRequestHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # the server holds its own duplicate of the socket
        self.http.daemon_threads = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.settings.state_dir is not None:
            (self.settings.state_dir / STOP_RECORD).unlink(missing_ok=True)
        self.app.admin.write_token()
        self.app.restore()
        self.app.start_extensions()
        self._thread = threading.Thread(target=self.http.serve_forever, name="engine-http", daemon=True)
        self._thread.start()
        # After the server is up: the warm-up gives way to requests, never the other way.
        if self.settings.warm_up == "platform":
            self.app.warm_up()
        log.info("engine ready on %s (state: %s)", self.settings.endpoint, self.settings.state_dir)

    def request_stop(self, *_args: Any) -> None:
        self._stop.set()

    def run_until_stopped(self) -> None:
        """The snapshot loop; returns after a stop was requested."""
        interval = max(0.05, self.settings.snapshot_interval)
        while not self._stop.wait(interval):
            dirty = self.app.take_dirty()
            if not dirty:
                continue
            started = time.perf_counter()
            try:
                self.app.snapshot(dirty)
            except Exception:  # keep serving; the next snapshot retries
                log.exception("snapshot failed")
                self.app.mark_dirty(*dirty)
            spent = time.perf_counter() - started
            # Back off so snapshots never take more than a fifth of the time.
            interval = max(self.settings.snapshot_interval, spent * 4)

    def shutdown(self) -> None:
        self.app.stopping = True  # before the listener closes: kept-alive connections too
        self.http.shutdown()
        if self._thread is not None:
            self._thread.join(10)
        self.app.stop_extensions()
        final = "written" if self.settings.persist and self.settings.state_dir else "not persisting"
        try:
            self.app.snapshot(None)
        except Exception as exc:
            log.exception("final snapshot failed")
            final = f"failed: {exc}"
        self.http.server_close()
        self.app.close()
        self.app.admin.remove_token()
        self._write_stop_record(final)
        log.info("engine stopped (final snapshot: %s)", final)

    def _write_stop_record(self, final: str) -> None:
        """``<state_dir>/engine-stopped.json``: how the last stop ended (``nexuskit down`` reads it).

        Written last; it is absent after a crash or a SIGKILL, and removed at every start.
        """
        if self.settings.state_dir is None:
            return
        store = self.app.store
        record = {
            "pid": os.getpid(),
            "final_snapshot": final,
            "generation": store.generation if store is not None else None,
            "stopped_at": time.time(),
        }
        try:
            (self.settings.state_dir / STOP_RECORD).write_text(json.dumps(record) + "\n", encoding="utf-8")
        except OSError as exc:
            log.error("could not write %s: %s", STOP_RECORD, exc)


#: connections the kernel holds for the engine until it accepts them (werkzeug's default)
LISTEN_BACKLOG = 128


def listen(settings: EngineSettings) -> socket.socket:
    """The engine's listening socket, bound to its host and port.

    :func:`main` makes it before it imports the engine's modules: from then on a client's
    connection is held by the kernel until the engine accepts it, so a client that calls
    while the engine starts is answered the moment the engine can answer (rather than
    refused, to retry after a pause of its own).
    """
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((settings.host, settings.port))
        listener.listen(LISTEN_BACKLOG)
    except BaseException:
        listener.close()
        raise
    return listener


def prepare_process() -> None:
    """What every engine process does before it builds its server, whatever its options:
    moto's switches in the environment (read as moto is imported), the start-up speed-ups,
    and the modules :class:`EngineServer` imports. Idempotent: :func:`main` calls it, and a
    process that forks engines (the test suite's) calls it once before forking them.
    """
    # The platform runs no EC2 instances: skip loading moto's catalogue of default AMIs.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    # No blanket CORS from moto's apps (the engine answers S3's per-bucket CORS itself),
    # and never moto's own file recorder (the engine installs a redacting one).
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    os.environ.pop("MOTO_ENABLE_RECORDING", None)
    from emulation.core import compilecache
    from emulation.core.moto_compat import speedups

    compilecache.install()

    speedups.install()
    for module in ENGINE_SERVER_IMPORTS:
        importlib.import_module(module)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("NEXUSKIT_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    settings = parse_args(argv)
    try:
        listener = listen(settings)
    except OSError as exc:
        if exc.errno in {errno.EADDRINUSE, errno.EACCES}:
            sys.stderr.write(f"port {settings.port} on {settings.host} is already in use\n")
            return EXIT_PORT_IN_USE
        raise
    usual_threshold = gc.get_threshold()
    gc.set_threshold(*START_GC_THRESHOLD)
    os.umask(0o077)  # state, journals, logs and the token are the owner's alone
    # Importing the engine's modules makes objects that live as long as the process and
    # next to no garbage: the collector would walk them ~15 times for nothing (~10 ms of
    # the start on the reference machine). They are moved out of its sight (frozen) once
    # the server is built, and it runs again before any state is restored.
    gc.disable()
    try:
        prepare_process()
        if settings.state_dir is not None:
            settings.state_dir.mkdir(parents=True, exist_ok=True)
            settings.state_dir.chmod(0o700)
        server = EngineServer(settings, listener)
    finally:
        gc.freeze()
        gc.enable()
    signal.signal(signal.SIGTERM, server.request_stop)
    signal.signal(signal.SIGINT, server.request_stop)
    server.start()
    server.app.settle_collector(usual_threshold)
    server.run_until_stopped()
    server.shutdown()
    from emulation.core import compilecache

    compilecache.save()  # what serving compiled, for the next start
    return 0


if __name__ == "__main__":
    sys.exit(main())

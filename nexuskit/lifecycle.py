"""The local stack as a whole: ``up``, ``down``, ``status`` and ``env``.

These are the functions the CLI and the TUI call; each returns plain data.
"""

from __future__ import annotations

import logging
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.edge.auth import local_auth_url
from nexuskit.engine import EmbeddedEngine
from nexuskit.errors import EngineError

log = logging.getLogger(__name__)

#: seconds ``down`` waits for the engine's final snapshot before killing it
DOWN_TIMEOUT = 120.0


@dataclass
class UpReport:
    """What ``up`` did: whether the engine was already up, timings, every resource."""

    endpoint: str
    region: str
    already_up: bool
    engine_seconds: float
    provision_seconds: float
    total_seconds: float
    control_plane_seconds: float = 0.0
    #: wall-clock time (epoch seconds) when every AWS resource was provisioned
    aws_ready_at: float = 0.0
    resources: list[dict[str, str]] = field(default_factory=list)
    endpoints: dict[str, Any] = field(default_factory=dict)

    @property
    def created(self) -> int:
        return sum(1 for r in self.resources if r["state"] in {"created", "updated"})

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            "already_up": self.already_up,
            "created": self.created,
            "timings": {
                "engine_s": round(self.engine_seconds, 3),
                "provision_s": round(self.provision_seconds, 3),
                "control_plane_s": round(self.control_plane_seconds, 3),
                "total_s": round(self.total_seconds, 3),
                "aws_ready_at": round(self.aws_ready_at, 3),
            },
            "resources": self.resources,
            "endpoints": self.endpoints,
        }


def endpoints(settings: KitSettings, target: AwsTarget | None = None) -> dict[str, Any]:
    """The service endpoints of the stack (filled in as the control plane lands); ``target``
    is a client target of its engine when the caller has one (``up``: no new session)."""
    if target is None:
        auth = local_auth_url(settings)
    else:
        from nexuskit.edge.auth import auth_url

        auth = auth_url(settings.stack(), target)
    doc: dict[str, Any] = {
        "aws": settings.endpoint,
        "auth_url": auth,
        "agent_core": None,
        "mcp": {"aws": None, "custom": None, "database": None, "k8s": None},
        "ui": None,
    }
    # the control plane: agent_core, mcp.*, ui from the runtime's Service ports
    from nexuskit.controlplane.lifecycle import service_endpoints

    doc.update(service_endpoints(settings))
    return doc


def _import_catalog() -> None:
    try:
        import nexuskit.lake.catalog  # noqa: F401
    except Exception:  # the grants step imports it again and reports what fails
        log.debug("importing the lake's catalog failed", exc_info=True)


#: services `up` calls besides the provisioner's (Lake Formation grants, the edge)
_EDGE_AND_LAKE_SERVICES = ("sts", "glue", "lambda", "apigatewayv2")


def up(settings: KitSettings, on_line: Callable[[str], None] | None = None) -> UpReport:
    """Start the engine (if not up) and provision every resource of the stack.

    ``settings.provisioner`` chooses who creates the AWS resources: the embedded
    provisioner (default), or terraform applying ``stacks/platform`` to the engine
    (:func:`nexuskit.terraform.local.provision_with_terraform`; terraform's messages go
    to ``on_line``). Two ``up`` of one state dir at once take turns (the second finds
    what the first made), instead of creating the same resources side by side.
    """
    with EmbeddedEngine(settings).turn("up"):
        return _up(settings, on_line)


def _up(settings: KitSettings, on_line: Callable[[str], None] | None) -> UpReport:
    if settings.provisioner == "terraform":
        return _up_with_terraform(settings, on_line)
    started = time.perf_counter()
    spec = settings.stack()  # a bad parameter file fails before anything starts
    engine = EmbeddedEngine(settings)
    already_up = engine.is_running()
    targets: list[AwsTarget] = []

    def prepare() -> None:
        # The engine boots in its own process meanwhile: import the provisioner and make
        # the boto3 clients now (together about half a second of this process's time).
        # The lake's catalog (it imports pyarrow, 0.15 s) is imported after the clients, in
        # the background: the Glue tables need it only at the end of provisioning, whose
        # last step it would otherwise lengthen, and the engine may be up before it is.
        import nexuskit.edge.deploy
        import nexuskit.lake.glue
        import nexuskit.lake.grants  # noqa: F401
        from nexuskit.provision.provisioner import PROVISION_SERVICES

        target = engine.target(spec.region)
        for service in (*PROVISION_SERVICES, *_EDGE_AND_LAKE_SERVICES):
            target.client(service)
        targets.append(target)
        threading.Thread(target=_import_catalog, name="import-lake-catalog", daemon=True).start()

    engine.start(while_starting=prepare)
    engine_done = time.perf_counter()
    target = targets[0]
    from nexuskit.edge.auth import deploy_edge
    from nexuskit.lake.grants import apply_grants
    from nexuskit.provision.provisioner import provision_steps

    # Lake Formation grants and the edge run as soon as what they use is made, side by side
    # with the rest of the stack: the grants need the roles, Lake Formation's admins and the
    # Glue jobs' role; the edge the Lambda role, the streams and the Firehose streams.
    resources, extra = provision_steps(
        spec,
        target,
        extra={
            "grants": (
                lambda: apply_grants(spec, target, job_role=False),  # the job_role step made it
                ("identity", "lake_formation", "job_role"),
            ),
            "edge": (lambda: deploy_edge(spec, target), ("identity", "streams", "firehoses")),
        },
    )
    resources += extra["grants"]
    edge = extra["edge"]
    provisioned = time.perf_counter()
    aws_ready_at = time.time()
    # the control plane: render the manifests, run them, wait until ready
    if settings.control_plane:
        from nexuskit.controlplane.lifecycle import start

        start(settings, spec, target, runtime=settings.k8s)
    resource_list = [r.as_dict() for r in resources] + edge
    return _report(
        settings,
        engine,
        spec.region,
        already_up,
        (started, engine_done, provisioned),
        aws_ready_at,
        resource_list,
        target,
    )


def _up_with_terraform(settings: KitSettings, on_line: Callable[[str], None] | None) -> UpReport:
    """``up --provisioner terraform``: the engine, terraform apply of stacks/platform, the control plane."""
    from nexuskit.promote.pipeline import find_root
    from nexuskit.terraform.local import LocalTerraform, provision_with_terraform, start_control_plane

    started = time.perf_counter()
    spec = settings.stack()
    engine = EmbeddedEngine(settings)
    already_up = engine.is_running()
    root = find_root()
    local_tf = LocalTerraform(settings, root)  # refuses AWS parameter sets before anything starts

    def prepare() -> None:
        # While the engine boots: the Lambda package and the copy of terraform/.
        local_tf.build_package()
        local_tf.workspace.prepare()

    engine.start(while_starting=prepare)
    engine_done = time.perf_counter()
    target = engine.target(spec.region)
    resources = provision_with_terraform(settings, root, target, on_line, local_tf)
    provisioned = time.perf_counter()
    aws_ready_at = time.time()
    if settings.control_plane:
        start_control_plane(settings, spec, target)
    return _report(
        settings,
        engine,
        spec.region,
        already_up,
        (started, engine_done, provisioned),
        aws_ready_at,
        resources,
        target,
    )


def _report(
    settings: KitSettings,
    engine: EmbeddedEngine,
    region: str,
    already_up: bool,
    marks: tuple[float, float, float],
    aws_ready_at: float,
    resources: list[dict[str, Any]],
    target: AwsTarget,
) -> UpReport:
    """What ``up`` did; ``marks`` are the perf-counter times it started, had the engine and had
    provisioned (the control plane took the rest, until now)."""
    started, engine_done, provisioned = marks
    done = time.perf_counter()
    return UpReport(
        endpoint=engine.endpoint,
        region=region,
        already_up=already_up,
        engine_seconds=engine_done - started,
        provision_seconds=provisioned - engine_done,
        control_plane_seconds=done - provisioned,
        total_seconds=done - started,
        aws_ready_at=aws_ready_at,
        resources=resources,
        endpoints=endpoints(settings, target),
    )


def down(
    settings: KitSettings,
    purge: bool = False,
    timeout: float = DOWN_TIMEOUT,
    waiting: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Stop the control plane, then the engine, waiting up to ``timeout`` s for its final
    snapshot (``waiting(seconds)`` about every 2 s meanwhile); with ``purge`` also wipe the
    stack's persisted state. The result says whether the state was kept (see
    :meth:`EmbeddedEngine.stop_report`)."""
    engine = EmbeddedEngine(settings)
    # the control plane: stop the runtime and its pods before the engine
    from nexuskit.controlplane.lifecycle import stop

    stop(settings)
    report = engine.stop_report(timeout, waiting)
    if purge:
        engine.purge()
    return {**report.as_dict(), "purged": purge, "state_dir": str(engine.state_dir)}


def status(settings: KitSettings) -> dict[str, Any]:
    """Engine health and every resource with its state (the ``status --json`` contract)."""
    from nexuskit.edge.auth import inventory_edge
    from nexuskit.provision.provisioner import inventory

    spec = settings.stack()
    engine = EmbeddedEngine(settings)
    health = engine.health() if engine.pid() is not None else None
    target = engine.target(spec.region) if health else None
    doc: dict[str, Any] = {
        "engine": {
            "type": "embedded",
            "endpoint": engine.endpoint,
            "region": spec.region,
            "state": "running" if health else "stopped",
            "pid": health.get("pid") if health else None,
            "uptime_s": health.get("uptime_s") if health else None,
            "state_dir": str(engine.state_dir),
            "settings": health.get("settings") if health else None,
            "persistence": health.get("persistence") if health else None,
            "iam": _iam_figures(health),
        },
        "resources": [],
        "endpoints": endpoints(settings, target),
    }
    if target is not None:
        doc["resources"] = [r.as_dict() for r in inventory(spec, target)] + inventory_edge(spec, target)
    return doc


def _iam_figures(health: dict[str, Any] | None) -> dict[str, Any] | None:
    if not health:
        return None
    figures = health.get("extensions", {}).get("iam")
    mode = health.get("settings", {}).get("iam")
    return {"mode": mode, **(figures or {})}


def env_exports(settings: KitSettings) -> list[str]:
    """``export`` lines that point awscli, boto3 and tflocal at the engine (and kubectl at the runtime)."""
    spec = settings.stack()
    engine = EmbeddedEngine(settings)
    if engine.pid() is None:
        raise EngineError(
            f"no engine is running for {engine.state_dir}", "start it with `nexuskit up --local`"
        )
    target = engine.target(spec.region)
    variables = target.env()
    variables["AWS_ENDPOINT_URL_S3"] = engine.endpoint
    kubeconfig = settings.resolved_state_dir() / "kubeconfig"
    if kubeconfig.exists():  # the control plane's Kubernetes API (kubectl, k9s, the official client)
        variables["KUBECONFIG"] = str(kubeconfig)
    return [f"export {key}={shlex.quote(value)}" for key, value in variables.items()]

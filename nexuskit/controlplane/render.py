"""Render the services' Kubernetes manifest templates with the stack's names.

One source: each service keeps its manifests as templates in
``services/<service>/k8s/templates/*.yaml`` with ``${name}`` placeholders, and the
values come from :class:`~nexuskit.params.StackSpec` (itself read from
``terraform/envs/<env>/terraform.tfvars.json``) and from the IAM ARNs of
:mod:`nexuskit.provision.policies`. Rendering writes plain Kubernetes YAML to
``<out>/<service>/k8s/<name>.yaml`` -- exactly the layout the Terraform workloads stack
reads with ``fileset(services_dir, "**/k8s/*.yaml")`` -- so the local runtime, the kind
runtime and Terraform (``-var services_dir=<out>``) apply the same bytes:

    nexuskit manifests --env prod --out build/manifests
    terraform -chdir=terraform/stacks/workloads apply -var-file=../../envs/prod/terraform.tfvars.json \\
        -var services_dir=$PWD/build/manifests

The templates sit one folder below ``k8s/`` so Terraform never applies an unrendered
template by mistake. A placeholder that is not in :func:`manifest_values` is an error
naming the file and the placeholder. Kubernetes' own ``$(VAR)`` references are left alone.
"""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

from nexuskit.aws import DEFAULT_ACCOUNT_ID
from nexuskit.errors import ConfigError
from nexuskit.params import StackSpec, repo_root
from nexuskit.provision.policies import StackArns, oidc_issuer_host

TEMPLATE_GLOB = "**/k8s/templates/*.yaml"
SOURCE_MARK = "# nexuskit.dev/source:"
RENDERED_MARKER = ".nexuskit-manifests"
_PLACEHOLDER_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def image_tag() -> str:
    try:
        return metadata.version("nexuskit")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def manifest_values(
    spec: StackSpec,
    account_id: str | None = None,
    api_invoke_url: str = "",
    tag: str | None = None,
    oidc_issuer: str | None = None,
) -> dict[str, str]:
    """Every value a template may use, by placeholder name.

    ``oidc_issuer`` is the cluster's service-account issuer, which the services check
    ServiceAccount tokens against (``NEXUS_AUTH_ISSUER``): on EKS the cluster's OIDC
    issuer URL (Terraform's ``cluster.oidc_issuer`` output); by default the stack's
    derived issuer, the one the local runtime signs with.
    """
    account = account_id or (spec.params.allowed_account_ids or [DEFAULT_ACCOUNT_ID])[0]
    arns = StackArns(spec, account)
    models = spec.params.bedrock_model_ids
    values = {
        "project": spec.params.project,
        "environment": spec.params.environment,
        "prefix": spec.prefix,
        "region": spec.region,
        "account_id": account,
        "partition": arns.partition,
        "primary_stream": spec.primary_stream,
        "client_stream": spec.client_stream,
        "primary_firehose": spec.primary_firehose,
        "client_firehose": spec.client_firehose,
        "telemetry_video_stream": spec.telemetry_video_stream,
        "client_telemetry_video_stream": spec.client_telemetry_video_stream,
        "client_firehose_prefix": spec.params.client_firehose_prefix,
        "bedrock_reasoning_model": models.reasoning,
        "bedrock_text_model": models.text,
        "bedrock_embedding_model": models.embedding,
        "agent_irsa_role_arn": arns.role("agent_irsa"),
        "aws_mcp_irsa_role_arn": arns.role("aws_mcp_irsa"),
        "ui_irsa_role_arn": arns.role("ui_irsa"),
        "http_api": spec.http_api,
        "http_api_stage": spec.http_api_stage,
        "api_invoke_url": api_invoke_url,
        "cluster_name": spec.cluster_name,
        "oidc_issuer": (oidc_issuer or f"https://{oidc_issuer_host(spec)}").rstrip("/"),
        "image_tag": tag or image_tag(),
    }
    for tier, bucket in spec.buckets.items():
        values[f"{tier}_bucket"] = bucket
    return values


def template_files(services_dir: Path | None = None) -> list[Path]:
    root = services_dir or repo_root() / "services"
    return sorted(root.glob(TEMPLATE_GLOB))


def render_text(text: str, values: dict[str, str], where: Path) -> str:
    unknown = sorted({m.group(1) for m in _PLACEHOLDER_RE.finditer(text)} - set(values))
    if unknown:
        raise ConfigError(
            f"{where}: unknown placeholder ${{{unknown[0]}}}",
            "known placeholders: " + ", ".join(sorted(values)),
        )
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], text)


def render_manifests(
    spec: StackSpec,
    out_dir: Path,
    *,
    services_dir: Path | None = None,
    values: dict[str, str] | None = None,
) -> list[Path]:
    """Render every template into ``out_dir`` (replacing what a previous render wrote)."""
    root = (services_dir or repo_root() / "services").resolve()
    templates = template_files(root)
    if not templates:
        raise ConfigError(f"no manifest templates ({TEMPLATE_GLOB}) under {root}")
    values = values if values is not None else manifest_values(spec)
    out_dir = out_dir.resolve()
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / RENDERED_MARKER).exists():
        raise ConfigError(
            f"{out_dir} exists and was not written by nexuskit; refusing to replace its files",
            "choose an empty or new folder",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RENDERED_MARKER).write_text(
        "Rendered Kubernetes manifests; see nexuskit/controlplane/render.py\n"
    )
    for stale in out_dir.glob("**/k8s/*.yaml"):
        stale.unlink()
    written = []
    for template in templates:
        relative = template.relative_to(root)
        target = out_dir / relative.parent.parent / template.name
        try:
            shown = template.relative_to(repo_root())
        except ValueError:
            shown = template
        header = (
            f"{SOURCE_MARK} {shown}\n"
            f"# Rendered by nexuskit for {spec.prefix}; edit the template, not this file.\n"
        )
        text = header + render_text(template.read_text(encoding="utf-8"), values, template)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        written.append(target)
    return written

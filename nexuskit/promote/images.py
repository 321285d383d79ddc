"""Build the service images (``services/**/Dockerfile``) and push them to ECR.

Each Dockerfile's folder names the image: ``services/agent_core`` -> ``nexus/agent-core``,
``services/mcp/aws_mcp`` -> ``nexus/aws-mcp`` (the names the Kubernetes manifests use).
Images are tagged with the commit, so a pushed tag is never rebuilt (repositories are
created with immutable tags and scan on push when missing). The result maps each image
name to its ECR reference, which is the ``image_overrides`` of the workloads stack.
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from nexuskit.errors import PromotionError, ToolMissingError
from nexuskit.promote.awsapi import AwsAccess
from nexuskit.promote.commands import CommandRunner

IMAGE_NAMESPACE = "nexus"
PLATFORM = "linux/amd64"  # the EKS node groups run x86 instances (m6i)


@dataclass(frozen=True)
class ServiceImage:
    """One service image: its repository name and where it is built from."""

    name: str  # nexus/agent-core
    dockerfile: Path
    context: Path


def discover_images(root: Path) -> list[ServiceImage]:
    """Every ``services/**/Dockerfile`` as an image named after its folder."""
    images = []
    for dockerfile in sorted((root / "services").glob("**/Dockerfile")):
        rel = dockerfile.relative_to(root)
        if any(part.startswith(".") or part == "node_modules" for part in rel.parts):
            continue
        folder = dockerfile.parent.name.replace("_", "-").lower()
        images.append(ServiceImage(f"{IMAGE_NAMESPACE}/{folder}", rel, rel.parent))
    names = [i.name for i in images]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PromotionError(f"two Dockerfiles map to the same image name: {', '.join(duplicates)}")
    return images


def build_commands(image: ServiceImage, reference: str) -> list[list[str]]:
    return [
        [
            "docker",
            "build",
            "--platform",
            PLATFORM,
            "--tag",
            reference,
            "--file",
            str(image.dockerfile),
            str(image.context),
        ],
        ["docker", "push", reference],
    ]


def login_command(registry: str) -> list[str]:
    return ["docker", "login", "--username", "AWS", "--password-stdin", registry]


def require_docker(runner: CommandRunner) -> None:
    """One-line ToolMissingError when docker is absent or no engine answers."""
    if shutil.which("docker", path=runner.env.get("PATH")) is None:
        raise ToolMissingError(
            "docker is not installed (not on PATH): the image step builds services/**/Dockerfile "
            "and pushes them to ECR"
        )
    info = runner.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=30)
    if info.returncode != 0:
        raise ToolMissingError(f"no Docker engine answers (`docker info`: {info.error_line()})")


def _ensure_repository(ecr: Any, name: str) -> bool:
    """Create the repository when missing; True when it was created."""
    try:
        ecr.describe_repositories(repositoryNames=[name])
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "RepositoryNotFoundException":
            raise
    ecr.create_repository(
        repositoryName=name,
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "AES256"},
    )
    return True


def _tag_exists(ecr: Any, name: str, tag: str) -> bool:
    try:
        found = ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {
            "ImageNotFoundException",
            "RepositoryNotFoundException",
        }:
            return False
        raise
    return bool(found.get("imageDetails"))


def push_images(runner: CommandRunner, aws: AwsAccess, root: Path, tag: str) -> dict[str, Any]:
    """Build and push every service image; returns ``{"image_overrides": {...}, ...}``."""
    images = discover_images(root)
    if not images:
        return {"image_overrides": {}, "built": [], "reused": [], "created_repositories": []}
    require_docker(runner)
    ecr = aws.client("ecr")
    try:
        token = ecr.get_authorization_token()["authorizationData"][0]
        registry = token["proxyEndpoint"].removeprefix("https://").removeprefix("http://")
        password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)[1]
        created = [image.name for image in images if _ensure_repository(ecr, image.name)]
        reused = [image.name for image in images if _tag_exists(ecr, image.name, tag)]
    except (BotoCoreError, ClientError) as exc:
        raise PromotionError(f"ECR: {exc}") from None
    login = runner.run(login_command(registry), input_text=password, secret_input=True, timeout=120)
    if login.returncode != 0:
        raise PromotionError(f"docker login to {registry} failed: {login.error_line()}")
    overrides = {}
    built = []
    for image in images:
        reference = f"{registry}/{image.name}:{tag}"
        overrides[image.name] = reference
        if image.name in reused:
            continue
        for argv in build_commands(image, reference):
            result = runner.run(argv)
            if result.returncode != 0:
                raise PromotionError(f"`{argv[0]} {argv[1]}` of {image.name} failed: {result.error_line()}")
        built.append(image.name)
    return {
        "image_overrides": overrides,
        "built": built,
        "reused": reused,
        "created_repositories": created,
    }

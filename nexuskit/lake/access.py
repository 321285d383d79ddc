"""The lake access layer: every read and write of a tier checks the caller's grants first.

:class:`Lake` is the lake of one stack as one identity (the caller is resolved with STS
``GetCallerIdentity``; an assumed-role session counts as its role). Its :attr:`Lake.store`
is an :class:`~services.medallion.lib.store.ObjectStore` - what the medallion jobs use
in-process, and what the query, listing and inspection functions use - that raises
:class:`~nexuskit.lake.errors.LakeAccessDenied` before calling S3 when Lake Formation
does not grant the caller the tier (or the dataset) for that call: listing and getting
need *read*, putting and copying need *write*, deleting needs *delete*.

Buckets that are not tiers of the stack pass through unchecked.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.errors import EngineError
from nexuskit.lake.errors import LakeAccessDenied, LakeError, LakeNotFoundError
from nexuskit.lake.grants import DELETE, READ, WRITE, LakeGrants, load_grants, principal_arns
from nexuskit.params import TIERS, StackSpec
from nexuskit.provision.policies import IRSA_SERVICE_ACCOUNTS, oidc_issuer_host
from nexuskit.provision.storage import iam_principal
from services.medallion.lib import layout
from services.medallion.lib.datasets import LakeConfig
from services.medallion.lib.store import Download, ObjectVersion, S3Store

log = logging.getLogger(__name__)

_DENIED = {"AccessDenied", "AccessDeniedException", "Forbidden", "403"}
_MISSING = {"NoSuchKey", "NoSuchBucket", "NoSuchVersion", "404", "NotFound"}


class Lake:
    """The lake of one stack, seen by one identity."""

    def __init__(
        self,
        spec: StackSpec,
        target: AwsTarget,
        cache_dir: Path | None = None,
        state_dir: Path | None = None,
        grants_target: AwsTarget | None = None,
        config: LakeConfig | None = None,
    ) -> None:
        self.spec = spec
        self.target = target
        #: who reads Lake Formation's grants (the caller itself unless given - an admin
        #: identity evaluating another principal's access, as ``assume`` does)
        self.grants_target = grants_target
        self.cache_dir = cache_dir or Path(tempfile.gettempdir()) / "nexuskit-lake-cache"
        self.state_dir = state_dir
        self._identity: dict[str, str] | None = None
        self._grants: LakeGrants | None = None
        self._config = config
        self.store = LakeAccess(self)

    @property
    def config(self) -> LakeConfig:
        """The dataset files (``lake/``, see :mod:`nexuskit.lake.config`), loaded once."""
        if self._config is None:
            from nexuskit.lake.config import load_lake_config

            self._config = load_lake_config()
        return self._config

    def client(self, service: str) -> Any:
        return self.target.client(service)  # made once per target

    def _whoami(self) -> dict[str, str]:
        if self._identity is None:
            with aws_errors("sts:GetCallerIdentity"):
                answer = self.client("sts").get_caller_identity()
            self._identity = {"arn": str(answer["Arn"]), "account": str(answer["Account"])}
        return self._identity

    @property
    def caller_arn(self) -> str:
        return self._whoami()["arn"]

    @property
    def principal(self) -> str:
        """The caller as Lake Formation names it (a role for assumed-role sessions)."""
        return iam_principal(self.caller_arn)

    @property
    def account_id(self) -> str:
        return self._whoami()["account"]

    @property
    def grants(self) -> LakeGrants:
        if self._grants is None:
            with aws_errors(
                "Lake Formation's grants (lakeformation:GetDataLakeSettings, ListResources, ListPermissions)",
                self.principal,
            ):
                self._grants = load_grants(self.spec, self.grants_target or self.target)
        return self._grants

    def refresh(self) -> None:
        """Forget cached grants (after grants changed)."""
        self._grants = None

    # -- tiers ---------------------------------------------------------------------------
    def bucket(self, tier: str) -> str:
        if tier not in TIERS:
            raise LakeNotFoundError(f"unknown tier {tier!r}", f"use one of {', '.join(TIERS)}")
        return self.spec.bucket(tier)

    def tier_of(self, bucket: str) -> str | None:
        for tier, name in self.spec.buckets.items():
            if name == bucket:
                return tier
        return None

    def can(self, tier: str, mode: str, dataset: str | None = None) -> bool:
        return self.grants.allows(self.principal, tier, mode, dataset)

    def require(self, tier: str, mode: str, dataset: str | None = None) -> None:
        """Raise :class:`LakeAccessDenied` unless the caller may ``mode`` the tier/dataset."""
        if not self.can(tier, mode, dataset):
            what = f"{tier}.{dataset}" if dataset else f"the {tier} tier"
            raise LakeAccessDenied(self.principal, mode, what)

    def assume(self, role_key: str, session: str = "nexuskit-lake") -> Lake:
        """The same lake as one of the stack's roles (``agent_irsa``, ``medallion_glue``...).

        ``sts:AssumeRole`` first; an IRSA role whose trust admits only its Kubernetes service
        account (the engine enforcing IAM) is assumed as that service account, with a
        projected token from the local control plane's issuer and ``AssumeRoleWithWebIdentity``.
        """
        roles = principal_arns(self.spec, self.account_id)
        if role_key not in roles:
            raise LakeNotFoundError(f"unknown role {role_key!r}", f"use one of {', '.join(sorted(roles))}")
        try:
            creds = self.client("sts").assume_role(RoleArn=roles[role_key], RoleSessionName=session)[
                "Credentials"
            ]
            target = self.target.with_credentials(
                creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
            )
        except ClientError as exc:
            if role_key not in IRSA_SERVICE_ACCOUNTS or self.target.endpoint_url is None:
                with aws_errors(f"assume {roles[role_key]}", self.principal):
                    raise
            target = self._as_service_account(role_key, roles[role_key], session, exc)
        return Lake(
            self.spec, target, self.cache_dir, self.state_dir, self.grants_target or self.target, self._config
        )

    def _as_service_account(
        self, role_key: str, role_arn: str, session: str, refused: Exception
    ) -> AwsTarget:
        from emulation.runtime import StsError, TokenIssuer, assume_role_with_web_identity, signing_key_file

        namespace, account = IRSA_SERVICE_ACCOUNTS[role_key]
        key_file = signing_key_file(self.state_dir or self.cache_dir)
        issuer = TokenIssuer(f"https://{oidc_issuer_host(self.spec)}", key_file)
        token, _expiry = issuer.token(namespace, account, session, "nexuskit-lake")
        assert self.target.endpoint_url is not None
        try:
            creds = assume_role_with_web_identity(self.target.endpoint_url, role_arn, token, session)
        except StsError as exc:
            raise LakeAccessDenied(
                f"{namespace}/{account}",
                "assume",
                role_arn,
                f"AssumeRole: {refused}; web identity: {exc}",
                reason="STS refused it",
            ) from exc
        return self.target.with_credentials(creds.access_key_id, creds.secret_access_key, creds.session_token)


def open_lake(settings: KitSettings, as_role: str | None = None) -> Lake:
    """The lake of the running local stack, as its admin identity or as a stack role."""
    from nexuskit.engine import EmbeddedEngine

    spec = settings.stack()
    engine = EmbeddedEngine(settings)
    if engine.health() is None:
        raise EngineError(
            f"no engine answers at {engine.endpoint}", "start the stack with `nexuskit up --local`"
        )
    state = settings.resolved_state_dir()
    lake = Lake(spec, engine.target(spec.region), cache_dir=state / "cache" / "lake", state_dir=state)
    return lake.assume(as_role) if as_role else lake


@contextmanager
def aws_errors(what: str, principal: str = "the caller") -> Iterator[None]:
    """botocore failures of non-S3 calls (STS) as lake errors."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in _DENIED:
            raise LakeAccessDenied(
                principal, "read", what, str(error.get("Message", code)), reason="IAM refused the call"
            ) from exc
        raise LakeError(f"{what}: {code}: {error.get('Message', exc)}") from exc
    except BotoCoreError as exc:
        raise EngineError(
            f"no answer from the AWS endpoint ({exc})",
            "start the engine with `nexuskit up --local`, or check AWS_ENDPOINT_URL",
        ) from exc


@contextmanager
def s3_errors(bucket: str, key: str, principal: str = "the caller", action: str = "access") -> Iterator[None]:
    """botocore failures as lake errors (denials, missing objects, an unreachable engine)."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in _DENIED:
            raise LakeAccessDenied(
                principal,
                action,
                f"s3://{bucket}/{key}",
                str(error.get("Message", code)),
                reason="the engine refused the call (IAM or Lake Formation)",
            ) from exc
        if code in _MISSING:
            raise LakeNotFoundError(
                f"s3://{bucket}/{key}: {code}", "check the key with `nexuskit lake ls`"
            ) from exc
        raise LakeError(f"s3://{bucket}/{key}: {code}: {error.get('Message', exc)}") from exc
    except BotoCoreError as exc:
        raise EngineError(
            f"no answer from the AWS endpoint ({exc})",
            "start the engine with `nexuskit up --local`, or check AWS_ENDPOINT_URL",
        ) from exc


class LakeAccess:
    """An ObjectStore over S3 that checks Lake Formation grants before each call."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self._s3: S3Store | None = None

    @property
    def s3(self) -> S3Store:
        if self._s3 is None:
            self._s3 = S3Store(self.lake.client("s3"))
        return self._s3

    def _check(self, bucket: str, key: str, mode: str) -> None:
        tier = self.lake.tier_of(bucket)
        if tier is not None:
            self.lake.require(tier, mode, layout.dataset_of_key(key))

    @contextmanager
    def _call(self, bucket: str, key: str, mode: str) -> Iterator[None]:
        self._check(bucket, key, mode)
        with s3_errors(bucket, key, self.lake.principal, mode):
            yield

    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectVersion]:
        with self._call(bucket, prefix, READ):
            found = list(self.s3.list_objects(bucket, prefix))
        yield from found

    def list_keys(self, bucket: str, prefix: str = "", start_after: str = "") -> Iterator[ObjectVersion]:
        with self._call(bucket, prefix, READ):
            found = list(self.s3.list_keys(bucket, prefix, start_after))
        yield from found

    def list_folders(self, bucket: str, prefix: str = "") -> tuple[list[str], list[ObjectVersion]]:
        with self._call(bucket, prefix, READ):
            return self.s3.list_folders(bucket, prefix)

    def list_versions(self, bucket: str, prefix: str) -> Iterator[ObjectVersion]:
        with self._call(bucket, prefix, READ):
            found = list(self.s3.list_versions(bucket, prefix))
        yield from found

    def get(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        with self._call(bucket, key, READ):
            return self.s3.get(bucket, key, version_id)

    def open(self, bucket: str, key: str, version_id: str | None = None) -> Download:
        with self._call(bucket, key, READ):
            return self.s3.open(bucket, key, version_id)

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        with self._call(bucket, key, WRITE):
            return self.s3.put(bucket, key, body, content_type)

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        self._check(bucket, source_key, READ)
        with self._call(bucket, key, WRITE):
            return self.s3.copy(bucket, source_key, key)

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        doomed = list(keys)
        for key in doomed:
            self._check(bucket, key, DELETE)
        with s3_errors(bucket, doomed[0] if doomed else "", self.lake.principal, DELETE):
            self.s3.delete(bucket, doomed)

    def delete_exact(self, bucket: str, versions: Iterable[tuple[str, str]]) -> None:
        doomed = list(versions)
        for key, _version in doomed:
            self._check(bucket, key, DELETE)
        with s3_errors(bucket, doomed[0][0] if doomed else "", self.lake.principal, DELETE):
            self.s3.delete_exact(bucket, doomed)

    def delete_versions(self, bucket: str, prefix: str) -> int:
        self._check(bucket, prefix, READ)
        with self._call(bucket, prefix, DELETE):
            return self.s3.delete_versions(bucket, prefix)

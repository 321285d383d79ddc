"""What a request asks to do, in IAM terms: (action, resource ARN) pairs to authorize.

Mapped precisely (the resource is the real ARN, as AWS evaluates it):

* Kinesis Data Streams (``kinesis``): stream ARN from ``StreamARN``/``StreamName`` (or the
  stream inside a ``ShardIterator``), consumer ARN for consumer operations, ``*`` for
  ``ListStreams``/``DescribeLimits``.
* Kinesis Video (``kinesisvideo``): control plane (``/describeStream``...) and the data
  plane (``/putMedia`` with ``x-amzn-stream-name``/``-arn`` headers, ``/getMedia``,
  archived media); the stream ARN (which carries a creation suffix) is looked up.
* Firehose: delivery stream ARN from ``DeliveryStreamName``.
* S3: path-style and virtual-host requests (moto's own rule for telling them apart);
  bucket ARN for bucket operations, object ARN for object operations, the copy source
  for copies, each key of a multi-object delete; ``s3:prefix``/``s3:delimiter``/
  ``s3:max-keys`` and ``s3:x-amz-*`` header condition keys.
* STS (role ARN for AssumeRole*), IAM (user/role/group/policy ARNs from the parameters),
  Lambda function ARNs, Bedrock model ARNs and CloudWatch Logs group/stream ARNs.

For the precisely mapped services a request whose resource cannot be read (an
unparseable body, a pagination token only) fails closed: its resource is ``*``, which
only a ``"Resource": "*"`` grant covers.

Everything else: the action is ``<service>:<Operation>`` (the operation from
``X-Amz-Target``, the Query ``Action``, or the botocore service model for REST APIs)
and the resource is *unresolved* (see :class:`emulation.iam.policies.Resource`).
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from typing import Protocol as TypingProtocol
from urllib.parse import parse_qsl, unquote

from emulation.core import moto_compat
from emulation.core.request import AwsRequest
from emulation.iam.exceptions import Protocol
from emulation.iam.policies import Resource

ANY = "*"

#: signing name -> IAM service prefix, where they differ
_IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}
#: signing name -> botocore service models whose operations it signs
_REST_MODELS = {
    "kinesisvideo": (
        "kinesisvideo",
        "kinesis-video-media",
        "kinesis-video-archived-media",
        "kinesis-video-signaling",
    ),
    "bedrock": ("bedrock-runtime", "bedrock", "bedrock-agent-runtime", "bedrock-agent"),
    "apigateway": ("apigatewayv2", "apigateway"),
    "es": ("opensearch", "es"),
    "elasticfilesystem": ("efs",),
}
#: (service, operation) -> IAM action name, where the API and IAM names differ
_ACTION_NAMES = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeAsync"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
    ("bedrock", "Converse"): "InvokeModel",
    ("bedrock", "ConverseStream"): "InvokeModelWithResponseStream",
}
#: anonymous operations AWS serves without a signature
UNSIGNED_OPERATIONS = {
    ("sts", "AssumeRoleWithWebIdentity"),
    ("sts", "AssumeRoleWithSAML"),
    ("cognito-identity", "GetId"),
    ("cognito-identity", "GetCredentialsForIdentity"),
    ("cognito-identity", "GetOpenIdToken"),
    ("cognito-idp", "InitiateAuth"),
    ("cognito-idp", "RespondToAuthChallenge"),
    ("cognito-idp", "SignUp"),
    ("cognito-idp", "ConfirmSignUp"),
    ("cognito-idp", "ForgotPassword"),
    ("cognito-idp", "ConfirmForgotPassword"),
    ("cognito-idp", "ResendConfirmationCode"),
    ("cognito-idp", "GetUser"),
    ("cognito-idp", "GlobalSignOut"),
    ("cognito-idp", "RevokeToken"),
    ("cognito-idp", "ChangePassword"),
}
_UNSIGNED_TARGET_PREFIXES = {
    "AWSCognitoIdentityService.": "cognito-identity",
    "AWSCognitoIdentityProviderService.": "cognito-idp",
}


@dataclass(frozen=True)
class Check:
    """One permission a request needs."""

    action: str
    resource: Resource


@dataclass
class RequestTarget:
    """Everything authorization needs to know about one request."""

    service: str
    operation: str
    protocol: Protocol
    checks: list[Check]
    context: dict[str, list[str]] = field(default_factory=dict)
    #: the S3 bucket addressed (its bucket policy takes part in the decision)
    bucket: str | None = None
    #: request parameters (Query/JSON), for STS/IAM handling
    params: dict[str, str] = field(default_factory=dict)

    @property
    def primary(self) -> Check:
        return self.checks[0]


class ResourceLookups(TypingProtocol):
    """Reads of moto state that turn names into real ARNs (None when not found)."""

    def kinesisvideo_stream_arn(self, region: str, account: str, name: str) -> str | None: ...

    def kinesis_consumer_arn(self, region: str, account: str, stream_arn: str, name: str) -> str | None: ...

    def iam_arn(self, account: str, kind: str, name: str) -> str | None: ...

    def secret_arn(self, region: str, account: str, secret_id: str) -> str | None: ...


# -- protocol and operation ----------------------------------------------------------------
def form_params(request: AwsRequest) -> dict[str, str]:
    """Query API parameters from the query string and a form-encoded body."""
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    if request.body and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def protocol_of(request: AwsRequest, service: str | None) -> Protocol:
    if service == "s3":
        return Protocol.S3
    if request.target:
        return Protocol.JSON
    if service in {"sts", "iam"}:
        return Protocol.QUERY
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded") or "Action=" in request.query_string:
        return Protocol.QUERY
    if service is None:
        return Protocol.S3  # unsigned path-style requests are S3's, as moto routes them
    return Protocol.REST_JSON


def unsigned_service(request: AwsRequest) -> str | None:
    """The service an unsigned request may legitimately address (None: treat as S3)."""
    if request.target:
        for prefix, service in _UNSIGNED_TARGET_PREFIXES.items():
            if request.target.startswith(prefix):
                return service
        return "unknown"
    if protocol_of(request, None) is Protocol.QUERY:
        return "sts" if form_params(request).get("Action", "").startswith("AssumeRoleWith") else "unknown"
    return None


def is_execute_api(request: AwsRequest) -> bool:
    """An HTTP API / REST API invocation (public data plane; authorized by the API)."""
    host = request.headers.get("host", "")
    return (
        ".execute-api." in host
        or request.path.startswith("/_aws/execute-api/")
        or (request.path.startswith("/restapis/") and "/_user_request_/" in request.path)
    )


def _json_body(request: AwsRequest) -> dict[str, Any]:
    body = request.json()
    return body if isinstance(body, dict) else {}


class _RestRoutes:
    """Operation names of REST APIs, from botocore's service models (loaded lazily)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, list[tuple[str, re.Pattern[str], int, str]]] = {}

    def _load(self, signing_name: str) -> list[tuple[str, re.Pattern[str], int, str]]:
        from botocore.exceptions import DataNotFoundError, UnknownServiceError

        from emulation.core.moto_compat.speedups import service_model

        routes: list[tuple[str, re.Pattern[str], int, str]] = []
        for model_name in _REST_MODELS.get(signing_name, (signing_name,)):
            try:
                model = service_model(model_name)
            except (UnknownServiceError, DataNotFoundError):
                continue
            for name in model.operation_names:
                http = model.operation_model(name).http
                uri = str(http.get("requestUri", "/")).split("?", 1)[0]
                literal = len(re.sub(r"\{[^}]+\}", "", uri))
                regex = re.sub(
                    r"\\\{[^}]+?\\\+\\\}|\\\{[^}]+?\\\}",
                    lambda m: ".+" if m.group(0).endswith("\\+\\}") else "[^/]+",
                    re.escape(uri.rstrip("/") or "/"),
                )
                routes.append((str(http.get("method", "GET")), re.compile(regex + "/?"), literal, name))
        routes.sort(key=lambda route: -route[2])
        return routes

    def routes(self, signing_name: str) -> list[tuple[str, re.Pattern[str], int, str]]:
        routes = self._routes.get(signing_name)
        if routes is None:
            with self._lock:
                routes = self._routes.get(signing_name)
                if routes is None:
                    routes = self._load(signing_name)
                    self._routes[signing_name] = routes
        return routes

    def operation(self, signing_name: str, method: str, path: str) -> str | None:
        routes = self.routes(signing_name)
        for route_method, regex, _, name in routes:
            if route_method == method and regex.fullmatch(path):
                return name
        return None


_rest_routes = _RestRoutes()

#: REST services the platform calls (``up`` provisions through all of them)
WARM_REST_SERVICES = ("apigateway", "lambda", "eks", "kinesisvideo", "lakeformation", "s3")


def warm_rest_routes(signing_names: tuple[str, ...] = WARM_REST_SERVICES) -> None:
    """Build the REST operation tables now (botocore's models take ~0.2 s to load)."""
    for name in signing_names:
        _rest_routes.routes(name)


def iam_action(service: str, operation: str) -> str:
    return f"{service}:{_ACTION_NAMES.get((service, operation), operation)}"


# -- the mappers ---------------------------------------------------------------------------
@dataclass
class _Ctx:
    request: AwsRequest
    region: str
    account: str
    lookups: ResourceLookups


def _resolved(arn: str, service: str) -> Resource:
    return Resource(arn, service, True)


def _unresolved(service: str) -> Resource:
    return Resource(f"arn:aws:{service}:*", service, False)


def _kinesis_stream_from_iterator(iterator: str) -> str | None:
    try:
        decoded = base64.b64decode(iterator.encode(), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    name = decoded.split(":", 1)[0]
    return name or None


_KINESIS_UNSCOPED = {"ListStreams", "DescribeLimits", "DescribeAccountSettings", "UpdateAccountSettings"}


def _kinesis(ctx: _Ctx, op: str) -> list[Check]:
    body = _json_body(ctx.request)
    action = iam_action("kinesis", op)
    if op in _KINESIS_UNSCOPED:
        return [Check(action, _resolved(ANY, "kinesis"))]
    base = f"arn:aws:kinesis:{ctx.region}:{ctx.account}"
    consumer_arn = body.get("ConsumerARN")
    if isinstance(consumer_arn, str):
        return [Check(action, _resolved(consumer_arn, "kinesis"))]
    stream_arn = body.get("StreamARN")
    if not isinstance(stream_arn, str):
        name = body.get("StreamName")
        if not isinstance(name, str) and isinstance(body.get("ShardIterator"), str):
            name = _kinesis_stream_from_iterator(body["ShardIterator"])
        stream_arn = f"{base}:stream/{name}" if isinstance(name, str) else None
    resource_arn = body.get("ResourceARN")
    if stream_arn is None and isinstance(resource_arn, str):
        stream_arn = resource_arn
    if stream_arn is None:
        return [Check(action, _resolved(ANY, "kinesis"))]  # fail closed: only "*" grants it
    consumer_name = body.get("ConsumerName")
    if op in {"DescribeStreamConsumer", "DeregisterStreamConsumer"} and isinstance(consumer_name, str):
        arn = ctx.lookups.kinesis_consumer_arn(ctx.region, ctx.account, stream_arn, consumer_name)
        return [Check(action, _resolved(arn or f"{stream_arn}/consumer/{consumer_name}:*", "kinesis"))]
    return [Check(action, _resolved(stream_arn, "kinesis"))]


def _firehose(ctx: _Ctx, op: str) -> list[Check]:
    body = _json_body(ctx.request)
    action = iam_action("firehose", op)
    name = body.get("DeliveryStreamName")
    arn = body.get("DeliveryStreamARN") or body.get("ResourceARN")
    if isinstance(name, str):
        arn = f"arn:aws:firehose:{ctx.region}:{ctx.account}:deliverystream/{name}"
    if isinstance(arn, str):
        return [Check(action, _resolved(arn, "firehose"))]
    if op == "ListDeliveryStreams":
        return [Check(action, _resolved(ANY, "firehose"))]
    return [Check(action, _resolved(ANY, "firehose"))]  # fail closed


_KVS_UNSCOPED = {"ListStreams", "ListSignalingChannels", "ListEdgeAgentConfigurations"}


def _kinesisvideo(ctx: _Ctx) -> tuple[str, list[Check]]:
    segment = ctx.request.path.strip("/").split("/")[-1] or "Unknown"
    op = segment[0].upper() + segment[1:]
    action = iam_action("kinesisvideo", op)
    if op in _KVS_UNSCOPED:
        return op, [Check(action, _resolved(ANY, "kinesisvideo"))]
    body = _json_body(ctx.request)
    headers = ctx.request.headers
    arn = body.get("StreamARN") or body.get("ChannelARN") or body.get("ResourceARN")
    arn = arn or headers.get("x-amzn-stream-arn")
    name = body.get("StreamName") or headers.get("x-amzn-stream-name")
    if not isinstance(arn, str) and isinstance(name, str):
        arn = ctx.lookups.kinesisvideo_stream_arn(ctx.region, ctx.account, name)
        arn = arn or f"arn:aws:kinesisvideo:{ctx.region}:{ctx.account}:stream/{name}/*"
    channel = body.get("ChannelName")
    if not isinstance(arn, str) and isinstance(channel, str):
        arn = f"arn:aws:kinesisvideo:{ctx.region}:{ctx.account}:channel/{channel}/*"
    if isinstance(arn, str):
        return op, [Check(action, _resolved(arn, "kinesisvideo"))]
    return op, [Check(action, _resolved(ANY, "kinesisvideo"))]  # fail closed


def _sts(ctx: _Ctx, op: str, params: dict[str, str]) -> list[Check]:
    action = iam_action("sts", op)
    if op.startswith("AssumeRole") and params.get("RoleArn"):
        role = _resolved(params["RoleArn"], "sts")
        checks = [Check(action, role)]
        if any(name.startswith(("Tags.member.", "TransitiveTagKeys.member.")) for name in params):
            checks.append(Check("sts:TagSession", role))
        if params.get("SourceIdentity"):
            checks.append(Check("sts:SetSourceIdentity", role))
        return checks
    if op == "GetFederationToken" and params.get("Name"):
        arn = f"arn:aws:sts::{ctx.account}:federated-user/{params['Name']}"
        return [Check(action, _resolved(arn, "sts"))]
    return [Check(action, _resolved(ANY, "sts"))]


_IAM_NAME_PARAMS = (
    ("UserName", "user"),
    ("RoleName", "role"),
    ("GroupName", "group"),
    ("InstanceProfileName", "instance-profile"),
)
_IAM_ARN_PARAMS = ("PolicyArn", "OpenIDConnectProviderArn", "SAMLProviderArn", "SerialNumber")


def _iam(ctx: _Ctx, op: str, params: dict[str, str]) -> list[Check]:
    action = iam_action("iam", op)
    for param, kind in _IAM_NAME_PARAMS:
        name = params.get(param)
        if name:
            arn = ctx.lookups.iam_arn(ctx.account, kind, name)
            return [Check(action, _resolved(arn or f"arn:aws:iam::{ctx.account}:{kind}/{name}", "iam"))]
    for param in _IAM_ARN_PARAMS:
        if params.get(param, "").startswith("arn:"):
            return [Check(action, _resolved(params[param], "iam"))]
    return [Check(action, _unresolved("iam"))]


_LAMBDA_FUNCTION = re.compile(r"^/[^/]+/functions/([^/]+)")
_BEDROCK_MODEL = re.compile(
    r"^/model/(.+)/(?:invoke|invoke-with-response-stream|converse|converse-stream|count-tokens)$"
)


def _rest_resource(ctx: _Ctx, service: str) -> Resource:
    path = ctx.request.path
    if service == "lambda":
        match = _LAMBDA_FUNCTION.match(path)
        if match:
            name = unquote(match.group(1))
            if name.startswith("arn:"):
                return _resolved(name, service)
            qualifier = dict(parse_qsl(ctx.request.query_string)).get("Qualifier")
            arn = f"arn:aws:lambda:{ctx.region}:{ctx.account}:function:{name}"
            return _resolved(f"{arn}:{qualifier}" if qualifier else arn, service)
    if service == "bedrock":
        match = _BEDROCK_MODEL.match(path)
        if match:
            model = unquote(match.group(1))
            if model.startswith("arn:"):
                return _resolved(model, service)
            return _resolved(f"arn:aws:bedrock:{ctx.region}::foundation-model/{model}", service)
    return _unresolved(service)


def _logs(ctx: _Ctx, op: str) -> list[Check]:
    body = _json_body(ctx.request)
    group = body.get("logGroupName")
    stream = body.get("logStreamName")
    base = f"arn:aws:logs:{ctx.region}:{ctx.account}"
    if isinstance(group, str) and isinstance(stream, str):
        resource = _resolved(f"{base}:log-group:{group}:log-stream:{stream}", "logs")
    elif isinstance(group, str):
        resource = _resolved(f"{base}:log-group:{group}", "logs")
    else:
        resource = _unresolved("logs")
    return [Check(iam_action("logs", op), resource)]


def _secretsmanager(ctx: _Ctx, op: str) -> list[Check]:
    body = _json_body(ctx.request)
    action = iam_action("secretsmanager", op)
    secret_id = body.get("SecretId") or body.get("Name")
    if op in {"ListSecrets", "GetRandomPassword", "BatchGetSecretValue"} or not isinstance(secret_id, str):
        return [Check(action, _resolved(ANY, "secretsmanager"))]
    if secret_id.startswith("arn:"):
        return [Check(action, _resolved(secret_id, "secretsmanager"))]
    arn = ctx.lookups.secret_arn(ctx.region, ctx.account, secret_id)
    # A secret's ARN ends in six random characters; an unknown name matches "-??????".
    arn = arn or f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:{secret_id}-??????"
    return [Check(action, _resolved(arn, "secretsmanager"))]


# -- S3 ------------------------------------------------------------------------------------
_BUCKET_SUBRESOURCES: dict[str, tuple[str | None, str | None, str | None]] = {
    "acl": ("GetBucketAcl", "PutBucketAcl", None),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "policyStatus": ("GetBucketPolicyStatus", None, None),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    "notification": ("GetBucketNotification", "PutBucketNotification", None),
    "cors": ("GetBucketCORS", "PutBucketCORS", "PutBucketCORS"),
    "website": ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
    "logging": ("GetBucketLogging", "PutBucketLogging", None),
    "replication": (
        "GetReplicationConfiguration",
        "PutReplicationConfiguration",
        "PutReplicationConfiguration",
    ),
    "object-lock": ("GetBucketObjectLockConfiguration", "PutBucketObjectLockConfiguration", None),
    "publicAccessBlock": (
        "GetBucketPublicAccessBlock",
        "PutBucketPublicAccessBlock",
        "PutBucketPublicAccessBlock",
    ),
    "ownershipControls": (
        "GetBucketOwnershipControls",
        "PutBucketOwnershipControls",
        "PutBucketOwnershipControls",
    ),
    "requestPayment": ("GetBucketRequestPayment", "PutBucketRequestPayment", None),
    "accelerate": ("GetAccelerateConfiguration", "PutAccelerateConfiguration", None),
    "analytics": ("GetAnalyticsConfiguration", "PutAnalyticsConfiguration", "PutAnalyticsConfiguration"),
    "inventory": ("GetInventoryConfiguration", "PutInventoryConfiguration", "PutInventoryConfiguration"),
    "metrics": ("GetMetricsConfiguration", "PutMetricsConfiguration", "PutMetricsConfiguration"),
    "intelligent-tiering": (
        "GetIntelligentTieringConfiguration",
        "PutIntelligentTieringConfiguration",
        "PutIntelligentTieringConfiguration",
    ),
    "location": ("GetBucketLocation", None, None),
    "versions": ("ListBucketVersions", None, None),
    "uploads": ("ListBucketMultipartUploads", None, None),
}
_OBJECT_SUBRESOURCES: dict[str, tuple[str | None, str | None, str | None]] = {
    "acl": ("GetObjectAcl", "PutObjectAcl", None),
    "tagging": ("GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging"),
    "retention": ("GetObjectRetention", "PutObjectRetention", None),
    "legal-hold": ("GetObjectLegalHold", "PutObjectLegalHold", None),
    "attributes": ("GetObjectAttributes", None, None),
    "torrent": ("GetObjectTorrent", None, None),
}
_VERSIONED = {
    "GetObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
    "GetObjectAcl": "GetObjectVersionAcl",
    "PutObjectAcl": "PutObjectVersionAcl",
    "GetObjectTagging": "GetObjectVersionTagging",
    "PutObjectTagging": "PutObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging",
    "GetObjectAttributes": "GetObjectVersionAttributes",
}
_METHOD_INDEX = {"GET": 0, "HEAD": 0, "PUT": 1, "DELETE": 2}
_DELETE_KEY = re.compile(r"<Object>\s*<Key>(.*?)</Key>(?:\s*<VersionId>(.*?)</VersionId>)?", re.S)


def s3_bucket_and_key(request: AwsRequest) -> tuple[str | None, str | None]:
    """(bucket, key) as moto will read them (virtual-host or path-style)."""
    bucket, key, _ = s3_addressing(request)
    return bucket, key


def s3_addressing(request: AwsRequest) -> tuple[str | None, str | None, bool]:
    """(bucket, key, virtual-host?) with moto's own rule for telling the styles apart
    (worked out once per request: IAM, S3's extension and its fast path all ask)."""
    host = request.headers.get("host", "")
    path = request.path
    known = request.derived.get("s3_addressing")
    if known is not None and known[0] == (host, path):
        return known[1]  # type: ignore[no-any-return]
    addressing = _s3_addressing(host, path)
    request.derived["s3_addressing"] = ((host, path), addressing)
    return addressing


def _s3_addressing(host: str, path: str) -> tuple[str | None, str | None, bool]:
    from moto.s3.utils import bucket_name_from_url

    if host and moto_compat.is_virtual_host(host, path):
        virtual_bucket = bucket_name_from_url(f"http://{host}{path}")
        if virtual_bucket:
            return str(virtual_bucket), (path[1:] if path.startswith("/") else path) or None, True
    parts = path.lstrip("/").split("/", 1)
    bucket = parts[0] or None
    key = parts[1] if len(parts) > 1 and parts[1] else None
    return bucket, key, False


def _s3_context(request: AwsRequest, query: dict[str, str]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    for name in ("prefix", "delimiter", "max-keys"):
        if name in query:
            context[f"s3:{name}"] = [query[name]]
    if "versionId" in query:
        context["s3:versionid"] = [query["versionId"]]
    for header, value in request.headers.items():
        if header.startswith("x-amz-") and header not in {
            "x-amz-date",
            "x-amz-content-sha256",
            "x-amz-security-token",
        }:
            context[f"s3:{header}"] = [value]
    presigned = "X-Amz-Signature" in query
    context["s3:authtype"] = ["REST-QUERY-STRING" if presigned else "REST-HEADER"]
    context["s3:signatureversion"] = ["AWS4-HMAC-SHA256"]
    return context


def _s3(ctx: _Ctx) -> tuple[str, list[Check], dict[str, list[str]], str | None]:
    request = ctx.request
    method = request.method
    query = {k: v for k, v in parse_qsl(request.query_string, keep_blank_values=True)}
    bucket, key = s3_bucket_and_key(request)
    context = _s3_context(request, query)
    op: str | None = None
    if bucket is None:
        op = "ListAllMyBuckets" if method in {"GET", "HEAD"} else "Unknown"
        return op, [Check(f"s3:{op}", _resolved(ANY, "s3"))], context, None
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if key is None:
        if method == "POST" and "delete" in query:
            checks = []
            for object_key, version in _DELETE_KEY.findall(request.body.decode("utf-8", "replace")):
                delete_op = "DeleteObjectVersion" if version else "DeleteObject"
                checks.append(
                    Check(f"s3:{delete_op}", _resolved(f"{bucket_arn}/{_xml_unescape(object_key)}", "s3"))
                )
            if not checks:
                checks = [Check("s3:DeleteObject", _resolved(f"{bucket_arn}/*", "s3"))]
            return "DeleteObjects", checks, context, bucket
        index = _METHOD_INDEX.get(method)
        if index is not None:
            for name, ops in _BUCKET_SUBRESOURCES.items():
                if name in query:
                    op = ops[index]
                    break
            else:
                op = ("ListBucket", "CreateBucket", "DeleteBucket")[index]
        op = op or "Unknown"
        return op, [Check(f"s3:{op}", _resolved(bucket_arn, "s3"))], context, bucket
    object_arn = f"{bucket_arn}/{key}"
    versioned = "versionId" in query
    if method == "POST":
        if "restore" in query:
            op = "RestoreObject"
        elif "select" in query:
            op = "GetObject"
        else:
            op = "PutObject"  # CreateMultipartUpload / CompleteMultipartUpload / form upload
    elif "uploadId" in query and method in {"GET", "DELETE"}:
        op = "ListMultipartUploadParts" if method == "GET" else "AbortMultipartUpload"
    else:
        index = _METHOD_INDEX.get(method)
        if index is not None:
            for name, ops in _OBJECT_SUBRESOURCES.items():
                if name in query:
                    op = ops[index]
                    break
            else:
                op = ("GetObject", "PutObject", "DeleteObject")[index]
    op = op or "Unknown"
    if versioned:
        op = _VERSIONED.get(op, op)
    checks = [Check(f"s3:{op}", _resolved(object_arn, "s3"))]
    copy_source = request.headers.get("x-amz-copy-source")
    if method == "PUT" and copy_source:
        source = unquote(copy_source.split("?", 1)[0]).lstrip("/")
        source_op = "GetObjectVersion" if "versionId=" in copy_source else "GetObject"
        checks.append(Check(f"s3:{source_op}", _resolved(f"arn:aws:s3:::{source}", "s3")))
    return op, checks, context, bucket


def _xml_unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )


# -- entry point ---------------------------------------------------------------------------
_JsonMapper = Callable[[_Ctx, str], list[Check]]
_JSON_MAPPERS: dict[str, _JsonMapper] = {
    "kinesis": _kinesis,
    "firehose": _firehose,
    "logs": _logs,
    "secretsmanager": _secretsmanager,
}
_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([^/]+)$")


def describe(
    request: AwsRequest,
    signing_service: str | None,
    region: str,
    account: str,
    lookups: ResourceLookups,
) -> RequestTarget:
    """Map a request to the IAM permissions it needs (``signing_service`` None: unsigned)."""
    ctx = _Ctx(request, region, account, lookups)
    protocol = protocol_of(request, signing_service)
    if protocol is Protocol.S3:
        op, checks, context, bucket = _s3(ctx)
        return RequestTarget("s3", op, protocol, checks, context, bucket)
    service = signing_service or unsigned_service(request) or "unknown"
    prefix = _IAM_PREFIX.get(service, service)
    if protocol is Protocol.JSON:
        op = (request.target or "").rsplit(".", 1)[-1]
        mapper = _JSON_MAPPERS.get(prefix)
        if mapper is not None:
            return RequestTarget(prefix, op, protocol, mapper(ctx, op))
        return RequestTarget(prefix, op, protocol, [Check(iam_action(prefix, op), _unresolved(prefix))])
    if protocol is Protocol.QUERY:
        params = form_params(request)
        op = params.get("Action", "Unknown")
        if prefix == "sts":
            checks = _sts(ctx, op, params)
        elif prefix == "iam":
            checks = _iam(ctx, op, params)
        else:
            checks = [Check(iam_action(prefix, op), _unresolved(prefix))]
        return RequestTarget(prefix, op, protocol, checks, params=params)
    if prefix == "kinesisvideo":
        op, checks = _kinesisvideo(ctx)
        return RequestTarget(prefix, op, protocol, checks)
    rpc = _RPC_V2_PATH.match(request.path)
    rest_op = (rpc.group(1) if rpc else None) or _rest_routes.operation(service, request.method, request.path)
    rest_op = rest_op or "Unknown"
    return RequestTarget(
        prefix, rest_op, protocol, [Check(iam_action(prefix, rest_op), _rest_resource(ctx, prefix))]
    )

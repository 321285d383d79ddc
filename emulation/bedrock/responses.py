"""Bedrock's HTTP surface: which requests are runtime calls, and how answers are sent.

Runtime routes (REST-JSON, signed for service ``bedrock``)::

    POST /model/{modelId}/invoke                       InvokeModel
    POST /model/{modelId}/invoke-with-response-stream  InvokeModelWithResponseStream
    POST /model/{modelId}/converse                     Converse
    POST /model/{modelId}/converse-stream              ConverseStream

plus the control plane's ``GET /foundation-models[/{id}]`` (moto lacks both). The
model id is read from the raw request URI, so ARNs with an encoded ``/`` survive.
:func:`match_runtime_call` is public: IAM enforcement maps these calls to
``bedrock:InvokeModel`` / ``bedrock:InvokeModelWithResponseStream`` on the model ARN.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.wrappers import Response

from emulation.bedrock import catalog, eventstream
from emulation.bedrock.cassettes import Answer
from emulation.bedrock.exceptions import ResourceNotFoundException
from emulation.core.exceptions import error_response
from emulation.core.request import AwsRequest

_RUNTIME_ROUTE = re.compile(
    r"^/model/([^/]+)/(invoke|invoke-with-response-stream|converse|converse-stream)/?$"
)
_OPERATIONS = {
    "invoke": "InvokeModel",
    "invoke-with-response-stream": "InvokeModelWithResponseStream",
    "converse": "Converse",
    "converse-stream": "ConverseStream",
}
#: the IAM action each runtime operation is authorised as
IAM_ACTIONS = {
    "InvokeModel": "bedrock:InvokeModel",
    "InvokeModelWithResponseStream": "bedrock:InvokeModelWithResponseStream",
    "Converse": "bedrock:InvokeModel",
    "ConverseStream": "bedrock:InvokeModelWithResponseStream",
}
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class RuntimeCall:
    """A recognised Bedrock runtime request."""

    operation: str
    model_id: str
    region: str

    @property
    def iam_action(self) -> str:
        return IAM_ACTIONS[self.operation]

    @property
    def resource_arn(self) -> str:
        return catalog.model_arn(self.model_id, self.region)


def _raw_path(request: AwsRequest) -> str:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return urlsplit(str(raw)).path
    return request.path


def match_runtime_call(request: AwsRequest) -> RuntimeCall | None:
    """The runtime operation, model id and region of a request, or None."""
    if request.method != "POST" or request.signing_service not in {None, "bedrock"}:
        return None
    if not request.path.startswith("/model/"):
        return None
    match = _RUNTIME_ROUTE.match(_raw_path(request)) or _RUNTIME_ROUTE.match(request.path)
    if match is None:
        return None
    return RuntimeCall(
        operation=_OPERATIONS[match.group(2)],
        model_id=unquote(match.group(1)),
        region=request.region or DEFAULT_REGION,
    )


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    headers.update(extra or {})
    return headers


def answer_response(call: RuntimeCall, answer: Answer, latency_ms: int) -> Response:
    """The HTTP response for an answer, in the operation's wire form."""
    if answer.error is not None:
        code, message = answer.error
        headers = _headers({"x-amzn-ErrorType": code})
        return Response(
            json.dumps({"message": message}),
            status=answer.status,
            headers=headers,
            mimetype="application/json",
        )
    token_headers = {
        "X-Amzn-Bedrock-Input-Token-Count": str(answer.input_tokens),
        "X-Amzn-Bedrock-Output-Token-Count": str(answer.output_tokens),
        "X-Amzn-Bedrock-Invocation-Latency": str(latency_ms),
    }
    if call.operation == "InvokeModel":
        return Response(
            json.dumps(answer.body), headers=_headers(token_headers), content_type="application/json"
        )
    if call.operation == "Converse":
        return Response(json.dumps(answer.body), headers=_headers(), content_type="application/json")
    if call.operation == "InvokeModelWithResponseStream":
        frames = [eventstream.encode_chunk(payload) for _, payload in answer.events or []]
        headers = _headers({"X-Amzn-Bedrock-Content-Type": "application/json", **token_headers})
    else:
        frames = [eventstream.encode_event(kind, payload) for kind, payload in answer.events or []]
        headers = _headers()
    return Response(b"".join(frames), headers=headers, content_type="application/vnd.amazon.eventstream")


# -- control plane: the model catalogue -------------------------------------------------------
def _model_summary(spec: catalog.ModelSpec, region: str) -> dict[str, Any]:
    output = "EMBEDDING" if spec.family == "titan-embed" else "TEXT"
    return {
        "modelArn": spec.arn(region),
        "modelId": spec.model_id,
        "modelName": spec.name,
        "providerName": spec.provider,
        "inputModalities": ["TEXT"],
        "outputModalities": [output],
        "responseStreamingSupported": spec.streaming,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": {"status": "ACTIVE"},
    }


def catalog_response(request: AwsRequest) -> Response | None:
    """ListFoundationModels / GetFoundationModel, or None for any other request."""
    if request.method != "GET" or request.signing_service not in {None, "bedrock"}:
        return None
    region = request.region or DEFAULT_REGION
    path = _raw_path(request)
    if path.rstrip("/") == "/foundation-models":
        query = request.query
        specs = list(catalog.MODELS.values())
        if "byProvider" in query:
            wanted = query["byProvider"][0].lower()
            specs = [spec for spec in specs if spec.provider.lower() == wanted]
        if "byOutputModality" in query:
            modality = query["byOutputModality"][0].upper()
            specs = [s for s in specs if (s.family == "titan-embed") == (modality == "EMBEDDING")]
        summaries = [_model_summary(spec, region) for spec in specs]
        return Response(json.dumps({"modelSummaries": summaries}), content_type="application/json")
    if path.startswith("/foundation-models/"):
        identifier = unquote(path[len("/foundation-models/") :])
        spec = catalog.resolve(identifier)
        if spec is None:
            return error_response(ResourceNotFoundException(f"The model {identifier} does not exist."))
        return Response(
            json.dumps({"modelDetails": _model_summary(spec, region)}), content_type="application/json"
        )
    return None

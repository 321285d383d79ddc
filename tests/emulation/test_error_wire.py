"""Every extension's JSON errors keep their service's wire shape (header names and order,
``__type``, ``message`` or ``Message``, compact or not) now that one base class,
:class:`emulation.core.exceptions.AwsJsonError`, and one :func:`error_response` render them."""

from __future__ import annotations

import re

import pytest

from emulation.apigatewayv2 import exceptions as apigatewayv2
from emulation.awslambda import exceptions as awslambda
from emulation.bedrock import exceptions as bedrock
from emulation.core.exceptions import AwsJsonError, error_response
from emulation.firehose import exceptions as firehose
from emulation.glue import exceptions as glue
from emulation.kinesis import exceptions as kinesis
from emulation.kinesisvideo import exceptions as kinesisvideo
from emulation.lakeformation import exceptions as lakeformation

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
JSON = "application/json"
JSON11 = "application/x-amz-json-1.1"
ERROR_TYPE = "x-amzn-ErrorType"
REQUEST_ID = "x-amzn-RequestId"
CONTENT_TYPE = "Content-Type"

CASES = [
    (
        glue.EntityNotFoundException("no job é"),
        400,
        [(ERROR_TYPE, "EntityNotFoundException"), (CONTENT_TYPE, JSON11)],
        '{"__type": "EntityNotFoundException", "message": "no job \\u00e9"}',
    ),
    (
        kinesisvideo.ResourceNotFoundException("gone"),
        404,
        [(CONTENT_TYPE, JSON), (REQUEST_ID, None), (ERROR_TYPE, "ResourceNotFoundException")],
        '{"Message": "gone"}',
    ),
    (
        bedrock.ValidationException.malformed(["x", "y"]),
        400,
        [(REQUEST_ID, None), (ERROR_TYPE, "ValidationException"), (CONTENT_TYPE, JSON)],
        '{"message": "Malformed input request: 2 schema violations found, please reformat your input and '
        'try again.", "violations": ["x", "y"]}',
    ),
    (
        bedrock.ThrottlingException("slow"),
        429,
        [(REQUEST_ID, None), (ERROR_TYPE, "ThrottlingException"), (CONTENT_TYPE, JSON)],
        '{"message": "slow"}',
    ),
    (
        kinesis.InternalFailureException("int"),
        500,
        [(CONTENT_TYPE, JSON11), (REQUEST_ID, None), (ERROR_TYPE, "InternalFailureException")],
        '{"__type":"InternalFailureException","message":"int"}',
    ),
    (
        awslambda.ResourceNotFoundException("nf"),
        404,
        [(ERROR_TYPE, "ResourceNotFoundException"), (CONTENT_TYPE, JSON)],
        '{"Type": "User", "message": "nf"}',
    ),
    (
        awslambda.LambdaError("base"),
        500,
        [(ERROR_TYPE, "ServiceException"), (CONTENT_TYPE, JSON)],
        '{"Type": "Service", "message": "base"}',
    ),
    (
        apigatewayv2.NotFoundException("nf"),
        404,
        [(ERROR_TYPE, "NotFoundException"), (CONTENT_TYPE, JSON)],
        '{"message": "nf"}',
    ),
    (
        apigatewayv2.ApiGatewayV2Error("base"),
        400,
        [(ERROR_TYPE, "BadRequestException"), (CONTENT_TYPE, JSON)],
        '{"message": "base"}',
    ),
    (
        lakeformation.InvalidInputException("inv"),
        400,
        [(ERROR_TYPE, "InvalidInputException"), (REQUEST_ID, None), (CONTENT_TYPE, JSON)],
        '{"Message": "inv"}',
    ),
    (
        firehose.InvalidArgumentException("arg"),
        400,
        [(REQUEST_ID, None), (CONTENT_TYPE, JSON11)],
        '{"__type": "InvalidArgumentException", "message": "arg"}',
    ),
]


@pytest.mark.parametrize(
    ("error", "status", "headers", "body"), CASES, ids=lambda case: type(case).__module__
)
def test_each_service_keeps_its_error_shape(
    error: AwsJsonError, status: int, headers: list[tuple[str, str | None]], body: str
) -> None:
    answer = error_response(error)
    assert answer.status_code == status
    sent = [(name, value) for name, value in answer.headers.items() if name != "Content-Length"]
    assert [name for name, _ in sent] == [name for name, _ in headers]
    for (name, value), (_, expected) in zip(sent, headers, strict=True):
        assert UUID.match(value) if expected is None else value == expected, name
    assert answer.get_data(as_text=True) == body

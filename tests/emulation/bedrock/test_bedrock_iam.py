"""IAM enforcement of bedrock:InvokeModel against the model ARN (engine ``--iam enforce``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulation.extensions import REGISTRY
from tests.emulation.bedrock.bedrock_support import HAIKU, SONNET, claude_body, start_engine
from tests.helpers import EngineProcess

pytestmark = pytest.mark.skipif(
    "iam" not in REGISTRY, reason="the IAM enforcement extension (emulation/iam) is not registered yet"
)


@pytest.fixture(scope="module")
def enforcing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    engine = start_engine(
        tmp_path_factory.mktemp("bedrock-iam"), "--iam", "enforce", "--extensions", "iam,bedrock"
    )
    yield engine
    engine.stop()


def _user_client(engine: EngineProcess, name: str, statements: list[dict[str, Any]]) -> Any:
    iam = engine.target().client("iam")
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": statements}
    iam.put_user_policy(UserName=name, PolicyName="bedrock", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    target = engine.target().with_credentials(key["AccessKeyId"], key["SecretAccessKey"])
    return target.client("bedrock-runtime", max_attempts=0)


def test_credentials_without_invoke_model_are_denied(enforcing: EngineProcess) -> None:
    """A principal without bedrock:InvokeModel gets AccessDeniedException; one allowed on
    the model's ARN gets an answer for that model only."""
    region = enforcing.target().region
    denied = _user_client(
        enforcing, "no-bedrock", [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]
    )
    with pytest.raises(ClientError) as excinfo:
        denied.invoke_model(modelId=SONNET, body=claude_body("hi"))
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    allowed = _user_client(
        enforcing,
        "haiku-only",
        [
            {
                "Effect": "Allow",
                "Action": "bedrock:InvokeModel",
                "Resource": f"arn:aws:bedrock:{region}::foundation-model/{HAIKU}",
            }
        ],
    )
    body = json.loads(allowed.invoke_model(modelId=HAIKU, body=claude_body("hi"))["body"].read())
    assert body["type"] == "message"
    with pytest.raises(ClientError) as excinfo:
        allowed.invoke_model(modelId=SONNET, body=claude_body("hi"))
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"


def test_converse_is_authorised_as_invoke_model(enforcing: EngineProcess) -> None:
    """Converse needs bedrock:InvokeModel on the model (AWS has no bedrock:Converse action)."""
    region = enforcing.target().region
    allowed = _user_client(
        enforcing,
        "converse-user",
        [
            {
                "Effect": "Allow",
                "Action": "bedrock:InvokeModel",
                "Resource": f"arn:aws:bedrock:{region}::foundation-model/{HAIKU}",
            }
        ],
    )
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    assert allowed.converse(modelId=HAIKU, messages=messages)["stopReason"] == "end_turn"

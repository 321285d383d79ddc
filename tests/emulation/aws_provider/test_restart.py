"""What Terraform left in the engine is all there, and works, after a restart."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

from tests.emulation.aws_provider.support import python_zip, trust
from tests.helpers import EngineProcess


def test_a_restarted_engine_keeps_kms_keys_usable(engine_factory: Callable[..., EngineProcess]) -> None:
    """A symmetric key decrypts what it encrypted before the restart; an RSA key verifies its signature."""
    engine = engine_factory()
    kms = engine.target().client("kms")
    symmetric = kms.create_key(Description="secrets")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/fidelity-secrets", TargetKeyId=symmetric)
    blob = kms.encrypt(KeyId=symmetric, Plaintext=b"kubernetes secret")["CiphertextBlob"]
    signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signature = kms.sign(KeyId=signing, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    engine.restart()
    kms = engine.target().client("kms")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kubernetes secret"
    assert kms.describe_key(KeyId="alias/fidelity-secrets")["KeyMetadata"]["KeyId"] == symmetric
    verified = kms.verify(
        KeyId=signing, Message=b"m", Signature=signature, SigningAlgorithm="RSASSA_PSS_SHA_256"
    )
    assert verified["SignatureValid"]
    assert "could not be persisted" not in engine.log_path.read_text()


def test_a_restarted_engine_still_applies_bucket_policies(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """A bucket policy that lets anyone read an object still does after a restart."""
    engine = engine_factory()
    s3 = engine.target().client("s3")
    s3.create_bucket(Bucket="public-fidelity", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket="public-fidelity", Key="page.html", Body=b"<p>hi</p>")
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::public-fidelity/*",
    }
    s3.put_bucket_policy(
        Bucket="public-fidelity", Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    url = f"{engine.endpoint}/public-fidelity/page.html"
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"<p>hi</p>"
    engine.restart()
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"<p>hi</p>"


def test_a_restarted_engine_answers_what_moto_alone_would_forget(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """Video stream tags, EventBridge notifications and a function's LoggingConfig answer
    the same after a restart (Terraform's plan after a restart stays empty)."""
    engine = engine_factory()
    admin = engine.target()
    video = admin.client("kinesisvideo")
    arn = video.create_stream(StreamName="cam-restart", DataRetentionInHours=1, Tags={"k": "v"})["StreamARN"]
    s3 = admin.client("s3")
    s3.create_bucket(Bucket="events-restart", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_bucket_notification_configuration(
        Bucket="events-restart", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    role = admin.client("iam").create_role(
        RoleName="fn-restart", AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"})
    )["Role"]["Arn"]
    admin.client("lambda").create_function(
        FunctionName="fn-restart",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": python_zip()},
        LoggingConfig={"LogFormat": "Text", "LogGroup": "/nexus/restart"},
    )
    engine.restart()
    admin = engine.target()
    assert admin.client("kinesisvideo").list_tags_for_stream(StreamARN=arn)["Tags"] == {"k": "v"}
    notification = admin.client("s3").get_bucket_notification_configuration(Bucket="events-restart")
    assert notification["EventBridgeConfiguration"] == {}
    configuration = admin.client("lambda").get_function(FunctionName="fn-restart")["Configuration"]
    assert configuration["LoggingConfig"]["LogGroup"] == "/nexus/restart"

"""S3 bucket configuration as the Terraform AWS provider reads it back."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

RULE = {
    "ID": "abort",
    "Status": "Enabled",
    "Filter": {"Prefix": ""},
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
}


def _bucket(aws: Any, name: str) -> Any:
    s3 = aws("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    return s3


def test_eventbridge_notifications_are_answered(aws: Any) -> None:
    """A bucket that sends its events to EventBridge says so in its notification configuration."""
    s3 = _bucket(aws, "events-fidelity")
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(
        Bucket="events-fidelity"
    )
    s3.put_bucket_notification_configuration(
        Bucket="events-fidelity", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    assert (
        s3.get_bucket_notification_configuration(Bucket="events-fidelity")["EventBridgeConfiguration"] == {}
    )


def test_lifecycle_answers_the_transition_minimum_size_it_was_given(aws: Any) -> None:
    """TransitionDefaultMinimumObjectSize: AWS's default, or what the put asked for."""
    s3 = _bucket(aws, "lifecycle-fidelity")
    s3.put_bucket_lifecycle_configuration(
        Bucket="lifecycle-fidelity", LifecycleConfiguration={"Rules": [RULE]}
    )
    answer = s3.get_bucket_lifecycle_configuration(Bucket="lifecycle-fidelity")
    assert answer["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    assert answer["Rules"] == [RULE]
    put = s3.put_bucket_lifecycle_configuration(
        Bucket="lifecycle-fidelity",
        LifecycleConfiguration={"Rules": [RULE]},
        TransitionDefaultMinimumObjectSize="varies_by_storage_class",
    )
    assert put["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class"
    answer = s3.get_bucket_lifecycle_configuration(Bucket="lifecycle-fidelity")
    assert answer["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class"


def test_an_invalid_transition_minimum_size_is_refused(aws: Any) -> None:
    """An unknown TransitionDefaultMinimumObjectSize is InvalidArgument, and nothing is stored."""
    s3 = _bucket(aws, "lifecycle2-fidelity")
    with pytest.raises(ClientError) as excinfo:
        s3.put_bucket_lifecycle_configuration(
            Bucket="lifecycle2-fidelity",
            LifecycleConfiguration={"Rules": [RULE]},
            TransitionDefaultMinimumObjectSize="tiny",
        )
    assert excinfo.value.response["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(ClientError) as excinfo:
        s3.get_bucket_lifecycle_configuration(Bucket="lifecycle2-fidelity")
    assert excinfo.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"


def test_a_new_bucket_is_encrypted_with_sse_s3(aws: Any) -> None:
    """GetBucketEncryption of a bucket never configured answers SSE-S3 (AWS's default since 2023)."""
    s3 = _bucket(aws, "encrypted-fidelity")
    rules = s3.get_bucket_encryption(Bucket="encrypted-fidelity")["ServerSideEncryptionConfiguration"][
        "Rules"
    ]
    assert rules == [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
    ]


def test_encryption_of_a_missing_bucket_is_no_such_bucket(aws: Any) -> None:
    """The default applies to buckets that exist only."""
    with pytest.raises(ClientError) as excinfo:
        aws("s3").get_bucket_encryption(Bucket="no-such-bucket-fidelity")
    assert excinfo.value.response["Error"]["Code"] == "NoSuchBucket"


def _policy(bucket: str, *statements: dict[str, Any]) -> str:
    import json

    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _tls_only(bucket: str) -> dict[str, Any]:
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _user(aws: Any, admin: Any, name: str) -> Any:
    import json

    iam = aws("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return admin.with_credentials(key["AccessKeyId"], key["SecretAccessKey"]).client("s3", max_attempts=1)


def test_a_tls_only_bucket_policy_admits_the_engines_callers(aws: Any, admin: Any) -> None:
    """The platform's TLS-only policy (deny when aws:SecureTransport is false) lets the admin
    and an allowed user put, get and delete objects: local traffic stands for the TLS a
    client uses against AWS."""
    bucket = "tls-only-fidelity"
    s3 = _bucket(aws, bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, _tls_only(bucket)))
    s3.put_object(Bucket=bucket, Key="a", Body=b"by admin")
    user = _user(aws, admin, "tls-only-writer")
    user.put_object(Bucket=bucket, Key="b", Body=b"by user")
    assert user.get_object(Bucket=bucket, Key="a")["Body"].read() == b"by admin"
    user.delete_object(Bucket=bucket, Key="b")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a"]


def test_a_bucket_policy_deny_still_denies_its_principal(aws: Any, admin: Any) -> None:
    """A bucket policy that denies one user refuses that user's object calls with AccessDenied,
    whatever the user's own policy allows, and writes nothing."""
    bucket = "deny-fidelity"
    s3 = _bucket(aws, bucket)
    user = _user(aws, admin, "denied-writer")
    arn = aws("iam").get_user(UserName="denied-writer")["User"]["Arn"]
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": arn},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, deny))
    with pytest.raises(ClientError) as caught:
        user.put_object(Bucket=bucket, Key="x", Body=b"no")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_an_anonymous_get_a_bucket_policy_allows_is_served(aws: Any, engine: Any) -> None:
    """An object with a private ACL is served to an unsigned GET when the bucket policy allows
    s3:GetObject to everyone, and refused on a bucket without such a policy."""
    import urllib.error
    import urllib.request

    public, private = "public-read-fidelity", "private-fidelity"
    s3 = _bucket(aws, public)
    _bucket(aws, private)
    allow = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{public}/*",
    }
    s3.put_bucket_policy(Bucket=public, Policy=_policy(public, allow))
    for bucket in (public, private):
        s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    with urllib.request.urlopen(f"{engine.endpoint}/{public}/k", timeout=10) as answer:
        assert answer.read() == b"hello"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{engine.endpoint}/{private}/k", timeout=10)
    assert refused.value.code == 403

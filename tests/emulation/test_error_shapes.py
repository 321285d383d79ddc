"""Bad requests get the error AWS gives, in the caller's protocol, and change nothing.

A real engine over HTTP: boto3 clients whose request bodies are rewritten just before
signing (what a hand-written client or a broken serializer sends), and raw signed requests
for what no SDK can send. Before, these answered werkzeug's plain-text 500 (which SDKs
retry), a bare 404, "Stream None not found", or stored an empty object.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError

from tests.helpers import EngineProcess, raw_request, sign_headers

BUCKET = "error-shapes"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    process = EngineProcess(tmp_path_factory.mktemp("error-shapes")).start()
    s3 = process.target().client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": process.target().region})
    s3.put_object(Bucket=BUCKET, Key="keep.txt", Body=b"kept")
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    yield process
    process.stop()


def _rewriting(client: Any, event: str, body: bytes) -> Any:
    """``client`` sending ``body`` instead of what botocore serialised, for ``event``'s calls."""

    def hook(request: Any, **_: Any) -> None:
        request.data = body
        for name in [h for h in request.headers if h.lower().startswith(("x-amz-checksum-", "content-md5"))]:
            del request.headers[name]
        if "x-amz-sdk-checksum-algorithm" in request.headers:
            del request.headers["x-amz-sdk-checksum-algorithm"]

    client.meta.events.register(f"before-sign.{event}", hook)
    return client


def _s3(engine: EngineProcess, operation: str, body: bytes) -> Any:
    client = engine.target().client("s3", max_attempts=0)
    return _rewriting(client, f"s3.{operation}", body)


BAD_S3_CALLS: list[tuple[str, bytes, Callable[[Any], Any]]] = [
    ("DeleteObjects", b"<Delete><Object>", lambda s3: s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "keep.txt"}]})),
    ("DeleteObjects", b"<NotADelete/>", lambda s3: s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "keep.txt"}]})),
    ("PutBucketTagging", b"<Tagging><TagSet>", lambda s3: s3.put_bucket_tagging(
        Bucket=BUCKET, Tagging={"TagSet": []})),
    ("PutBucketVersioning", b"<VersioningConfiguration", lambda s3: s3.put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})),
    ("PutBucketLifecycleConfiguration", b"<<<", lambda s3: s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration={"Rules": []})),
]  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "body", "call"), BAD_S3_CALLS, ids=lambda v: v if isinstance(v, str) else ""
)
def test_s3_bodies_that_are_not_the_document_get_malformed_xml_and_change_nothing(
    engine: EngineProcess, operation: str, body: bytes, call: Callable[[Any], Any]
) -> None:
    """400 MalformedXML (botocore reads the code); the object, the tags and the versioning
    state are what they were."""
    with pytest.raises(ClientError) as refused:
        call(_s3(engine, operation, body))
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.value.response["Error"]["Code"] == "MalformedXML"
    s3 = engine.target().client("s3")
    assert s3.get_object(Bucket=BUCKET, Key="keep.txt")["Body"].read() == b"kept"
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [{"Key": "team", "Value": "data"}]
    assert "Status" not in s3.get_bucket_versioning(Bucket=BUCKET)


def test_complete_multipart_upload_with_a_broken_body_is_malformed_xml(engine: EngineProcess) -> None:
    """The upload stays open and can still be completed properly afterwards."""
    s3 = engine.target().client("s3")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mpu.bin")["UploadId"]
    etag = s3.upload_part(Bucket=BUCKET, Key="mpu.bin", UploadId=upload, PartNumber=1, Body=b"x" * 10)["ETag"]
    parts = {"Parts": [{"ETag": etag, "PartNumber": 1}]}
    broken = _s3(engine, "CompleteMultipartUpload", b"<CompleteMultipartUpload><Part>")
    with pytest.raises(ClientError) as refused:
        broken.complete_multipart_upload(Bucket=BUCKET, Key="mpu.bin", UploadId=upload, MultipartUpload=parts)
    assert refused.value.response["Error"]["Code"] == "MalformedXML"
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mpu.bin", UploadId=upload, MultipartUpload=parts)
    assert s3.get_object(Bucket=BUCKET, Key="mpu.bin")["Body"].read() == b"x" * 10


@pytest.mark.parametrize("length", ["-1", "abc"])
def test_a_content_length_that_is_not_a_size_stores_nothing(engine: EngineProcess, length: str) -> None:
    """PUT with ``Content-Length: -1`` used to store an empty object; now 400 BadRequest."""
    url = f"{engine.endpoint}/{BUCKET}/negative-{length}"
    headers = sign_headers(engine.target(), "PUT", url, "s3")
    answer = raw_request(engine.endpoint, "PUT", f"/{BUCKET}/negative-{length}", headers={
        **headers, "Content-Length": length})  # fmt: skip
    assert answer.status == 400
    error = ElementTree.fromstring(answer.body)
    assert error.findtext("Code") == "BadRequest" and length in (error.findtext("Message") or "")
    s3 = engine.target().client("s3")
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=BUCKET, Key=f"negative-{length}")
    assert missing.value.response["Error"]["Code"] == "404"


@pytest.mark.parametrize("body", [b"[]", b"nope", b'"a string"'])
def test_a_json_call_whose_body_is_not_an_object_is_a_serialization_error(
    engine: EngineProcess, body: bytes
) -> None:
    """Kinesis and Firehose answer 400 SerializationException, not "Stream None not found"."""
    kinesis = _rewriting(engine.target().client("kinesis", max_attempts=0), "kinesis.DescribeStream", body)
    firehose = _rewriting(
        engine.target().client("firehose", max_attempts=0), "firehose.DescribeDeliveryStream", body
    )
    for call in (
        lambda: kinesis.describe_stream(StreamName="any"),
        lambda: firehose.describe_delivery_stream(DeliveryStreamName="any"),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert refused.value.response["Error"]["Code"] == "SerializationException"


def test_an_unknown_operation_is_refused_in_the_protocol_of_the_service(engine: EngineProcess) -> None:
    """A JSON target the service lacks: 400 UnknownOperationException (JSON); a Query
    ``Action`` IAM lacks: 400 InvalidAction (Query XML). Neither is a 500 an SDK would retry."""
    target = engine.target()
    body = b"{}"
    headers = {"X-Amz-Target": "Kinesis_20131202.Frobnicate", "Content-Type": "application/x-amz-json-1.1"}
    signed = sign_headers(target, "POST", f"{engine.endpoint}/", "kinesis", body, headers)
    answer = raw_request(engine.endpoint, "POST", "/", body, signed)
    assert answer.status == 400
    assert answer.json()["__type"] == "UnknownOperationException"
    assert answer.headers["content-type"].startswith("application/x-amz-json-1.1")

    form = b"Action=Frobnicate&Version=2010-05-08"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    signed = sign_headers(target, "POST", f"{engine.endpoint}/", "iam", form, headers)
    answer = raw_request(engine.endpoint, "POST", "/", form, signed)
    assert answer.status == 400
    error = ElementTree.fromstring(answer.body).find("Error")
    assert error is not None and error.findtext("Code") == "InvalidAction"
    assert json.dumps(error.findtext("Message")).count("Frobnicate") == 1

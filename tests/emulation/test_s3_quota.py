"""AWS's default bucket quota: the 10,001st CreateBucket of an account gets TooManyBuckets.

In-process (the engine's WSGI app with its S3 extension, moto's own backend): the 9,999
buckets before it are put straight into moto's backend (10,000 HTTP calls would take the
suite half a minute), and taken out again afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import pytest
from moto.s3.models import s3_backends
from werkzeug.test import Client, EnvironBuilder

from emulation.core.app import EngineApp
from emulation.core.settings import EngineSettings
from emulation.s3.extension import S3Extension
from emulation.s3.models import BUCKET_QUOTA

ACCOUNT = "123456789012"  # moto's default account: what an unmapped access key belongs to
AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAQUOTATEST0000000/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)


@pytest.fixture
def app_with_full_account() -> Iterator[EngineApp]:
    app = EngineApp(EngineSettings(iam="off", persist=False, kinesis_limits="off"), [S3Extension()])
    for ext in app.extensions:
        ext.start(app)
    backend = s3_backends[ACCOUNT]["aws"]
    names = [f"quota-filler-{n:05d}" for n in range(BUCKET_QUOTA - len(backend.buckets) - 1)]
    for name in names:
        backend.create_bucket(name, "us-east-1")
    try:
        yield app
    finally:
        for name in [*names, "quota-last", "quota-one-too-many"]:
            if name in backend.buckets:
                backend.buckets.pop(name)
                s3_backends.bucket_accounts.pop(name, None)


def _put(app: EngineApp, path: str) -> Any:
    environ = EnvironBuilder(
        method="PUT",
        path=path,
        headers={"host": "127.0.0.1:4566", "authorization": AUTH, "x-amz-date": "20260101T000000Z"},
    ).get_environ()
    return Client(app).open(environ)


def test_create_bucket_past_the_account_quota_is_too_many_buckets(app_with_full_account: EngineApp) -> None:
    app = app_with_full_account
    assert _put(app, "/quota-last").status_code == 200  # the 10,000th
    refused = _put(app, "/quota-one-too-many")
    assert refused.status_code == 400
    error = ElementTree.fromstring(refused.get_data())
    assert error.findtext("Code") == "TooManyBuckets"
    assert "quota-one-too-many" not in s3_backends[ACCOUNT]["aws"].buckets
    # an existing bucket is still answered as before (already owned), not as over the quota
    again = _put(app, "/quota-last")
    assert b"TooManyBuckets" not in again.get_data()

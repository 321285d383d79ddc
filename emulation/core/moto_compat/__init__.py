"""The one place that reaches into moto's private parts (moto 5.2.5 is pinned).

The rest of ``emulation`` uses moto's public surface (backends, models' public attributes,
``moto.backends.get_backend``...) and, for anything moto does not offer publicly, the named
functions of this package. Every private attribute, name-mangled field, ``__dict__`` or
``__new__`` trick and every runtime patch of moto's classes lives here, by concern:

* :mod:`.backends`: reading backends without creating them;
* :mod:`.speedups`: start-up and per-request speed-ups (loaders, region lookups, lazy EC2 data);
* :mod:`.deferred`: modules run only when something uses them (moto's in-process mocking
  machinery, boto3, the botocore session, ``cryptography.x509``);
* :mod:`.pickling`: what the state store needs to pickle moto's objects (S3 keys and key
  stores, Kinesis shards, Lambda storage and functions, the list of backends);
* :mod:`.routing`: moto's request dispatch (backend apps, REST routers, the recorder, reset);
* :mod:`.kinesis`: building records, CloudWatch metrics, shard numbers, the shards' record store;
* :mod:`.s3`: the S3 response writer, virtual-host detection, listing and permission hooks,
  bodies read from blob files (``FakeKey.value``'s setter) and the record of what
  ``S3Backend``'s methods change (for S3's row store);
* :mod:`.glue`: a Glue table's current version;
* :mod:`.ids`: moto's random identifiers.

``tests/emulation/test_moto_compat.py`` holds one contract test per private access: when a
moto release moves something, it names the moto version and what moved. Nothing here
imports moto at module level (the speed-ups must be installed before moto's services load).
"""

from __future__ import annotations

from emulation.core.moto_compat.backends import existing_backend, existing_backends, existing_regions
from emulation.core.moto_compat.glue import current_table_version
from emulation.core.moto_compat.ids import random_lowercase_id
from emulation.core.moto_compat.kinesis import (
    adopt_records,
    install_record_store,
    record_builder,
    send_stream_metrics,
    shard_number,
    stored_record,
    stored_record_maker,
)
from emulation.core.moto_compat.pickling import backend_dicts, install_lambda_pickling
from emulation.core.moto_compat.routing import (
    dispatcher,
    ensure_backend_app,
    install_recorder,
    reset_moto_state,
    warm_model,
)
from emulation.core.moto_compat.s3 import (
    is_virtual_host,
    judge_bucket_permissions,
    listing_methods,
    pagination_token,
    replace_listing_methods,
    response_sender,
)

__all__ = [
    "adopt_records",
    "backend_dicts",
    "current_table_version",
    "dispatcher",
    "ensure_backend_app",
    "existing_backend",
    "existing_backends",
    "existing_regions",
    "install_lambda_pickling",
    "install_record_store",
    "install_recorder",
    "is_virtual_host",
    "judge_bucket_permissions",
    "listing_methods",
    "pagination_token",
    "random_lowercase_id",
    "record_builder",
    "replace_listing_methods",
    "reset_moto_state",
    "response_sender",
    "send_stream_metrics",
    "shard_number",
    "stored_record",
    "stored_record_maker",
    "warm_model",
]

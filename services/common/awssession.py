"""One botocore session per process, shared by the clients a service makes.

Each session has its own loader, so every session loads (and holds) the endpoint data
and service models again: two sessions with a DynamoDB and a Kinesis client hold about
twice the memory of one session with both. The clients are botocore's own (what
``boto3.session.Session().client`` returns too) without importing boto3 and s3transfer
(their resources and transfer managers, some 2 MB, are used by no service). The
session here is made again when the process's ``AWS_*`` environment has changed since (a
test that points a second app at other credentials gets a session of its own), and
clients are made under a lock (a boto3 session is not thread-safe; its clients are).

The session's loader holds its data leaner (:class:`LeanJSONFileLoader`): botocore's
endpoint data (``endpoints.json``, every service of every partition, some 6.7 MB once
parsed) keeps each service's entry as compact JSON text, parsed when a client of that
service is made; service models drop the ``documentation`` texts of their operations and
shapes (docstrings of ``help(client)`` only, some 0.3-0.7 MB per model). A process with
an STS, S3, DynamoDB and Kinesis client holds some 41 MB instead of 49.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

_lock = threading.Lock()
_current: tuple[tuple[tuple[str, str], ...], Any] | None = None

#: keys of a service model that only botocore's documentation generators read
_DOC_KEYS = ("documentation", "documentationUrl")


class LazyServices(Mapping[str, Any]):
    """A partition's ``services`` of botocore's endpoint data: each entry kept as JSON text
    and parsed (once) on first access. A read-only mapping of the same keys and values."""

    def __init__(self, text: Mapping[str, str]) -> None:
        self._text = dict(text)
        self._parsed: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        entry = self._parsed.get(name)
        if entry is None:
            entry = json.loads(self._text[name], object_pairs_hook=OrderedDict)
            self._parsed[name] = entry
        return entry

    def __contains__(self, name: object) -> bool:
        return name in self._text

    def __iter__(self) -> Iterator[str]:
        return iter(self._text)

    def __len__(self) -> int:
        return len(self._text)


def _drop_documentation(node: Any) -> None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in _DOC_KEYS:
                if isinstance(item.get(key), str):  # a text, not a member of that name
                    del item[key]
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _lean_endpoints(data: dict[str, Any]) -> dict[str, Any]:
    """The endpoint data with each partition's ``services`` a :class:`LazyServices`.

    The parsed file is first turned into text and dropped, and the data then made again
    from that text: whatever is kept must not be allocated among the parse's many small
    objects, or it would pin their freed memory (the heap's free pages stay mapped when a
    live object shares them), some 5 MB."""
    services: list[str | None] = []
    for partition in data.get("partitions", ()):
        entries = partition.pop("services", None) if isinstance(partition, dict) else None
        if isinstance(entries, dict):
            services.append(_compact({name: _compact(entry) for name, entry in entries.items()}))
        else:
            services.append(None if entries is None else _compact(entries))
            entries = None
    skeleton = _compact(data)
    data.clear()  # the parse's objects go (the caller's reference is to this emptied dict)
    del entries
    lean_data: dict[str, Any] = json.loads(skeleton, object_pairs_hook=OrderedDict)
    for partition, text in zip(lean_data.get("partitions", ()), services, strict=True):
        if text is None:
            continue
        entries = json.loads(text)
        partition["services"] = LazyServices(entries) if isinstance(entries, dict) else entries
    return lean_data


def lean(path: str, data: Any) -> Any:
    """``data`` parsed from botocore's data file ``path`` (without its extension), leaner."""
    if not isinstance(data, dict):
        return data
    name = os.path.basename(path)
    if name == "endpoints":
        return _lean_endpoints(data)
    if name == "service-2":
        # the operations' and shapes' texts only: botocore reads those with a default
        # (``clientContextParams`` must keep theirs, read as ``param["documentation"]``)
        for key in _DOC_KEYS:
            data.pop(key, None)
        _drop_documentation([data.get("operations"), data.get("shapes")])
    return data


def _new_session() -> Any:
    import botocore.loaders
    import botocore.session

    class LeanJSONFileLoader(botocore.loaders.JSONFileLoader):  # type: ignore[misc]
        def load_file(self, file_path: str) -> Any:
            return lean(file_path, super().load_file(file_path))

    session = botocore.session.Session()
    session.get_component("data_loader").file_loader = LeanJSONFileLoader()
    return session


def _aws_environment() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


def new_client(service: str, **kwargs: Any) -> Any:
    """A client of ``service`` (``create_client`` keyword arguments) from the shared session."""
    global _current

    environment = _aws_environment()
    with _lock:
        if _current is None or _current[0] != environment:
            _current = (environment, _new_session())
        return _current[1].create_client(service, **kwargs)

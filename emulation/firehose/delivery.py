"""How a Firehose S3 destination is read, named, compressed and logged (pure functions).

The object key follows AWS: ``<evaluated prefix><stream>-<version>-YYYY-MM-DD-HH-MM-SS-
<uuid4><extension>``. A prefix without ``!{...}`` expressions gets the default time
prefix ``YYYY/MM/DD/HH/`` appended (UTC, from the arrival time of the oldest record in
the object); a prefix with expressions is evaluated instead (``!{timestamp:...}`` with
Java ``DateTimeFormatter`` letters, ``!{firehose:random-string}`` and
``!{firehose:error-output-type}``).
"""

from __future__ import annotations

import base64
import gzip
import importlib
import io
import json
import logging
import re
import secrets
import string
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

log = logging.getLogger(__name__)

MIB = 1024 * 1024
#: AWS defaults when ``BufferingHints`` is absent.
DEFAULT_SIZE_MB = 5
DEFAULT_INTERVAL_S = 300
#: ``--firehose-buffering fast`` caps the interval so a developer sees objects at once.
FAST_INTERVAL_CAP_S = 1.0
#: Where failed records go when ``ErrorOutputPrefix`` is not set.
DEFAULT_ERROR_OUTPUT_TYPE = "processing-failed"

BufferingMode = Literal["fast", "aws"]

_EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
_JAVA_DATE_TOKEN = re.compile(r"'[^']*'|yyyy|yy|MM|dd|HH|mm|ss|.", re.DOTALL)
_JAVA_TO_STRFTIME = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M"}
_JAVA_TO_STRFTIME["ss"] = "%S"
_RANDOM_ALPHABET = string.ascii_letters + string.digits
_EXTENSIONS = {"GZIP": ".gz", "ZIP": ".zip", "Snappy": ".snappy", "HADOOP_SNAPPY": ".snappy"}


@dataclass(frozen=True)
class S3Destination:
    """The parts of an ``ExtendedS3`` (or ``S3``) destination that delivery uses."""

    bucket_arn: str
    prefix: str
    error_output_prefix: str
    size_bytes: int
    interval_s: float
    compression: str
    file_extension: str
    append_newline: bool
    log_group: str | None
    log_stream: str | None
    #: configured features this emulator does not run (warned about once)
    unsupported: tuple[str, ...] = ()

    @property
    def bucket(self) -> str:
        return self.bucket_arn.split(":::", 1)[-1].split(":")[-1]

    @classmethod
    def from_description(cls, destination: dict[str, Any]) -> S3Destination | None:
        """Read moto's stored destination (``ExtendedS3`` preferred); None for non-S3."""
        config = destination.get("ExtendedS3") or destination.get("S3")
        if not isinstance(config, dict) or not config.get("BucketARN"):
            return None
        hints = config.get("BufferingHints") or {}
        logging_options = config.get("CloudWatchLoggingOptions") or {}
        logs_enabled = bool(logging_options.get("Enabled"))
        append_newline, unsupported = _processors(config.get("ProcessingConfiguration") or {})
        conversion = config.get("DataFormatConversionConfiguration") or {}
        if conversion.get("Enabled", bool(conversion)):
            unsupported += ("DataFormatConversionConfiguration",)
        if (config.get("DynamicPartitioningConfiguration") or {}).get("Enabled"):
            unsupported += ("DynamicPartitioningConfiguration",)
        return cls(
            bucket_arn=str(config["BucketARN"]),
            prefix=str(config.get("Prefix") or ""),
            error_output_prefix=str(config.get("ErrorOutputPrefix") or ""),
            size_bytes=int(hints.get("SizeInMBs", DEFAULT_SIZE_MB)) * MIB,
            interval_s=float(hints.get("IntervalInSeconds", DEFAULT_INTERVAL_S)),
            compression=str(config.get("CompressionFormat") or "UNCOMPRESSED"),
            file_extension=str(config.get("FileExtension") or ""),
            append_newline=append_newline,
            log_group=logging_options.get("LogGroupName") if logs_enabled else None,
            log_stream=logging_options.get("LogStreamName") if logs_enabled else None,
            unsupported=unsupported,
        )

    def interval(self, mode: BufferingMode) -> float:
        """Seconds to buffer: the hint as AWS honours it, capped at 1 s in fast mode."""
        if mode == "fast":
            return min(self.interval_s, FAST_INTERVAL_CAP_S)
        return self.interval_s


def _processors(processing: dict[str, Any]) -> tuple[bool, tuple[str, ...]]:
    """(append a newline to each record?, processors that are configured but not run)."""
    if not processing.get("Enabled"):
        return False, ()
    append_newline = False
    unsupported: list[str] = []
    for processor in processing.get("Processors") or []:
        kind = str(processor.get("Type", ""))
        if kind == "AppendDelimiterToRecord":
            append_newline = True
        else:
            unsupported.append(f"processor {kind}")
    return append_newline, tuple(unsupported)


# -- key layout -----------------------------------------------------------------------------
def _java_date(pattern: str, when: datetime) -> str:
    out = []
    for token in _JAVA_DATE_TOKEN.findall(pattern):
        if token.startswith("'"):
            out.append(token[1:-1] if len(token) > 2 else "'")
        elif token in _JAVA_TO_STRFTIME:
            out.append(when.strftime(_JAVA_TO_STRFTIME[token]))
        else:
            out.append(token)
    return "".join(out)


def evaluate_prefix(prefix: str, when: datetime, error_output_type: str | None = None) -> str:
    """``Prefix``/``ErrorOutputPrefix`` evaluated at ``when`` (UTC)."""
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    if "!{" not in prefix:
        return f"{prefix}{when:%Y/%m/%d/%H}/"

    def replace(match: re.Match[str]) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return _java_date(value, when)
        if namespace == "firehose" and value == "random-string":
            return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(11))
        if namespace == "firehose" and value == "error-output-type":
            return error_output_type or ""
        return match.group(0)  # partitionKeyFrom*: dynamic partitioning is not emulated

    return _EXPRESSION.sub(replace, prefix)


def error_prefix(destination: S3Destination, when: datetime, error_output_type: str) -> str:
    """Where failed records go: ``ErrorOutputPrefix`` or ``<error-output-type>/YYYY/MM/DD/HH/``."""
    if not destination.error_output_prefix:
        return evaluate_prefix(f"{error_output_type}/", when)
    return evaluate_prefix(destination.error_output_prefix, when, error_output_type)


def object_name(stream_name: str, version_id: str, now: datetime, extension: str) -> str:
    """``<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid4><extension>`` (UTC)."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return f"{stream_name}-{version_id}-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{extension}"


# -- compression ----------------------------------------------------------------------------
class Compressor:
    """Compresses a payload per ``CompressionFormat``; warns once for what it cannot do."""

    def __init__(self) -> None:
        self._warned: set[str] = set()
        self._snappy: Any = _optional_module("cramjam")

    def compress(self, payload: bytes, fmt: str, entry_name: str) -> tuple[bytes, str]:
        """(body, default file extension) for ``fmt``."""
        if fmt == "GZIP":
            return gzip.compress(payload, compresslevel=6, mtime=0), _EXTENSIONS[fmt]
        if fmt == "ZIP":
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(entry_name, payload)
            return buffer.getvalue(), _EXTENSIONS[fmt]
        if fmt in {"Snappy", "HADOOP_SNAPPY"} and self._snappy is not None:
            if fmt == "Snappy":
                return bytes(self._snappy.snappy.compress(payload)), _EXTENSIONS[fmt]
            return self._hadoop_snappy(payload), _EXTENSIONS[fmt]
        if fmt != "UNCOMPRESSED" and fmt not in self._warned:
            self._warned.add(fmt)
            log.warning(
                "Firehose compression %s needs the 'cramjam' package, which is not installed; "
                "objects are delivered uncompressed",
                fmt,
            )
        return payload, ""

    def _hadoop_snappy(self, payload: bytes) -> bytes:
        """Hadoop's block format: per block, uncompressed length, compressed length, data."""
        out = io.BytesIO()
        block = 256 * 1024
        for start in range(0, max(len(payload), 1), block):
            chunk = payload[start : start + block]
            compressed = bytes(self._snappy.snappy.compress_raw(chunk))
            out.write(len(chunk).to_bytes(4, "big"))
            out.write(len(compressed).to_bytes(4, "big"))
            out.write(compressed)
        return out.getvalue()


def _optional_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# -- failures -------------------------------------------------------------------------------
def failed_record(
    raw_data: str | bytes, arrival_ms: int, error_code: str, message: str, attempts: int = 1
) -> bytes:
    """One JSON line for the error output prefix, in Firehose's ``processing-failed`` shape."""
    raw = raw_data.decode("ascii", "replace") if isinstance(raw_data, bytes) else raw_data
    line = {
        "attemptsMade": attempts,
        "arrivalTimestamp": arrival_ms,
        "errorCode": error_code,
        "errorMessage": message,
        "attemptEndingTimestamp": int(datetime.now(UTC).timestamp() * 1000),
        "rawData": raw,
    }
    return (json.dumps(line, separators=(",", ":")) + "\n").encode()


def decode_record_data(data: str | bytes) -> bytes:
    """moto stores Kinesis record data base64-encoded, as it arrived in the request."""
    return base64.b64decode(data)


def delivery_log_message(
    stream_arn: str, destination_arn: str, version_id: str, error_code: str, message: str
) -> str:
    """The JSON message Firehose writes to its CloudWatch log stream for a failed delivery."""
    try:
        version: int | str = int(version_id)
    except ValueError:
        version = version_id
    return json.dumps(
        {
            "deliveryStreamARN": stream_arn,
            "destination": destination_arn,
            "deliveryStreamVersionId": version,
            "message": message,
            "errorCode": error_code,
        }
    )

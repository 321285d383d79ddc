"""The Kinesis Video extension of the engine: the media plane moto lacks (order 40).

moto keeps the control plane (CreateStream, DescribeStream, ListStreams, DeleteStream);
this extension adds what a producer and a consumer need around it:

* ``GetDataEndpoint`` answers with the engine's own endpoint (moto's answer, with the
  ``DataEndpoint`` replaced), so clients that follow AWS's two-step pattern land here;
* ``PutMedia`` (MKV in, JSON acknowledgements out), ``GetMedia``, ``ListFragments`` and
  ``GetMediaForFragmentList`` over :class:`~emulation.kinesisvideo.models.MediaStore`;
* ``UpdateDataRetention`` (moto answers 404), applied to moto's stream;
* ``ListTagsForStream``, ``TagStream``, ``UntagStream`` and ``UpdateStream`` (moto answers
  an HTML 404), on moto's stream (:mod:`~emulation.kinesisvideo.control`);
* ``DeleteStream`` goes to moto and then drops the stream's fragments.

Authorization is the IAM extension's (order 10): it maps ``/putMedia`` and friends to
``kinesisvideo:PutMedia`` etc. on the stream's ARN before this extension sees them.

Not emulated: long-lived chunked PutMedia sessions (the engine reads request bodies
whole, by ``Content-Length``: a producer sends complete fragments per request, which AWS
accepts too), GetMedia's open connection (it answers with what is stored and ends; poll
with the continuation token), HLS/DASH/clips, the 5 calls/s PutMedia and GetMedia quotas
and ``ConnectionLimitExceededException``. Retention is applied whenever a stream is read
or written (no background thread).
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core import moto_compat
from emulation.core.exceptions import error_response
from emulation.core.extension import Extension
from emulation.core.request import AwsRequest, account_of, region_of
from emulation.core.settings import EngineSettings
from emulation.kinesisvideo import control, responses
from emulation.kinesisvideo.exceptions import (
    InvalidArgumentException,
    KinesisVideoError,
    ResourceNotFoundException,
    VersionMismatchException,
)
from emulation.kinesisvideo.models import MediaStore, StreamRef

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

MAX_RETENTION_HOURS = 87600
RETENTION_OPERATIONS = ("INCREASE_DATA_RETENTION", "DECREASE_DATA_RETENTION")


class KinesisVideoExtension(Extension):
    name = "kinesisvideo"
    order = 40

    def __init__(self, settings: EngineSettings) -> None:
        root = None
        if settings.state_dir is not None and settings.persist:
            root = settings.state_dir / "state" / "kinesisvideo"
        self.store = MediaStore(root)
        self.engine: EngineApp | None = None
        self._restored = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        self._restored = self.store.restore()
        if self._restored:
            log.info("restored %d Kinesis Video fragments", self._restored)

    def reset(self) -> None:
        self.store.reset()

    def health(self) -> dict[str, Any]:
        return {**self.store.health(), "restored": self._restored}

    # -- requests ---------------------------------------------------------------------------
    def handle(self, request: AwsRequest) -> Response | None:
        operation = responses.operation_of(request)
        if operation is None:
            if (
                request.signing_service == responses.SIGNING_NAME
                and request.path.rstrip("/") == "/deleteStream"
            ):
                return self._delete_stream(request)
            return None
        try:
            if operation == "GetDataEndpoint":
                return self._get_data_endpoint(request)
            if operation == "UpdateDataRetention":
                return self._update_data_retention(request)
            if operation in responses.CONTROL_OPERATIONS:
                return self._control(request, operation)
            if operation == "PutMedia":
                identity, params = responses.put_media_request(request)
                stream = self._stream(request, *identity)
                request.changes_state = False  # fragments live in files, not in moto's state
                return responses.acks_response(self.store.put_media(stream, params, request.body))
            body = responses.body_params(request)
            stream = self._stream(request, *responses.stream_identity(body))
            if operation == "ListFragments":
                page, token = self.store.list_fragments(
                    stream,
                    responses.fragment_selector(body),
                    responses.optional_int(body, "MaxResults"),
                    body.get("NextToken"),
                )
                answer: dict[str, Any] = {"Fragments": [fragment.describe() for fragment in page]}
                if token:
                    answer["NextToken"] = token
                return responses.json_response(answer)
            if operation == "GetMediaForFragmentList":
                numbers = body.get("Fragments")
                if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
                    raise InvalidArgumentException("Fragments must be a list of fragment numbers.")
                return responses.media_response(self.store.media_for_fragment_list(stream, numbers))
            selector = body.get("StartSelector")
            if not isinstance(selector, dict):
                raise InvalidArgumentException("StartSelector is required.")
            return responses.media_response(self.store.get_media(stream, selector))
        except KinesisVideoError as error:
            return error_response(error)

    # -- moto's streams ---------------------------------------------------------------------
    def _moto_stream(self, request: AwsRequest, name: str | None, arn: str | None) -> Any:
        assert self.engine is not None
        backend = self.engine.backend("kinesisvideo", region_of(request), account_of(request))
        if arn is not None:
            stream = backend.streams.get(arn)
        else:
            stream = next((s for s in backend.streams.values() if s.stream_name == name), None)
        if stream is None:
            raise ResourceNotFoundException(f"The stream {name or arn} does not exist.")
        return stream

    def _stream(self, request: AwsRequest, name: str | None, arn: str | None) -> StreamRef:
        assert self.engine is not None
        with self.engine.state_lock.shared():
            stream = self._moto_stream(request, name, arn)
            return StreamRef(
                account=account_of(request),
                region=region_of(request),
                name=str(stream.stream_name),
                arn=str(stream.arn),
                retention_hours=int(stream.data_retention_in_hours or 0),
                incarnation=str(stream.creation_time),
            )

    def _get_data_endpoint(self, request: AwsRequest) -> Response:
        assert self.engine is not None
        request.environ["wsgi.input"] = io.BytesIO(request.body)
        answer = self.engine.call_moto(request.environ)
        if answer.status_code != 200:
            return answer
        host = request.headers.get("host") or self.engine.settings.endpoint.split("://", 1)[-1]
        scheme = str(request.environ.get("wsgi.url_scheme", "http"))
        request.changes_state = False
        return responses.json_response({"DataEndpoint": f"{scheme}://{host}"})

    def _control(self, request: AwsRequest, operation: str) -> Response:
        """ListTagsForStream, TagStream, UntagStream, UpdateStream on moto's stream."""
        assert self.engine is not None
        body = responses.body_params(request)
        with self.engine.state_lock.shared():
            stream = self._moto_stream(request, *responses.stream_identity(body))
            if operation == "ListTagsForStream":
                request.changes_state = False
                return responses.json_response({"Tags": control.list_tags_for_stream(stream)})
            if operation == "TagStream":
                control.tag_stream(stream, body.get("Tags"))
            elif operation == "UntagStream":
                control.untag_stream(stream, body.get("TagKeyList"))
            else:
                control.update_stream(stream, body)
        return responses.json_response({})

    def _update_data_retention(self, request: AwsRequest) -> Response:
        assert self.engine is not None
        body = responses.body_params(request)
        name, arn = responses.stream_identity(body)
        operation = body.get("Operation")
        change = body.get("DataRetentionChangeInHours")
        if operation not in RETENTION_OPERATIONS:
            raise InvalidArgumentException(f"Operation must be one of {', '.join(RETENTION_OPERATIONS)}.")
        if isinstance(change, bool) or not isinstance(change, int) or change < 1:
            raise InvalidArgumentException("DataRetentionChangeInHours must be a positive integer.")
        with self.engine.state_lock.shared():
            stream = self._moto_stream(request, name, arn)
            if body.get("CurrentVersion") != stream.version:
                raise VersionMismatchException(
                    f"The stream version {body.get('CurrentVersion')!r} is not the current version."
                )
            hours = int(stream.data_retention_in_hours or 0)
            hours = hours + change if operation == "INCREASE_DATA_RETENTION" else hours - change
            if not 0 <= hours <= MAX_RETENTION_HOURS:
                raise InvalidArgumentException(
                    f"The data retention would be {hours} hours (allowed: 0 to {MAX_RETENTION_HOURS})."
                )
            stream.data_retention_in_hours = hours
            stream.version = moto_compat.random_lowercase_id()
        return responses.json_response({})

    def _delete_stream(self, request: AwsRequest) -> Response | None:
        assert self.engine is not None
        try:
            body = responses.body_params(request)
            arn = body.get("StreamARN")
            stream = self._stream(request, None, arn) if isinstance(arn, str) else None
        except KinesisVideoError:
            return None  # moto answers with its own error
        request.environ["wsgi.input"] = io.BytesIO(request.body)
        answer = self.engine.call_moto(request.environ)
        if answer.status_code == 200 and stream is not None:
            self.store.forget(stream)
        return answer


def create(settings: EngineSettings) -> Extension:
    return KinesisVideoExtension(settings)

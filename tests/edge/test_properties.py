"""Property tests: whatever a client sends to POST /auth, the answer is never a 5xx."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.auth.handler import RequestError, parse_body
from tests.edge.conftest import EdgeStack, http

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=15,
)
# Bodies shaped like the contract (so validation and issuance are reached), with wrong turns.
AUTH_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "user": st.text(max_size=200) | JSON_VALUES,
        "ttl_minutes": st.integers(min_value=-(10**12), max_value=10**12) | JSON_VALUES,
        "metadata": st.dictionaries(st.text(max_size=20), JSON_VALUES, max_size=6) | JSON_VALUES,
        "extra": JSON_VALUES,
    },
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _post(edge: EdgeStack, body: bytes, content_type: str = "application/json") -> tuple[int, Any]:
    answer = http(edge.auth_url, body, content_type=content_type)
    return answer.status, answer.body


@PROPERTY_SETTINGS
@given(doc=AUTH_LIKE | JSON_VALUES)
def test_arbitrary_json_never_gets_a_5xx(edge: EdgeStack, doc: Any) -> None:
    """Any JSON document: 200 or a 4xx with a message, never a server error."""
    status, body = _post(edge, json.dumps(doc).encode("utf-8"))
    assert status < 500, body
    answer = json.loads(body)
    if status != 200:
        assert isinstance(answer.get("message"), str) and "Traceback" not in answer["message"]


@settings(max_examples=60, deadline=None, database=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_never_get_a_5xx(edge: EdgeStack, raw: bytes) -> None:
    """Not even bytes that are not JSON, or not UTF-8, make the service fail."""
    status, body = _post(edge, raw, content_type="application/octet-stream")
    assert status < 500, body


@settings(max_examples=400, deadline=None, database=None)
@given(text=st.text(max_size=400) | JSON_VALUES.map(json.dumps) | AUTH_LIKE.map(json.dumps))
def test_body_validation_only_ever_raises_request_errors(text: str) -> None:
    """The validator either accepts a body or explains it; it never crashes."""
    try:
        request = parse_body(text, is_base64=False)
    except RequestError as exc:
        assert 400 <= exc.status < 500 and exc.message
    else:
        assert isinstance(request.user, str) and request.user.strip()

"""Route selection of the HTTP API data plane (pure functions, no engine)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulation.apigatewayv2.routing import select_route

ROUTES = [
    ("GET /pets", "integrations/a", "NONE"),
    ("GET /pets/{id}", "integrations/b", "NONE"),
    ("ANY /pets/{id}", "integrations/c", "NONE"),
    ("GET /pets/{id}/toys/{toy}", "integrations/d", "NONE"),
    ("ANY /{proxy+}", "integrations/e", "NONE"),
    ("GET /static/{path+}", "integrations/f", "NONE"),
    ("$default", "integrations/g", "NONE"),
]


@pytest.mark.parametrize(
    ("method", "path", "route", "params"),
    [
        ("GET", "/pets", "GET /pets", {}),
        ("GET", "/pets/7", "GET /pets/{id}", {"id": "7"}),
        ("DELETE", "/pets/7", "ANY /pets/{id}", {"id": "7"}),
        ("GET", "/pets/7/toys/ball", "GET /pets/{id}/toys/{toy}", {"id": "7", "toy": "ball"}),
        ("GET", "/static/css/site.css", "GET /static/{path+}", {"path": "css/site.css"}),
        ("POST", "/static/css/site.css", "ANY /{proxy+}", {"proxy": "static/css/site.css"}),
        ("GET", "/", "$default", {}),
    ],
)
def test_most_specific_route_wins(method: str, path: str, route: str, params: dict[str, str] | None) -> None:
    """Exact beats {var}, a specific method beats ANY, {var} beats {greedy+}, $default last."""
    match = select_route(ROUTES, method, path)
    assert match is not None and match.route_key == route
    if params is not None:
        assert match.path_parameters == params


def test_no_route_and_no_default_is_none() -> None:
    """Without $default, an unmatched request selects nothing (the gateway's 404)."""
    assert select_route([("POST /auth", "integrations/a", "NONE")], "GET", "/auth") is None


@settings(max_examples=300, deadline=None, database=None)
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]), path=st.text(max_size=60))
def test_any_request_selects_some_route_when_default_exists(method: str, path: str) -> None:
    """With $default present every request is routed somewhere, and selection never fails."""
    assert select_route(ROUTES, method, "/" + path) is not None

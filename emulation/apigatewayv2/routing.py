"""Route selection of an HTTP API, as API Gateway does it.

A route key is ``METHOD /path`` (``ANY`` for every method) or ``$default``. Path segments
are literals, ``{name}`` (one segment) or a last ``{name+}`` (the rest of the path, one
segment or more). API Gateway picks, among the routes that match method and path:

1. a full match (no path variables), then
2. a match with path variables (``{id}``), then
3. a match with a greedy path variable (``{proxy+}``), and finally
4. ``$default``.

Within one of those classes the route with more literal segments wins, and a route with
a specific method beats ``ANY``.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class RouteMatch:
    """The selected route: its key, its target and the path parameters it bound."""

    route_key: str
    target: str
    authorization_type: str
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Template:
    method: str
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, route_key: str) -> _Template | None:
        method, _, path = route_key.strip().partition(" ")
        if not path.startswith("/"):
            return None
        segments = tuple(s for s in path.split("/") if s)
        return cls(method.upper(), segments)

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1].startswith("{") and self.segments[-1].endswith("+}")

    @property
    def variables(self) -> int:
        return sum(1 for s in self.segments if s.startswith("{") and s.endswith("}"))

    def match(self, segments: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for index, pattern in enumerate(self.segments):
            is_var = pattern.startswith("{") and pattern.endswith("}")
            if is_var and pattern.endswith("+}"):
                rest = segments[index:]
                if not rest or index != len(self.segments) - 1:
                    return None
                params[pattern[1:-2]] = "/".join(rest)
                return params
            if index >= len(segments):
                return None
            if is_var:
                params[pattern[1:-1]] = segments[index]
            elif pattern != segments[index]:
                return None
        return params if len(segments) == len(self.segments) else None


def select_route(routes: list[tuple[str, str, str]], method: str, path: str) -> RouteMatch | None:
    """The route for ``method path`` among ``(route_key, target, authorization_type)``.

    ``path`` is the decoded request path below the stage (as WSGI's ``PATH_INFO``).
    """
    segments = [s for s in path.split("/") if s]
    best: tuple[tuple[int, int, int, int], RouteMatch] | None = None
    default: RouteMatch | None = None
    for route_key, target, auth in routes:
        if route_key == DEFAULT_ROUTE:
            default = RouteMatch(route_key, target, auth, {})
            continue
        template = _Template.parse(route_key)
        if template is None or template.method not in (method.upper(), "ANY"):
            continue
        params = template.match(segments)
        if params is None:
            continue
        literals = len(template.segments) - template.variables
        rank = (
            int(template.greedy),
            1 if template.variables and not template.greedy else 0,
            -literals,
            int(template.method == "ANY"),
        )
        if best is None or rank < best[0]:
            best = (rank, RouteMatch(route_key, target, auth, params))
    if best is not None:
        return best[1]
    return default

"""moto's random identifiers (its ``mock_random``, seedable through moto's API)."""

from __future__ import annotations


def random_lowercase_id() -> str:
    """A random string of lower-case letters, as moto makes its stream versions."""
    from moto.moto_api._internal import mock_random

    return str(mock_random.get_random_string(include_digits=False, lower_case=True))

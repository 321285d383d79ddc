"""The AWS managed policy a request names is read on its own, as the whole catalogue has it."""

from __future__ import annotations

import json


def test_one_policy_is_read_as_the_catalogue_has_it_without_parsing_the_catalogue() -> None:
    import emulation.iam.managed_policies as managed
    from emulation.core.moto_compat import speedups

    speedups.install()
    managed._catalog.cache_clear()
    catalogue = json.loads(managed._documents())
    assert len(catalogue) > 1000
    for name, entry in catalogue.items():
        path = entry.get("Path", "/")
        assert managed._lookup(path, name) == (name, entry), name
        assert managed._lookup(f"{path}elsewhere/", name) is None, name
    assert managed._lookup("/", "NoSuchPolicyOfAws") is None
    assert managed._catalog.cache_info().currsize == 0  # never parsed whole

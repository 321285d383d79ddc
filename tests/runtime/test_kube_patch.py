"""The Kubernetes API's pure parts: patches, apply's three-way merge, selectors, names (in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulation.runtime.exceptions import ManifestError
from emulation.runtime.kube.errors import BadRequestError
from emulation.runtime.kube.patch import PatchError, json_patch, merge_patch, strategic_merge, three_way
from emulation.runtime.kube.selectors import field_matcher, label_matcher
from emulation.runtime.manifests import load_manifests

DEPLOYMENT = {
    "spec": {
        "replicas": 1,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "a:1",
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    },
                    {"name": "side", "image": "s:1"},
                ]
            }
        },
    }
}


def test_strategic_merge_merges_containers_by_name() -> None:
    """A strategic patch of one container changes that container only; env merges by name."""
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "env": [{"name": "C", "value": "3"}]}]}}
        }
    }
    out = strategic_merge(DEPLOYMENT, patch)
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["app", "side"]
    assert [e["name"] for e in containers[0]["env"]] == ["A", "B", "C"]
    assert containers[0]["image"] == "a:1"


def test_strategic_merge_directives_delete_and_order() -> None:
    """``$patch: delete`` removes a list item by key; ``$setElementOrder`` orders the list."""
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}],
                    "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
                }
            }
        }
    }
    out = strategic_merge(DEPLOYMENT, patch)
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["side", "app"]
    assert [e["name"] for e in containers[1]["env"]] == ["B"]


def test_merge_patch_replaces_lists_and_null_deletes() -> None:
    """A JSON merge patch replaces a list whole and deletes a key set to null."""
    out = merge_patch(DEPLOYMENT, {"spec": {"replicas": None, "template": {"spec": {"containers": []}}}})
    assert "replicas" not in out["spec"] and out["spec"]["template"]["spec"]["containers"] == []


def test_json_patch_operations_and_a_failed_test() -> None:
    """JSON patch replace/add/remove apply in order; a failing ``test`` refuses the whole patch."""
    out = json_patch(DEPLOYMENT, [
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/spec/paused", "value": True},
        {"op": "remove", "path": "/spec/template/spec/containers/1"},
    ])  # fmt: skip
    assert out["spec"]["replicas"] == 3 and out["spec"]["paused"] is True
    assert len(out["spec"]["template"]["spec"]["containers"]) == 1
    with pytest.raises(PatchError):
        json_patch(DEPLOYMENT, [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert DEPLOYMENT["spec"]["replicas"] == 1  # the input is never changed


def test_three_way_keeps_live_values_the_manifest_did_not_change() -> None:
    """Apply: an unchanged field keeps its live value; a dropped one goes; a changed one is set."""
    last = {"spec": {"replicas": 1, "paused": False, "strategy": "A"}}
    live = {"spec": {"replicas": 4, "paused": False, "strategy": "A", "other": "x"}}
    new = {"spec": {"replicas": 1, "strategy": "B"}}
    assert three_way(live, last, new) == {"spec": {"replicas": 4, "strategy": "B", "other": "x"}}


def test_label_selectors() -> None:
    """=, !=, in, notin, exists and !key, as the API server reads them."""
    obj = {"metadata": {"labels": {"app": "web", "tier": "front"}}}
    for text, expected in (
        ("app=web", True), ("app==web,tier=front", True), ("app!=web", False), ("app in (web,api)", True),
        ("tier notin (front)", False), ("tier", True), ("!tier", False), ("missing!=x", True),
    ):  # fmt: skip
        assert label_matcher(text)(obj) is expected, text
    with pytest.raises(BadRequestError):
        label_matcher("app in web")


def test_field_selectors_are_the_indexed_ones() -> None:
    """metadata.name and a pod's status.phase select; an unknown field is a 400 naming the known ones."""
    pod = {"metadata": {"name": "p", "namespace": "n"}, "status": {"phase": "Running"}}
    assert field_matcher("metadata.name=p,status.phase!=Pending", "pods")(pod)
    with pytest.raises(BadRequestError) as err:
        field_matcher("spec.image=x", "pods")
    assert '"spec.image" is not a known field selector' in err.value.message


def test_invalid_object_names_are_refused(tmp_path: Path) -> None:
    """A Deployment named like a file (upper case, underscore) is refused at metadata.name."""
    folder = tmp_path / "m" / "k8s"
    folder.mkdir(parents=True)
    (folder / "bad.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: Bad_Namespace}\n")
    with pytest.raises(ManifestError) as err:
        load_manifests(tmp_path / "m")
    assert err.value.field == "metadata.name" and "RFC 1123" in err.value.problem


def test_merge_kubeconfig_keeps_the_users_other_contexts(tmp_path: Path) -> None:
    """--merge adds context nexus-local to the target and keeps its other entries and current context."""
    import yaml

    from nexuskit.config import KitSettings
    from nexuskit.controlplane.kubeconfig import kubeconfig_document, kubeconfig_path, merge_kubeconfig

    settings = KitSettings(port=1, state_dir=tmp_path / "state")
    path = kubeconfig_path(settings)
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(kubeconfig_document("https://127.0.0.1:1", "CA", tmp_path / "token")))
    target = tmp_path / "home" / "config"
    target.parent.mkdir()
    mine = {
        "apiVersion": "v1", "kind": "Config", "current-context": "work",
        "clusters": [{"name": "work", "cluster": {"server": "https://work.example"}}],
        "users": [{"name": "me", "user": {"token": "t"}}],
        "contexts": [{"name": "work", "context": {"cluster": "work", "user": "me"}}],
    }  # fmt: skip
    target.write_text(yaml.safe_dump(mine))
    merge_kubeconfig(settings, target)
    merged = yaml.safe_load(target.read_text())
    assert merged["current-context"] == "work"
    assert {c["name"] for c in merged["contexts"]} == {"work", "nexus-local"}
    assert {c["name"] for c in merged["clusters"]} == {"work", "nexus-local"}
    assert target.stat().st_mode & 0o077 == 0

"""inventory(): every resource of the stack with its state, without changing anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.params import StackSpec
from nexuskit.provision.provisioner import inventory, provision
from nexuskit.provision.resources import ResourceState

Aws = Callable[[str], Any]
CONTROL_PLANE_TYPES = (
    "ec2.vpc",
    "ec2.subnet",
    "ec2.internet_gateway",
    "ec2.nat_gateway",
    "ec2.flow_log",
    "ec2.route_table",
    "eks.cluster",
    "eks.nodegroup",
)


def _empty_account(target: AwsTarget) -> AwsTarget:
    """The same server as a role session in an account nothing was provisioned in."""
    creds = target.client("sts").assume_role(
        RoleArn="arn:aws:iam::111122223333:role/nexus-viewer", RoleSessionName="inventory"
    )["Credentials"]
    return target.with_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def test_before_provisioning_everything_is_missing(spec: StackSpec, target: AwsTarget) -> None:
    """On an empty account every resource is 'missing'."""
    states = inventory(spec, _empty_account(target))
    assert {s.state for s in states} == {"missing"}
    # the 66 resources provision() reports (the edge is nexuskit.edge's): 56, and the Glue jobs'
    # role, assets bucket, five code objects and three jobs
    assert len(states) == 66


def test_after_provisioning_everything_is_ready(
    spec: StackSpec, target: AwsTarget, first_run: list[ResourceState]
) -> None:
    """After provision every AWS-held resource is ready; network and cluster control plane."""
    states = inventory(spec, target)
    by_key = {(s.type, s.name): s for s in states}
    assert set(by_key) >= {(s.type, s.name) for s in first_run}
    for state in states:
        if state.type in CONTROL_PLANE_TYPES:
            assert state.state == "emulated: control plane only", state
        else:
            assert state.state == "ready", state


def test_ready_streams_show_shards_and_retention(
    spec: StackSpec, target: AwsTarget, first_run: list[ResourceState]
) -> None:
    """The inventory detail of a data stream is what the engine holds: shards and hours."""
    states = {s.name: s for s in inventory(spec, target) if s.type == "kinesis.stream"}
    assert states["nexus-dev-intake"].detail == "2 shards, 48 h"
    assert states["nexus-dev-client-intake"].detail == "1 shard, 24 h"


def test_a_deleted_resource_shows_missing(
    make_spec: Callable[..., StackSpec],
    target: AwsTarget,
    aws: Aws,
    first_run: list[ResourceState],
) -> None:
    """Deleting the client Firehose of a provisioned stack turns just that line 'missing'."""
    spec = make_spec(environment="gone", enable_eks=False)
    provision(spec, target)
    aws("firehose").delete_delivery_stream(DeliveryStreamName="nexus-gone-client-to-lake")
    missing = [s for s in inventory(spec, target) if s.state == "missing"]
    assert missing == [ResourceState("firehose.delivery_stream", "nexus-gone-client-to-lake", "missing")]


def test_states_serialise_for_status_json(spec: StackSpec, target: AwsTarget) -> None:
    """as_dict gives the {type, name, state, detail} objects `status --json` prints."""
    state = inventory(spec, target)[0]
    assert state.as_dict() == {
        "type": state.type,
        "name": state.name,
        "state": state.state,
        "detail": state.detail,
    }
    assert set(state.as_dict()) == {"type", "name", "state", "detail"}

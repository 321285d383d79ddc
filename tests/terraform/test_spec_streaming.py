"""Spec §2.3 streaming: Kinesis data and video streams, Firehose from Kinesis to bronze."""

from __future__ import annotations

from conftest import module_config
from tfstatic import Scope, expression, literal, module_scope

FIREHOSE = "aws_kinesis_firehose_delivery_stream"


def _s3(channel: str) -> dict:
    return module_config("streaming").resource(FIREHOSE, channel)["extended_s3_configuration"][0]


def test_data_stream_shards_and_retention_follow_the_parameters(stack: Scope) -> None:
    """intake: 2 shards / 48 h and client-intake: 1 shard / 24 h, from the tfvars."""
    streaming = module_scope(stack, "streaming")
    expected = {
        "primary": ("intake", 2, 48),
        "client": ("client-intake", 1, 24),
    }
    for name, (suffix, shards, hours) in expected.items():
        stream = streaming.config.resource("aws_kinesis_stream", name)
        assert streaming.resolve(stream["name"]) == f"{stack.reference('local.prefix')}-{suffix}"
        assert streaming.resolve(stream["shard_count"]) == shards
        assert streaming.resolve(stream["retention_period"]) == hours
        assert literal(stream["stream_mode_details"][0]["stream_mode"]) == "PROVISIONED"


def test_video_stream_retention_is_24_and_12_hours(stack: Scope) -> None:
    """telemetry keeps 24 h, client-telemetry 12 h (spec §2.3)."""
    streaming = module_scope(stack, "streaming")
    retention = {
        name: streaming.resolve(
            streaming.config.resource("aws_kinesis_video_stream", name)["data_retention_in_hours"]
        )
        for name in ("telemetry", "client_telemetry")
    }
    assert retention == {"telemetry": 24, "client_telemetry": 12}


def test_video_streams_follow_their_flag() -> None:
    """Both video streams exist only when enable_video_streams is on."""
    streaming = module_config("streaming")
    for name in ("telemetry", "client_telemetry"):
        count = expression(streaming.resource("aws_kinesis_video_stream", name)["count"])
        assert count == "var.enable_video_streams ? 1 : 0"


def test_firehose_sources_its_kinesis_stream() -> None:
    """Each Firehose is KinesisStreamAsSource on its own data stream, delivering extended_s3."""
    streaming = module_config("streaming")
    for channel in ("primary", "client"):
        firehose = streaming.resource(FIREHOSE, channel)
        assert literal(firehose["destination"]) == "extended_s3"
        source = firehose["kinesis_source_configuration"][0]
        assert expression(source["kinesis_stream_arn"]) == f"aws_kinesis_stream.{channel}.arn"
        assert expression(source["role_arn"]) == "aws_iam_role.firehose.arn"


def test_firehose_delivers_gzip_to_bronze(stack: Scope) -> None:
    """Both Firehose streams write GZIP objects to the bronze bucket with the tfvars buffering."""
    streaming = module_scope(stack, "streaming")
    assert expression(stack.config.module("streaming")["bronze_bucket_arn"]) == (
        "module.datalake.bronze_bucket_arn"
    )
    for channel in ("primary", "client"):
        s3 = _s3(channel)
        assert expression(s3["bucket_arn"]) == "var.bronze_bucket_arn"
        assert streaming.resolve(s3["compression_format"]) == "GZIP"
        assert streaming.resolve(s3["buffering_size"]) == stack.variables["firehose_buffering_size_mb"]
        assert (
            streaming.resolve(s3["buffering_interval"])
            == (stack.variables["firehose_buffering_interval_seconds"])
        )


def test_bronze_output_is_the_bronze_bucket() -> None:
    """The datalake output Firehose delivers to is the bronze tier's bucket."""
    output = module_config("datalake").outputs["bronze_bucket_arn"]
    assert expression(output["value"]) == 'aws_s3_bucket.tier["bronze"].arn'


def test_client_firehose_writes_under_client_prefix(stack: Scope) -> None:
    """The client Firehose writes under client/ (from client_firehose_prefix); primary at the root."""
    streaming = module_scope(stack, "streaming")
    assert streaming.resolve(_s3("client")["prefix"]) == "client/"
    assert "prefix" not in _s3("primary")


def test_firehose_logs_to_the_spec_log_groups(stack: Scope) -> None:
    """Delivery logging is on, into /aws/kinesisfirehose/PREFIX-firehose and -client-firehose."""
    module = stack.config.module("streaming")
    for channel in ("primary", "client"):
        logging = _s3(channel)["cloudwatch_logging_options"][0]
        assert literal(logging["enabled"]) is True
        assert expression(logging["log_group_name"]) == f"var.{channel}_firehose_log_group.name"
        assert expression(module[f"{channel}_firehose_log_group"]) == (
            f"module.observability.{channel}_firehose_log_group"
        )


def test_error_prefixes_match_the_embedded_provisioner(stack: Scope, env: str) -> None:
    """Failed deliveries go under the same ErrorOutputPrefix in Terraform and locally."""
    from nexuskit.params import load_stack
    from nexuskit.provision.streaming import firehose_destination

    spec = load_stack(env=env)
    streaming = module_scope(stack, "streaming")
    for name, client in (("primary", False), ("client", True)):
        expected = firehose_destination(spec, "123456789012", client)["ErrorOutputPrefix"]
        assert streaming.resolve(_s3(name)["error_output_prefix"]) == expected

"""Firehose delivery from a Kinesis source: what moto accepts but never runs.

moto stores a ``KinesisStreamAsSource`` delivery stream and never reads its source. This
package adds the delivery: a supervisor keeps one worker per such stream; each worker
reads every shard of the source from moto's Kinesis backend, buffers by the stream's
``BufferingHints``, compresses, and writes objects to the destination bucket through
moto's S3 backend with AWS's key layout. Per-shard checkpoints are persisted with the
engine's snapshots, so delivery is exactly once through a ``kill -9``.

``delivery`` holds the configuration, key layout and compression (pure functions),
``models`` the workers and their state, ``extension`` the engine extension.
"""

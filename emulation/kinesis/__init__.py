"""Kinesis Data Streams fidelity: per-shard throughput limits and records on disk.

moto stores Kinesis records in memory and never throttles a shard, and a record it accepted
is only as durable as the engine's last snapshot. This package puts AWS's per-shard limits
in front of PutRecord, PutRecords and GetRecords, keeps every shard's records in
append-only segment files (:mod:`emulation.kinesis.segments`: bounded memory, retention,
snapshots that refer to records instead of carrying them), and writes accepted records
there before answering, so a put that got a 200 survives ``kill -9`` of the engine.
"""

"""Kinesis Data Streams fidelity: per-shard throughput limits and a write-ahead journal.

moto stores Kinesis records but never throttles a shard, and a record it accepted is only
as durable as the engine's last snapshot. This package puts AWS's per-shard limits in
front of PutRecord, PutRecords and GetRecords, writes accepted records straight into
moto's shards (so it knows their sequence numbers), and journals every accepted put
before answering, so a put that got a 200 survives ``kill -9`` of the engine.
"""

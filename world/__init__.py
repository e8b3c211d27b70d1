"""The local AWS world: moto server plus an S3 replication engine, on 127.0.0.1.

Account A (source) and account B (destination) live in one moto server. moto stores replication
configurations but never replicates; `engine` does, the way S3 does, and `middleware` adds what
moto lacks (fixed per-account access keys, throttling faults, a faithful GetBucketReplication,
request counting). `python -m world` runs it; `world.scenario` builds the classic bucket pairs.
"""

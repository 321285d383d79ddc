"""Shared logic of the medallion jobs (shipped to Glue as ``nexus_medallion-<v>.whl``).

Modules: :mod:`.datasets` (the dataset files users edit: routing, fields, checks) and
:mod:`.evolution` (which edits silver can take), :mod:`.schemas` (the fixed schemas and the
producer contract), :mod:`.store` (object stores), :mod:`.layout` (keys), :mod:`.commit`
(staging, manifests, recovery), :mod:`.bronze` (what to read: watermarks, versions),
:mod:`.decode` (objects to JSON lines), :mod:`.records`, :mod:`.parse` and
:mod:`.validate` (records to typed rows), :mod:`.writer` (dedupe, Parquet), :mod:`.silver`,
:mod:`.gold`, :mod:`.insights` (the three steps), :mod:`.compact` (small files merged),
:mod:`.catalog` (Glue Data Catalog), :mod:`.enrichment` (agent-core's findings),
:mod:`.job` (Glue arguments).

Runs on Python 3.9 (Glue Python shell): 3.9 syntax at run time, ``from __future__ import
annotations`` everywhere.
"""

VERSION = "1.1.0"

"""Shared logic of the medallion jobs (shipped to Glue as ``nexus_medallion-<v>.whl``).

Modules: :mod:`.schemas` (the record contract and every tier's Arrow schema),
:mod:`.store` (object stores), :mod:`.layout` (keys), :mod:`.commit` (staging, manifests,
recovery), :mod:`.parse` and :mod:`.validate` (bronze records), :mod:`.silver`,
:mod:`.gold`, :mod:`.insights` (the three steps), :mod:`.catalog` (Glue Data Catalog),
:mod:`.enrichment` (agent-core's findings), :mod:`.job` (Glue arguments).

Runs on Python 3.9 (Glue Python shell): 3.9 syntax at run time, ``from __future__ import
annotations`` everywhere.
"""

VERSION = "1.0.0"

"""The medallion lake: access under Lake Formation grants, catalogue, SQL, promotion.

Modules (import what you need; nothing heavy is imported here):

:mod:`.access`    ``Lake`` - the lake of one stack as one identity; its ``store`` checks the
                  caller's grants before every S3 call (``LakeAccessDenied``)
:mod:`.grants`    the default grants matrix, ``apply_grants(spec, target)`` (called by
                  ``up``), ``load_grants`` and ``grants_matrix``
:mod:`.catalog`   Glue databases (one per tier) and tables (one per dataset)
:mod:`.promote`   ``promote(lake, to=...)``: the jobs in-process or as Glue job runs
:mod:`.glue`      the jobs' Glue role, code upload (wheel), job definitions and runs
:mod:`.query`     ``run_query(lake, sql)``: DuckDB over committed Parquet (``tier.dataset``)
:mod:`.browse`    ``list_lake``, ``inspect``, ``stats``
:mod:`.schemas`   the record contract for producers
:mod:`.sample`    synthetic records and Firehose-shaped bronze objects
:mod:`.errors`    ``LakeError`` and its subclasses

The jobs themselves live in ``services/medallion`` (they ship to Glue without nexuskit).
"""

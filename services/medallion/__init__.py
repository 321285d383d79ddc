"""The medallion lake jobs: bronze -> silver -> gold -> vibranium.

Three Glue-compatible Python shell scripts (``bronze_to_silver.py``, ``silver_to_gold.py``,
``gold_to_vibranium.py``), each runnable as a Glue job run (``getResolvedOptions``
arguments, boto3 with the standard configuration) and importable for in-process runs
(``run(store, config)``). Their shared logic is the :mod:`services.medallion.lib` package
(boto3 and pyarrow only, no nexuskit), shipped to Glue as a wheel with
``--extra-py-files`` (``nexuskit.lake.glue`` builds and uploads it).
"""

"""nexuskit's stand-in for AWS Glue's ``awsglue`` library, for plain-Python job scripts.

It is put on the PYTHONPATH of local job runs only (never installed into site-packages).
``awsglue.utils.getResolvedOptions`` behaves like Glue's; ``awsglue.job.Job`` accepts
``init``/``commit``; ``awsglue.context`` needs Spark and says so when imported.
"""

"""aws-mcp (spec §2.4, §3.3, §3.5): the lake's tiers, Glue jobs, Bedrock and dissemination as MCP tools.

``python -m services.mcp.aws_mcp [--allow-write]``. It calls AWS only through boto3 with
the pod's standard configuration, so locally it runs with the IRSA credentials the
runtime issues for the ``aws-mcp`` service account and in EKS with the real role.

Read tools: ``lake_tiers``, ``lake_inventory``, ``lake_list_objects``, ``lake_read_object``,
``glue_list_jobs``, ``glue_get_job_run``, ``bedrock_invoke_model``,
``dissemination_deliveries``. Write tools (``--allow-write``): ``lake_write_json``,
``lake_write_enrichment``, ``glue_start_job_run``, ``disseminate``,
``dissemination_redeliver``.
"""

"""``awsglue.context`` needs Apache Spark, which nexuskit's local Glue runner does not have."""

raise ImportError(
    "awsglue.context (GlueContext) needs Apache Spark, which nexuskit's local Glue runs do not "
    "provide: local glueetl and pythonshell jobs must be plain Python (boto3, pyarrow, ...)"
)

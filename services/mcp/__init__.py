"""The four MCP services of spec §2.4 (aws, custom, database, k8s) and their shared bits."""

"""agent-core's clients: MCP sessions to the four services, and Bedrock with its own role."""

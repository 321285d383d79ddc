"""nexus-ui: the operator web interface (spec §2.4, §2.5, §3.5). See ``app.create_app``."""

"""Files put on the PYTHONPATH of local Glue job runs (never imported by the engine)."""

"""Example user templates (YAML), shipped with the package."""

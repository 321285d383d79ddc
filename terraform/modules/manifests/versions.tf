terraform {
  required_version = ">= 1.11.0"

  # No provider: this module only reads files and computes.
  required_providers {}
}

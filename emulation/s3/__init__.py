"""S3 bucket configuration answers moto leaves incomplete (see :mod:`.extension`)."""

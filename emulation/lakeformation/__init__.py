"""Lake Formation enforcement for the engine's S3 data plane.

moto stores Lake Formation grants but enforces none. :func:`.enforcement.lake_formation_allows`
decides, for a principal, a bucket (and key) and an S3 action, whether Lake Formation
lets the call through; :func:`.state.grants_from_moto` builds the grants it needs from
moto's Lake Formation and Glue state. The IAM extension calls both after IAM allowed an
S3 request (see the module docs of :mod:`.enforcement`).
"""

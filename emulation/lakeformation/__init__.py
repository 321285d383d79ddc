"""Lake Formation in the engine: moto's service, plus what it lacks.

* :mod:`.extension` / :mod:`.models`: ``RevokePermissions`` answered as AWS answers it
  (``InvalidInputException`` when the grantee holds nothing to revoke).
* :mod:`.enforcement` / :mod:`.state`: only with ``--lake-formation strict`` (a local mode,
  stricter than AWS): direct S3 data calls on registered locations also need a Lake
  Formation grant. :func:`.enforcement.lake_formation_allows` decides, for a principal, a
  bucket (and key) and an S3 action; :func:`.state.grants_from_moto` builds the grants it
  needs from moto's Lake Formation and Glue state; the IAM extension calls both after IAM
  allowed an S3 request. In AWS (and by default here) registering a location does not
  govern direct S3 calls that IAM allows: Lake Formation governs its catalog, the query
  engines and the credentials it vends.
"""

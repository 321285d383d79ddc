"""The stack's edge: the auth Lambda behind its HTTP API, and bearer tokens.

:mod:`~nexuskit.edge.auth` deploys and finds the auth function and the HTTP API of a stack,
:mod:`~nexuskit.edge.deploy` deploys any Lambda function behind an HTTP API,
:mod:`~nexuskit.edge.package` builds the function's zip, :mod:`~nexuskit.edge.keys` rotates
the signing keys and :mod:`~nexuskit.edge.tokens` issues and verifies tokens as a client does.
"""

"""Bedrock runtime for the embedded engine: InvokeModel(WithResponseStream), Converse(Stream).

moto answers ``InvokeModel`` with ``{}``. This package serves the Anthropic Claude 3
family (Messages API) and Amazon Titan text and embeddings with Bedrock's request
validation, token counts and headers, a deterministic local model that is useful for the
Nexus workflows (event-batch summaries, entity extraction, tool use), a per-model quota,
and record/replay of real Bedrock answers.

Environment (read once when the engine starts):

``NEXUSKIT_BEDROCK``               ``local`` (default), ``replay`` or ``record``
``NEXUSKIT_BEDROCK_CASSETTES``     cassette directory (default ``scenarios/cassettes/bedrock``)
``NEXUSKIT_BEDROCK_RPM``           requests/minute per model: ``60`` or ``model=10,*=60``
                                   (unset or ``0``: no quota)
``NEXUSKIT_BEDROCK_RECORD_PROFILE`` AWS profile record mode uses (default credential chain)
``NEXUSKIT_BEDROCK_RECORD_ENDPOINT`` endpoint record mode forwards to (default: real
                                   Bedrock in the request's region)
``NEXUSKIT_BEDROCK_RESPONDERS``    ``pattern=module:factory;...`` extra local responders

Modules: :mod:`.catalog` (models), :mod:`.validation`, :mod:`.prompt` (the common request
view, token counter), :mod:`.responders` (the local model) with :mod:`.telemetry`,
:mod:`.entities` and :mod:`.embeddings`, :mod:`.formats` (API shapes), :mod:`.eventstream`
(binary framing), :mod:`.cassettes` and :mod:`.recorder` (replay/record), :mod:`.models`
(the operations), :mod:`.responses` (HTTP), :mod:`.extension` (the engine hook).
"""

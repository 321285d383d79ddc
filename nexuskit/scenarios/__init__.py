"""Scenarios: record, replay and verify the platform's flows (``scenarios/*.yaml``).

Modules (nothing heavy is imported here):

:mod:`.model`         the format (pydantic) - scenario, stack profile, the step types
:mod:`.schema`        its JSON Schema (``scenarios/schema.json``)
:mod:`.loader`        loading files with errors naming file, line, step and field
:mod:`.templating`    ``{{ steps.tok.credentials.AccessKeyId }}``, ``$repeat``, ``$json``
:mod:`.steps`         one implementation per step type
:mod:`.normalise`     snapshot normalisers (ids, timestamps, ARNs, sequence numbers...)
:mod:`.snapshots`     snapshot files next to the scenarios
:mod:`.stacks`        the current stack, or fresh ones per profile
:mod:`.capabilities`  ``requires:`` - what this checkout and stack can do
:mod:`.runner`        ``run_scenario``, ``run_suite``, ``run_paths`` (live events by callback)
:mod:`.results`       outcomes, failures, ``render_failure``
:mod:`.junit`         the JUnit XML report
:mod:`.template`      ``scenario new``
"""

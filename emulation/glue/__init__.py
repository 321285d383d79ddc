"""Glue job runs for the embedded engine: StartJobRun really runs the job's script.

moto stores jobs and fakes their runs. Here ``pythonshell`` jobs, and ``glueetl`` jobs
whose script is plain Python, run as local processes with the job's default and run
arguments (an ``awsglue`` shim provides ``getResolvedOptions``), the job Role's STS
credentials and the engine as endpoint; their output lands in CloudWatch Logs and their
state, error message and execution time in GetJobRun(s). ``Timeout``,
``MaxConcurrentRuns`` and ``BatchStopJobRun`` behave as on AWS.

Modules: :mod:`.models` (the run and StartJobRun), :mod:`.runner` (processes),
:mod:`.logs` (CloudWatch), :mod:`.responses` (HTTP), :mod:`.exceptions`,
:mod:`.extension` (the engine hook, ``NEXUSKIT_GLUE_TIMEOUT_SCALE``), ``shim/awsglue``.
"""

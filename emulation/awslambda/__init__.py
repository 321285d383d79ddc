"""Lambda runtime: ``Invoke`` of Python zip functions in warm worker processes.

Layout as in moto: :mod:`.models` (function snapshots, code cache, sandbox pools, logs),
:mod:`.extension` (the engine extension that parses the Lambda API calls it takes over),
:mod:`.exceptions` (one class per AWS error code), :mod:`.sandbox` (one worker process)
and :mod:`.bootstrap` (the program inside the worker process).
"""

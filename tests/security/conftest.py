"""The attacker's side of the security model (README, "Security model").

Each test replays a hostile local client against real servers: the session's shared
stack (``stack``, from ``tests/conftest.py``: ``nexuskit up --local``, IAM enforced) or
engines of their own (``engine_factory``). A refused call must be refused, and nothing
may have been written or disclosed.
"""

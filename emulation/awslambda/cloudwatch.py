"""Writing log events into moto's CloudWatch Logs backend from inside the engine.

The Lambda runtime (function logs) and the HTTP API data plane (access logs) write as AWS
services do: straight into the log group, not through the API. moto's log streams are not
thread-safe, so every write goes through one lock, and holds the engine's state lock
shared like any request does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

_WRITE_LOCK = threading.Lock()


def now_ms() -> int:
    return int(time.time() * 1000)


def put_log_events(
    engine: EngineApp,
    account_id: str,
    region: str,
    group: str,
    stream: str,
    messages: Iterable[tuple[int, str]],
    *,
    create_group: bool,
) -> bool:
    """Append ``(timestamp_ms, message)`` events to ``group``/``stream``.

    The stream is created when missing; the group too when ``create_group`` (Lambda
    does that for its own log group; API Gateway access logs need an existing group).
    Returns False when the group does not exist and was not created.
    """
    events = [{"timestamp": ts, "message": message} for ts, message in messages if message != ""]
    if not events:
        return True
    with engine.state_lock.shared(), _WRITE_LOCK:
        logs = engine.backend("logs", region, account_id)
        if group not in logs.groups:
            if not create_group:
                return False
            logs.ensure_log_group(group)
        log_group = logs.groups[group]
        if stream not in log_group.streams:
            log_group.create_log_stream(stream)
        log_group.streams[stream].put_log_events(events)
    engine.mark_dirty("logs")
    return True

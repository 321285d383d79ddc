"""ReplicaSets: one per pod template a Deployment has run, numbered by revision.

What the Kubernetes Deployment controller keeps, and what ``kubectl rollout history`` and
``kubectl rollout undo`` read: each distinct pod template (its ``pod-template-hash``)
becomes a :class:`ReplicaSetRecord` named ``<deployment>-<hash>`` with the next revision
number. Going back to an older template (``rollout undo``) reuses its ReplicaSet and gives
it the next revision (the old number moves to ``revision-history``). ReplicaSets without
pods beyond ``revisionHistoryLimit`` (default 10) are forgotten, oldest first.

A ReplicaSet carries the Deployment's annotations of the moment it became current (so
``kubernetes.io/change-cause`` and ``nexuskit.dev/*`` travel with its template), without
``kubectl.kubernetes.io/last-applied-configuration`` and the ``deployment.kubernetes.io/*``
bookkeeping.
"""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DEFAULT_HISTORY_LIMIT = 10


def copied_annotations(annotations: dict[str, str]) -> dict[str, str]:
    """The Deployment annotations a new ReplicaSet inherits."""
    return {
        k: v
        for k, v in annotations.items()
        if k != LAST_APPLIED and not k.startswith("deployment.kubernetes.io/")
    }


@dataclass
class ReplicaSetRecord:
    name: str
    template_hash: str
    template: dict[str, Any]
    revision: int
    annotations: dict[str, str]
    created: float = field(default_factory=time.time)
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    older_revisions: list[int] = field(default_factory=list)


class RolloutHistory:
    """The ReplicaSets of every Deployment, by ``namespace/name`` then template hash."""

    def __init__(self) -> None:
        self.sets: dict[str, dict[str, ReplicaSetRecord]] = {}

    def observe(
        self, key: str, name: str, template_hash: str, template: dict[str, Any], annotations: dict[str, str]
    ) -> ReplicaSetRecord:
        """``template_hash`` is now the Deployment's template: its ReplicaSet, at the newest revision."""
        records = self.sets.setdefault(key, {})
        newest = max((r.revision for r in records.values()), default=0)
        record = records.get(template_hash)
        if record is None:
            record = ReplicaSetRecord(
                f"{name}-{template_hash}",
                template_hash,
                copy.deepcopy(template),
                newest + 1,
                copied_annotations(annotations),
            )
            records[template_hash] = record
        elif record.revision != newest:
            record.older_revisions.append(record.revision)
            record.revision = newest + 1
            record.annotations = copied_annotations(annotations)
        return record

    def records(self, key: str) -> list[ReplicaSetRecord]:
        return sorted(self.sets.get(key, {}).values(), key=lambda r: r.revision)

    def find(self, key: str, template_hash: str) -> ReplicaSetRecord | None:
        return self.sets.get(key, {}).get(template_hash)

    def prune(self, key: str, keep: set[str], limit: int) -> None:
        """Forget the oldest ReplicaSets outside ``keep`` (those with pods, the current) past ``limit``."""
        records = self.sets.get(key, {})
        idle = sorted((r for h, r in records.items() if h not in keep), key=lambda r: r.revision)
        for record in idle[: max(0, len(idle) - limit)]:
            del records[record.template_hash]

    def forget(self, key: str) -> None:
        self.sets.pop(key, None)

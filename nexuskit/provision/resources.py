"""What provisioning and inventory report: one :class:`ResourceState` per resource."""

from __future__ import annotations

from dataclasses import dataclass

# provision() outcomes
CREATED = "created"
EXISTS = "exists"
UPDATED = "updated"

# inventory() outcomes
READY = "ready"
MISSING = "missing"
CONTROL_PLANE_ONLY = "emulated: control plane only"
NOT_EMULATED = "not emulated"


@dataclass(frozen=True)
class ResourceState:
    """One resource of the stack and what happened to it (or how it stands).

    ``state`` is ``created``, ``exists`` or ``updated`` from :func:`provision`, and
    ``ready``, ``missing``, ``emulated: control plane only`` or ``not emulated`` from
    :func:`inventory`. ``detail`` is a short human note such as ``2 shards, 48 h``.
    """

    type: str
    name: str
    state: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "name": self.name, "state": self.state, "detail": self.detail}


def present(type_: str, name: str, found: bool, detail: str = "") -> ResourceState:
    """An inventory line: ``ready`` when found, else ``missing``."""
    return ResourceState(type_, name, READY if found else MISSING, detail if found else "")


def control_plane(type_: str, name: str, found: bool, detail: str = "") -> ResourceState:
    """An inventory line for a record the engine holds without running it."""
    return ResourceState(type_, name, CONTROL_PLANE_ONLY if found else MISSING, detail if found else "")

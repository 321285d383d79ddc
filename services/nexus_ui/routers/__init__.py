"""One APIRouter per resource: pages, session, telemetry, workflows, lake, health."""

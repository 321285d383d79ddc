"""One APIRouter per resource: workflows and runs, the catalogue, health, metrics."""

"""One router module per resource; ``ROUTERS`` is the order the app mounts them in."""

from frugalstack.cloud.routers import (
    artifacts,
    audit,
    dashboard,
    datasets,
    deployments,
    devices,
    experiments,
    gateway,
    governance,
    health,
    keys,
    lineage,
    model_versions,
    models,
    runs,
    telemetry,
)

ROUTERS = [m.router for m in (health, keys, devices, audit, models, model_versions, artifacts, runs, deployments,
                              datasets, lineage, telemetry, gateway, governance, experiments, dashboard)]

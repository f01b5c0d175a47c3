"""Federated learning in the cloud: the Flower ServerApp, its strategies, the privacy accountant, runners.

Heavy imports (flwr, ray) happen inside the modules that need them. Flower reads its telemetry switch when
it is first imported, so it is turned off here, before any submodule imports flwr (an explicit setting of
the variables wins); Ray's usage stats likewise.
"""

import os as _os

for _name in ("FLWR_TELEMETRY_ENABLED", "RAY_USAGE_STATS_ENABLED"):
    _os.environ.setdefault(_name, "0")

"""Federated learning on the device: a Flower ClientApp that trains small heads on local data.

Nothing here is imported by ``frugalstack.edge``; ``flwr`` is imported only inside
:mod:`frugalstack.edge.fl.client`, so devices without the ``fl`` extra still run everything else. Flower's
telemetry (read once, at its first import) is switched off unless the environment says otherwise.
"""

import os as _os

_os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")

"""The end-to-end demo (``frugal demo`` / ``make demo``): cloud, fleet, federated round, report.

``run_demo(out_dir)`` is in :mod:`frugalstack.cloud.demo.run`; the steps live one per module (server, seed,
device, learning, figures, report) so each stays small and testable.
"""

from frugalstack.cloud.demo.run import run_demo

__all__ = ["run_demo"]

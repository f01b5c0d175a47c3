"""Wire schemas, types and the error hierarchy shared by the edge and the cloud.

Nothing here imports a runtime, a web framework or the cloud: both sides depend on it.
"""

from frugalstack.shared.errors import FrugalError

__all__ = ["FrugalError"]

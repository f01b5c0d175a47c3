"""Model evaluation as the gate to production: task quality, toxicity, bias, robustness and efficiency of one
artifact in one record (``frugal eval run``), comparable across artifacts (``frugal eval compare``) and checked
by the cloud registry before a version reaches ``production``.

Nothing here imports torch, fastapi or a backend runtime at import time; models load when a run starts.
"""

SUITE_SCHEMA_VERSION = 1

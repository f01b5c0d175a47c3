"""Shared by the edge tests: ``tests/edge/live_server.py`` (a real uvicorn on 127.0.0.1), loaded once.

Tests are no package (no ``__init__.py``, ``--import-mode=importlib``), so the file is loaded by path here, in
the parent conftest pytest always imports before the server and reliability conftests, which then read it
with ``sys.modules[LIVE_SERVER]``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

LIVE_SERVER = "frugal_tests_live_server"

if LIVE_SERVER not in sys.modules:
    _spec = importlib.util.spec_from_file_location(LIVE_SERVER, Path(__file__).with_name("live_server.py"))
    assert _spec and _spec.loader
    sys.modules[LIVE_SERVER] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[LIVE_SERVER])

"""One guard pipeline per session: Presidio/spaCy and MiniLM load once (seconds), every test reuses them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def guard():  # type: ignore[no-untyped-def]
    from frugalstack.edge.guard.pipeline import GuardPipeline

    return GuardPipeline().warm()

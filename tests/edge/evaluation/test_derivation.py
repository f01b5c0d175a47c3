"""A record of a ``--derive`` artifact says what it was made from, so an f16 made from Q4_1 is never read as
an original f16."""

from __future__ import annotations

from pathlib import Path

from frugalstack.edge.cli.eval import _derivation
from frugalstack.optimizers.checkpoint import file_sha256


def test_derivation_names_the_source_and_the_caveat(smollm2_path: Path) -> None:
    d = _derivation("smollm2-135m-instruct-q4_1", "f16")
    assert d["source_file"] == smollm2_path.name and d["source_sha256"] == file_sha256(smollm2_path)
    assert d["quantization"] == "f16" and "cannot restore" in d["note"] and "lower bound" in d["note"]
    assert _derivation(str(smollm2_path), "f16")["source_sha256"] == d["source_sha256"]  # a path works too

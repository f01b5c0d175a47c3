"""``frugal fl simulate`` end to end on the in-process engine, and its errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from frugalstack.edge.cli.main import app

runner = CliRunner()


def test_simulate_inprocess_prints_the_comparison_and_writes_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.json"
    res = runner.invoke(
        app,
        [
            "fl",
            "simulate",
            "--engine",
            "inprocess",
            "--clients",
            "6",
            "--rounds",
            "2",
            "--clip",
            "1.0",
            "--noise",
            "0.5",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "centralized (upper bound)" in res.output and "local-only" in res.output
    assert "ε =" in res.output
    report = json.loads(out.read_text())
    assert report["privacy"]["epsilon_local"] > report["privacy"]["epsilon_central"] > 0
    assert len(report["rounds"]) == 2


def test_unknown_task_and_missing_clip_are_config_errors() -> None:
    res = runner.invoke(app, ["fl", "simulate", "--engine", "inprocess", "--task", "nope"])
    assert res.exit_code != 0 and "unknown task" in str(res.exception)
    res = runner.invoke(app, ["fl", "simulate", "--engine", "inprocess", "--noise", "1.0"])
    assert res.exit_code != 0 and "clipping bound" in str(res.exception)

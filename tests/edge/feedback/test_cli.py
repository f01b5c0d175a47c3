"""``frugal edge feedback list|purge|export|consent`` on a real database."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from frugalstack.edge.cli.main import app
from frugalstack.edge.feedback.store import FeedbackStore


def test_feedback_cli(tmp_path: Path) -> None:
    db = tmp_path / "fb.db"
    runner = CliRunner()
    res = runner.invoke(app, ["edge", "feedback", "consent", "carol", "--grant", "--db", str(db)])
    assert res.exit_code == 0, res.output
    with FeedbackStore(db, min_bucket=1) as s:
        s.record("trace-1", user_id="carol", thumbs="up", rating=5)
        s.signal("trace-1", "clicked", user_id="carol", product_id="p-9")
    res = runner.invoke(app, ["edge", "feedback", "list", "--db", str(db), "--json"])
    rows = json.loads(res.stdout)
    assert res.exit_code == 0 and {r["kind"] for r in rows} == {"explicit", "implicit"}
    res = runner.invoke(app, ["edge", "feedback", "export", "--db", str(db)])
    agg = json.loads(res.stdout)
    assert agg["schema"] == "frugalstack.feedback.aggregate/1" and "trace-1" not in res.stdout
    out = tmp_path / "agg.json"
    assert runner.invoke(app, ["edge", "feedback", "export", "--db", str(db), "--out", str(out)]).exit_code == 0
    assert json.loads(out.read_text())["explicit_total"] is None  # 1 event < default min_bucket of 5
    res = runner.invoke(app, ["edge", "feedback", "purge", "--db", str(db), "--user", "carol"])
    assert res.exit_code == 0 and "purged 2 rows" in res.stdout
    res = runner.invoke(app, ["edge", "feedback", "list", "--db", str(db)])
    assert "no stored feedback" in res.stdout

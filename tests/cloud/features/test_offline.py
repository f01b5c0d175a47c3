"""Point-in-time correctness of the offline store against a hand-computed example with late rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frugalstack.cloud.db import Database
from frugalstack.cloud.features import offline
from frugalstack.edge.features.definitions import Feature, FeatureView, Repo, Source
from frugalstack.shared.errors import NotFoundError, ValidationError

VIEW = FeatureView(name="pstats", entity="product", ttl_s=100, source=Source(kind="ingest"),
                   features=[Feature(name="pop"), Feature(name="returns")])
# (entity, event_ts, created_ts, pop): B arrives late (event 20, received 50); D corrects C (same event, later).
ROWS = [("p1", 10, 11, 1.0), ("p1", 20, 50, 2.0), ("p1", 30, 31, 3.0), ("p1", 30, 45, 33.0), ("p2", 5, 6, 9.0)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path, pg_schema_factory: Any) -> Iterator[Database]:
    url = (f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{pg_schema_factory()}"
           if request.param == "postgres" else f"sqlite:///{tmp_path / 'f.db'}")
    database = Database(url)
    database.migrate()
    with database.write() as s:
        offline.apply(s, Repo(views=[VIEW]), "test")
        offline.ingest(s, VIEW, [{"entity_key": e, "event_ts": ev, "created_ts": cr, "values": {"pop": p}}
                                 for e, ev, cr, p in ROWS])
    yield database
    database.dispose()


def test_point_in_time_join_matches_the_hand_computed_answer(db: Database) -> None:
    entity_df = [{"product": "p1", "event_timestamp": 25}, {"product": "p1", "event_timestamp": 55},
                 {"product": "p1", "event_timestamp": 40}, {"product": "p1", "event_timestamp": 5},
                 {"product": "p2", "event_timestamp": 200}, {"product": "p3", "event_timestamp": 50}]
    with db.read() as s:
        got = offline.get_historical_features(s, entity_df, ["pstats:pop", "pstats:returns"])
        cut = offline.get_historical_features(s, entity_df, ["pstats:pop"], as_of=40)
    # t=25: B (event 20) only arrived at 50 -> A; t=55: D corrects C; t=40: D not yet arrived -> C;
    # t=5: nothing yet; p2 at t=200: its only row is 195 s old > TTL 100; p3: unknown.
    assert [r["pstats:pop"] for r in got] == [1.0, 33.0, 3.0, None, None, None]
    assert all(r["pstats:returns"] is None for r in got)  # a feature the rows never carried
    assert got[0]["product"] == "p1" and got[0]["event_timestamp"] == 25  # entity columns kept
    # knowledge cut-off at 40: the correction D (received 45) is invisible even for t=55
    assert [r["pstats:pop"] for r in cut] == [1.0, 3.0, 3.0, None, None, None]


def test_latest_values_for_materialization_respect_arrival_and_ttl(db: Database) -> None:
    with db.read() as s:
        assert offline.latest_values(s, VIEW, None, 46.0) == [("p1", 30.0, {"pop": 33.0}), ("p2", 5.0, {"pop": 9.0})]
        assert offline.latest_values(s, VIEW, ["p1"], 35.0) == [("p1", 30.0, {"pop": 3.0})]
        assert offline.latest_values(s, VIEW, None, 160.0) == []  # every row is past the 100 s TTL


def test_apply_versions_changed_definitions_and_bad_input_is_refused(db: Database) -> None:
    with db.write() as s:
        assert offline.apply(s, Repo(views=[VIEW]), "test")[0].version == 1  # unchanged: same version
        changed = VIEW.model_copy(update={"ttl_s": 200})
        assert offline.apply(s, Repo(views=[changed]), "test")[0].version == 2
        assert offline.get_view(s, "pstats").ttl_s == 200
        with pytest.raises(ValidationError):
            offline.ingest(s, VIEW, [{"entity_key": "p1", "event_ts": 1, "values": {"nope": 1}}])
        with pytest.raises(ValidationError):
            offline.ingest(s, VIEW, [{"entity_key": "p1", "event_ts": "yesterday", "values": {}}])
    with db.read() as s:
        with pytest.raises(NotFoundError):
            offline.get_historical_features(s, [{"product": "p1", "event_timestamp": 1}], ["other:pop"])
        with pytest.raises(ValidationError):
            offline.get_historical_features(s, [{"event_timestamp": 1}], ["pstats:pop"])
        with pytest.raises(ValidationError):
            offline.get_historical_features(s, [{"product": "p1", "event_timestamp": 1}], ["pstats:nope"])

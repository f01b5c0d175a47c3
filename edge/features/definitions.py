"""Feature definitions as code (Feast-like): entities and feature views, importable by cloud and device alike.

Nothing here imports the cloud: the device parses the same definitions to read a snapshot, and the cloud
uses them to compute, store and materialize. A feature is addressed as ``"view:feature"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from frugalstack.shared.errors import ValidationError

_NAME = r"^[a-z][a-z0-9_]{0,62}$"
DType = Literal["float", "int", "bool", "str", "list"]
SourceKind = Literal["dataset", "telemetry", "ingest", "device"]


class Entity(BaseModel):
    """What a feature row is keyed by (a product id, a category path, a locale, the device itself)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    join_key: str = Field(pattern=_NAME)
    description: str = ""


class Feature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    dtype: DType = "float"
    description: str = ""


class Source(BaseModel):
    """Where a view's rows come from: a dataset version, telemetry aggregates, pushed rows, or the device."""

    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    name: str = ""
    transformation: str | None = Field(default=None, description="name of a registered transformation")


class FeatureView(BaseModel):
    """A versioned group of features for one entity, with a TTL: older values are reported stale, not used."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    entity: str = Field(pattern=_NAME)
    features: list[Feature] = Field(min_length=1)
    source: Source
    ttl_s: int = Field(gt=0, description="a value older than this (by its event time) is stale")
    owner: str = ""
    description: str = ""
    version: int = Field(default=1, ge=1)

    @field_validator("features")
    @classmethod
    def _unique(cls, v: list[Feature]) -> list[Feature]:
        names = [f.name for f in v]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate feature names in {names}")
        return v

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def index(self, feature: str) -> int:
        try:
            return self.feature_names.index(feature)
        except ValueError:
            raise ValidationError(
                f"view {self.name!r} has no feature {feature!r}", details={"features": self.feature_names}
            ) from None


class Repo(BaseModel):
    """What ``frugal features apply`` registers: entities plus views."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "entities": [{"name": "category", "join_key": "category"}],
                    "views": [
                        {
                            "name": "category_quality",
                            "entity": "category",
                            "ttl_s": 604800,
                            "source": {"kind": "ingest", "name": "category_eval"},
                            "features": [{"name": "answer_quality"}, {"name": "escalation_rate"}],
                        }
                    ],
                }
            ]
        },
    )

    entities: list[Entity] = Field(default_factory=list)
    views: list[FeatureView] = Field(default_factory=list)

    def view(self, name: str) -> FeatureView:
        for v in self.views:
            if v.name == name:
                return v
        raise ValidationError(f"unknown feature view {name!r}", details={"views": [v.name for v in self.views]})


def parse_ref(ref: str) -> tuple[str, str]:
    """``"view:feature"`` -> (view, feature); anything else is a clear error."""
    m = re.fullmatch(r"([a-z][a-z0-9_]*):([a-z][a-z0-9_]*)", ref.strip())
    if not m:
        raise ValidationError(f"feature reference {ref!r} is not 'view:feature'")
    return m.group(1), m.group(2)


def group_refs(refs: Iterable[str]) -> dict[str, list[str]]:
    """Feature references grouped by view, order kept."""
    out: dict[str, list[str]] = {}
    for ref in refs:
        view, feat = parse_ref(ref)
        out.setdefault(view, []).append(feat)
    return out


# ---------------------------------------------------------------------------------------------------------------
# The shop's standard definitions: product, category and locale views computed in the cloud, and the device's own.
DAY = 86_400
PRODUCT = Entity(name="product", join_key="product_id", description="a catalog product id (p-00001)")
CATEGORY = Entity(name="category", join_key="category", description="a catalog category path")
LOCALE = Entity(name="locale", join_key="locale", description="a shop locale (en-IE)")
DEVICE = Entity(name="device", join_key="device_id", description="this device; never leaves it")

INTENTS: Sequence[str] = ("product_search", "product_question", "policy", "order", "chitchat")

PRODUCT_STATS = FeatureView(
    name="product_stats",
    entity="product",
    ttl_s=3 * DAY,
    owner="merchandising",
    source=Source(kind="dataset", name="shop_events", transformation="product_stats"),
    description="popularity, returns and price movement from the shop's event log",
    features=[
        Feature(name="category", dtype="str"),
        Feature(name="views_7d", dtype="int"),
        Feature(name="purchases_7d", dtype="int"),
        Feature(name="popularity", description="share of the slice's purchases in the last 7 days"),
        Feature(name="return_rate_30d"),
        Feature(name="price"),
        Feature(name="price_change_30d"),
        Feature(name="in_stock", dtype="bool"),
    ],
)
# Views pushed by ml-platform jobs (7-day TTL, ingested rows): one table row each, built the same way.
_PUSHED: dict[str, tuple[str, str, str, list[Feature]]] = {
    # name: (entity, source name, description, features)
    "category_quality": (
        "category",
        "category_eval",
        "how well the on-device model answers in a category (pushed by evaluation jobs)",
        [Feature(name="answer_quality"), Feature(name="escalation_rate"), Feature(name="requests_7d", dtype="int")],
    ),
    "locale_intents": (
        "locale",
        "intent_mix",
        "intent mix per locale over the last 7 days (pushed by the analytics job)",
        [Feature(name=f"share_{i}") for i in INTENTS],
    ),
}


def _pushed_view(name: str) -> FeatureView:
    entity, source, description, features = _PUSHED[name]
    return FeatureView(
        name=name,
        entity=entity,
        ttl_s=7 * DAY,
        owner="ml-platform",
        source=Source(kind="ingest", name=source),
        description=description,
        features=features,
    )


CATEGORY_QUALITY = _pushed_view("category_quality")
LOCALE_INTENTS = _pushed_view("locale_intents")
DEVICE_HISTORY = FeatureView(
    name="device_history",
    entity="device",
    ttl_s=30 * 60,
    owner="edge",
    source=Source(kind="device", name="local_history"),
    description="computed on the device from its own recent history; never uploaded",
    features=[
        Feature(name="recent_categories", dtype="list"),
        Feature(name="session_intent", dtype="str"),
        Feature(name="reask_rate"),
        Feature(name="queries_30m", dtype="int"),
        Feature(name="battery_pct"),
        Feature(name="on_battery", dtype="bool"),
        Feature(name="network", dtype="str"),
    ],
)

STANDARD = Repo(
    entities=[PRODUCT, CATEGORY, LOCALE, DEVICE],
    views=[PRODUCT_STATS, CATEGORY_QUALITY, LOCALE_INTENTS, DEVICE_HISTORY],
)


def load_repo(data: dict[str, Any] | None = None) -> Repo:
    """A repo from a parsed YAML/JSON mapping, or the standard one; entity references are checked."""
    repo = STANDARD if data is None else Repo.model_validate(data)
    known = {e.name for e in repo.entities} | {e.name for e in STANDARD.entities}
    for v in repo.views:
        if v.entity not in known:
            raise ValidationError(f"view {v.name!r} uses unknown entity {v.entity!r}")
    return repo

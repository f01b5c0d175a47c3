"""Transformations from sources to feature rows (registered by name, referenced by ``Source.transformation``).

``product_stats`` turns a shop event log (views, purchases, returns, price changes) plus the catalog into
one row per product per day. ``synth_events`` makes a deterministic event log from the sample catalog for
demos, tests and benchmarks (no real shop data ships with the project): popularity follows the product's
review count and rating, returns follow a low rating.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from frugalstack.edge.features.definitions import DAY

Row = dict[str, Any]


def synth_events(
    products: Sequence[Row], *, start: float, days: int = 30, seed: int = 0, views_per_day: int = 3000
) -> list[Row]:
    """A seeded event log: ``{product_id, ts, kind, price?}`` with kind view|purchase|return|price."""
    rng = random.Random(seed)
    weights = [math.log1p(float(p.get("review_count", 1))) * float(p.get("rating", 3.0)) ** 2 for p in products]
    events: list[Row] = []
    for d in range(days):
        day0 = start + d * DAY
        for p in rng.choices(products, weights=weights, k=views_per_day):
            t = day0 + rng.random() * DAY
            events.append({"product_id": p["id"], "ts": t, "kind": "view"})
            if p.get("in_stock", True) and rng.random() < 0.08:
                events.append({"product_id": p["id"], "ts": t + 60, "kind": "purchase"})
                if rng.random() < max(0.02, (4.6 - float(p.get("rating", 4))) / 6):
                    events.append({"product_id": p["id"], "ts": t + 5 * DAY, "kind": "return"})
        for p in rng.sample(list(products), k=max(1, len(products) // 100)):
            events.append(
                {
                    "product_id": p["id"],
                    "ts": day0 + 3600,
                    "kind": "price",
                    "price": round(float(p["price"]) * rng.uniform(0.8, 1.1), 2),
                }
            )
    return events


def product_stats(events: Sequence[Row], products: Sequence[Row], day_ends: Sequence[float]) -> list[Row]:
    """Rows ``{entity_key, event_ts, values}`` for each product and each day end (values as of that time)."""
    by_product: dict[str, list[Row]] = defaultdict(list)
    for e in events:
        by_product[str(e["product_id"])].append(e)
    for evs in by_product.values():
        evs.sort(key=lambda e: e["ts"])
    rows: list[Row] = []
    for end in day_ends:
        window = {pid: [e for e in evs if end - 30 * DAY < e["ts"] <= end] for pid, evs in by_product.items()}
        total7 = sum(1 for evs in window.values() for e in evs if e["kind"] == "purchase" and e["ts"] > end - 7 * DAY)
        for p in products:
            evs = window.get(p["id"], [])
            recent = [e for e in evs if e["ts"] > end - 7 * DAY]
            buys30 = sum(e["kind"] == "purchase" for e in evs)
            rets30 = sum(e["kind"] == "return" for e in evs)
            prices = [e["price"] for e in evs if e["kind"] == "price"]
            price_now = prices[-1] if prices else float(p["price"])
            buys7 = sum(e["kind"] == "purchase" for e in recent)
            rows.append(
                {
                    "entity_key": p["id"],
                    "event_ts": end,
                    "values": {
                        "category": p.get("category", ""),
                        "views_7d": sum(e["kind"] == "view" for e in recent),
                        "purchases_7d": buys7,
                        "popularity": buys7 / total7 if total7 else 0.0,
                        "return_rate_30d": rets30 / buys30 if buys30 else 0.0,
                        "price": price_now,
                        "price_change_30d": (price_now - float(p["price"])) / float(p["price"])
                        if p.get("price")
                        else 0.0,
                        "in_stock": bool(p.get("in_stock", True)),
                    },
                }
            )
    return rows


TRANSFORMS: dict[str, Callable[..., list[Row]]] = {"product_stats": product_stats}

"""Feature inputs for routing, read through one ``get_online_features`` call.

How well the local model does in the query's category (``category_quality``), what the store knows about the
products the device retrieved (``product_stats``: popularity, returns, price moves, stock, whether the top
hits share a category) and how the session is going (re-asks, battery, network) are signals a router can
weigh; stale or missing values come back as neutral defaults with a flag, so a policy never acts on an
expired number. ``HEAD_FEATURES`` is the fixed order in which the learned head takes them (``vector``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from frugalstack.edge.features.online import OnlineStore, get_online_features

#: version of ``HEAD_FEATURES``; a learned head's card records it, and a head built for another one refuses
FEATURES_VERSION = "route-features-v1"
#: what the learned head takes, in this order (a subset of ``feature_signals``' keys)
HEAD_FEATURES: tuple[str, ...] = (
    "f_popularity", "f_return_rate", "f_price_change", "f_in_stock", "f_same_category",
    "f_answer_quality", "f_escalation_rate", "f_features_known", "f_reask_rate",
)
PRODUCT_FEATURES = [
    "product_stats:category",
    "product_stats:popularity",
    "product_stats:return_rate_30d",
    "product_stats:price_change_30d",
    "product_stats:in_stock",
]
ROUTER_FEATURES = [
    "category_quality:answer_quality",
    "category_quality:escalation_rate",
    "device_history:reask_rate",
    "device_history:on_battery",
    "device_history:network",
]
NEUTRAL = {"answer_quality": 0.5, "escalation_rate": 0.5}


def feature_signals(store: OnlineStore, category: str | None = None, now: float | None = None, *,
                    product_ids: Sequence[str] = ()) -> dict[str, float]:
    """Numeric router inputs for a request whose retrieval returned ``product_ids`` (best first).

    Keys: the product ones of the top hit (``f_popularity``, ``f_return_rate``, ``f_price_change``,
    ``f_in_stock``), ``f_same_category`` (1 when the top two hits share a category: retrieval had to pick
    between neighbours), the category ones (``f_answer_quality``, ``f_escalation_rate``; the category is
    ``category`` or else the top hit's, looked up as itself, then as its top level), ``f_reask_rate``,
    ``f_on_battery``, ``f_offline`` and ``f_features_known`` (0 when the category or product features were
    stale or missing)."""
    products = []
    for pid in list(product_ids)[:2]:
        got = get_online_features({"product": pid}, PRODUCT_FEATURES, store=store, now=now)
        products.append(None if got.stale or got.missing else got)
    top = products[0] if products else None
    cats = [p.get("product_stats:category") if p is not None else None for p in products]
    # the category's own row, else its top level's ("Apparel > Outerwear" -> "Apparel"): small shops' evaluation
    # jobs only have enough answers per top-level category
    path = category or (str(cats[0]) if cats and cats[0] else "")
    for cand in dict.fromkeys([path, path.split(" > ")[0]]):
        got = get_online_features({"category": cand}, ROUTER_FEATURES, store=store, now=now)
        cat_known = not any(r.startswith("category_quality:") for r in got.stale + got.missing)
        if cat_known:
            break
    known = cat_known and (not product_ids or top is not None)
    return {
        "f_popularity": float(top.get("product_stats:popularity", 0.0)) if top else 0.0,
        "f_return_rate": float(top.get("product_stats:return_rate_30d", 0.0)) if top else 0.0,
        "f_price_change": float(top.get("product_stats:price_change_30d", 0.0)) if top else 0.0,
        "f_in_stock": float(bool(top.get("product_stats:in_stock", True))) if top else 1.0,
        "f_same_category": float(len(cats) > 1 and cats[0] is not None and cats[0] == cats[1]),
        "f_answer_quality": float(got.get("category_quality:answer_quality", NEUTRAL["answer_quality"])),
        "f_escalation_rate": float(got.get("category_quality:escalation_rate", NEUTRAL["escalation_rate"])),
        "f_reask_rate": float(got.get("device_history:reask_rate", 0.0)),
        "f_on_battery": float(bool(got.get("device_history:on_battery", False))),
        "f_offline": float(got.get("device_history:network", "unknown") == "offline"),
        "f_features_known": float(known),
    }


def vector(signals: Mapping[str, float] | None, names: Sequence[str] = HEAD_FEATURES) -> np.ndarray | None:
    """``signals`` in ``names`` order (None when there are none: the head then uses its neutral values)."""
    if signals is None:
        return None
    return np.array([float(signals.get(n, np.nan)) for n in names], np.float32)

"""Feature inputs for routing, read through one ``get_online_features`` call.

How well the local model does in the query's category (``category_quality``) and how the session is
going (re-asks, battery, network) are signals a router can weigh; stale or missing values come back as
neutral defaults with a flag, so a policy never acts on an expired number.
"""

from __future__ import annotations

from frugalstack.edge.features.online import OnlineStore, get_online_features

ROUTER_FEATURES = [
    "category_quality:answer_quality",
    "category_quality:escalation_rate",
    "device_history:reask_rate",
    "device_history:on_battery",
    "device_history:network",
]
NEUTRAL = {"answer_quality": 0.5, "escalation_rate": 0.5}


def feature_signals(store: OnlineStore, category: str | None, now: float | None = None) -> dict[str, float]:
    """Numeric router inputs: ``f_answer_quality``, ``f_escalation_rate``, ``f_reask_rate``, ``f_on_battery``,
    ``f_offline`` and ``f_features_known`` (0 when the category features were stale or missing)."""
    got = get_online_features({"category": category or ""}, ROUTER_FEATURES, store=store, now=now)
    known = float(not any(r.startswith("category_quality:") for r in got.stale + got.missing))
    return {
        "f_answer_quality": float(got.get("category_quality:answer_quality", NEUTRAL["answer_quality"])),
        "f_escalation_rate": float(got.get("category_quality:escalation_rate", NEUTRAL["escalation_rate"])),
        "f_reask_rate": float(got.get("device_history:reask_rate", 0.0)),
        "f_on_battery": float(bool(got.get("device_history:on_battery", False))),
        "f_offline": float(got.get("device_history:network", "unknown") == "offline"),
        "f_features_known": known,
    }

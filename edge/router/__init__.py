"""Edge/cloud routing: answer on the device when it can, escalate to the cloud when it pays.

One ``Router`` protocol (``decide(ctx) -> Decision``), one module per policy: ``rules``, ``confidence``,
``learned``, ``cascade``, ``budget``; ``cloud`` is the deadline-bound client with a circuit breaker and
``engine.route_and_answer`` ties them together. See docs/routing.md.
"""

from frugalstack.edge.router.budget import BudgetRouter, DailyBudget, DeviceState, Ledger
from frugalstack.edge.router.cascade import CascadeRouter
from frugalstack.edge.router.cloud import CircuitBreaker, CloudClient, CloudResult, Outbox
from frugalstack.edge.router.confidence import ConfidenceRouter, ConfidenceWeights
from frugalstack.edge.router.engine import RoutedAnswer, route_and_answer
from frugalstack.edge.router.learned import LearnedRouter
from frugalstack.edge.router.rules import RulesRouter
from frugalstack.edge.router.types import Decision, Draft, RouteContext, Router

__all__ = [
    "BudgetRouter", "CascadeRouter", "CircuitBreaker", "CloudClient", "CloudResult", "ConfidenceRouter",
    "ConfidenceWeights", "DailyBudget", "Decision", "DeviceState", "Draft", "LearnedRouter", "Ledger", "Outbox",
    "RouteContext", "RoutedAnswer", "Router", "RulesRouter", "route_and_answer",
]

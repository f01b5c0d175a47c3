"""The demo's headline figures from the fleet's scored answers: shares, quality, cost, energy, guard, feedback.

Cost: device electricity (energy x the bench suite's price per kWh) and the cloud at the suite's provider
list price on the gateway's token counts. Energy is an ESTIMATE from CPU time: busy CPU-seconds x Cloud
Carbon Footprint's full-load watts per vCPU (there is no power meter here). The cloud arm's energy is that of
this gateway's model (the same SmolLM2 on one vCPU), not of a large hosted model.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from frugalstack.cloud.demo.device import Answer, DeviceResult


def _prices() -> dict[str, Any]:
    from frugalstack.edge.bench.suite import load_suite

    suite, _ = load_suite("default")
    c = suite.cost
    p = c.cloud_prices[c.cloud_provider]
    return {"currency": c.currency, "kwh": c.electricity_per_kwh, "provider": c.cloud_provider,
            "in_per_1m": p.input_per_1m, "out_per_1m": p.output_per_1m, "source": f"{p.source}, {p.as_of}"}


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else 0.0


def summarise(devices: list[DeviceResult]) -> dict[str, Any]:
    from frugalstack.edge.bench.costs import CCF_MAX_W_PER_VCPU, cpu_time_energy_kwh

    answers: list[Answer] = [a for d in devices for a in d.answers]
    n = len(answers)
    if not n:
        return {"requests": 0}
    pr = _prices()
    cloud_kwh = [a.cloud_only_ms / 1000 * CCF_MAX_W_PER_VCPU / 3.6e6 for a in answers]  # one vCPU busy
    edge_kwh = [cpu_time_energy_kwh(a.edge_cpu_s) for a in answers]
    esc = [a.answered_by == "cloud" for a in answers]

    def tokens_cost(i: int, o: int) -> float:
        return (i * pr["in_per_1m"] + o * pr["out_per_1m"]) / 1e6

    cloud_cost = [tokens_cost(a.cloud_only_in, a.cloud_only_out) for a in answers]
    hybrid_cost = [e * pr["kwh"] + (tokens_cost(a.cloud_in or a.cloud_only_in, a.cloud_out or a.cloud_only_out)
                                    if x else 0.0) for a, e, x in zip(answers, edge_kwh, esc, strict=True)]
    per_1k = 1000 / n
    thumbs = Counter(a.thumbs for a in answers)
    return {
        "requests": n,
        "devices": len(devices),
        "edge_share": 1 - sum(esc) / n,
        "cloud_share": sum(esc) / n,
        "quality": {"metric": "fact score vs the sample data's ground truth (share of expected facts stated)",
                    "hybrid": _mean([a.score for a in answers]),
                    "cloud_only": _mean([a.cloud_only_score for a in answers]),
                    "edge_only": _mean([a.edge_only_score for a in answers]),
                    "edge_answered": _mean([a.score for a in answers if a.answered_by == "edge"]),
                    "cloud_answered": _mean([a.score for a in answers if a.answered_by == "cloud"])},
        "latency_ms": {"hybrid_median": statistics.median(a.latency_ms for a in answers),
                       "cloud_only_median": statistics.median(a.cloud_only_ms for a in answers)},
        "cost_per_1k": {"currency": pr["currency"],
                        "edge_only": sum(e * pr["kwh"] for e in edge_kwh) * per_1k,
                        "hybrid": sum(hybrid_cost) * per_1k,
                        "cloud_only": sum(cloud_cost) * per_1k,
                        "method": f"edge: device electricity at {pr['kwh']} {pr['currency']}/kWh; cloud: "
                                  f"{pr['provider']} list price ({pr['source']}) on the gateway's token counts"},
        "energy_wh_per_1k_estimate": {"edge_only": sum(edge_kwh) * 1000 * per_1k,
                                      "hybrid": sum(e + (c if x else 0.0) for e, c, x in
                                                    zip(edge_kwh, cloud_kwh, esc, strict=True)) * 1000 * per_1k,
                                      "cloud_only": sum(cloud_kwh) * 1000 * per_1k,
                                      "method": f"ESTIMATE: CPU-seconds x {CCF_MAX_W_PER_VCPU} W per vCPU (CCF)"},
        "guard": {"input": dict(Counter(a.guard_in for a in answers)),
                  "output": dict(Counter(a.guard_out for a in answers))},
        "route_reasons": dict(Counter(a.reason.split(";")[0][:60] for a in answers).most_common(5)),
        "feedback": {"thumbs_up": thumbs["up"], "thumbs_down": thumbs["down"],
                     "with_consent": sum(a.consent for a in answers),
                     "counters_only_no_consent": sum(not a.consent for a in answers)},
    }

"""Cost and carbon per request and per 1,000 requests: edge-only, cloud-only, hybrid.

Edge cost is the device's electricity (energy per request x price); cloud cost is the provider's token
price. Cloud tokens are counted with the edge model's tokenizer, a proxy labelled as such.
"""

from __future__ import annotations

from typing import Any

from frugalstack.edge.bench.suite import Suite

# Cloud Carbon Footprint's per-vCPU coefficients (W) for x86 hosts: the independent energy cross-check.
CCF_MIN_W_PER_VCPU = 0.71
CCF_MAX_W_PER_VCPU = 4.26


def intensity_g_per_kwh(suite: Suite, cells: list[dict[str, Any]]) -> tuple[float | None, str]:
    """Grid intensity: the suite's explicit figure, else what codecarbon used for the country."""
    if suite.grid.g_co2_per_kwh:
        return suite.grid.g_co2_per_kwh, "suite grid.g_co2_per_kwh"
    for c in cells:
        e = c.get("energy", {})
        if e.get("kwh") and e.get("codecarbon_g_co2e") is not None:
            return e["codecarbon_g_co2e"] / e["kwh"], f"codecarbon's energy mix for {suite.grid.country_iso_code}"
    return None, "unknown"


def cpu_time_energy_kwh(cpu_s: float) -> float:
    """Independent CPU energy estimate: busy CPU-seconds x the CCF full-load power per vCPU."""
    return cpu_s * CCF_MAX_W_PER_VCPU / 3.6e6


def hybrid_share(cell: dict[str, Any], cells: list[dict[str, Any]], suite: Suite) -> dict[str, Any]:
    """The hybrid cell's cloud share: the router's decisions on this cell's prompts; for a cell without
    them (fixed-length synthetic text), the same model's decisions pooled over its prompt workloads;
    else the suite's assumed share, labelled as assumed."""
    def decided(c: dict[str, Any]) -> list[dict[str, Any]]:
        return list((c.get("routing") or {}).get("decisions") or [])

    own = decided(cell)
    label = cell["spec"]["model_label"]
    pool = own or [d for c in cells if c["spec"]["model_label"] == label for d in decided(c)]
    drafts = [bool((c.get("routing") or {}).get("needs_draft")) for c in cells if decided(c)]
    if pool:
        where = "this workload's prompts" if own else f"{label}'s prompt workloads (this workload is synthetic)"
        share = sum(d["target"] == "cloud" for d in pool) / len(pool)
        return {"share": share, "draft_first": any(drafts), "n": len(pool),
                "method": f"router {suite.routing.policy}: {sum(d['target'] == 'cloud' for d in pool)} of "
                          f"{len(pool)} requests escalated on {where}"}
    errors = {str(e) for c in cells if (e := (c.get("routing") or {}).get("error"))}
    why = f" (router unavailable: {sorted(errors)[0]})" if errors else ""
    return {"share": suite.cost.hybrid_cloud_share, "draft_first": False, "n": 0,
            "method": f"assumed share set in the suite{why}"}


def request_costs(
    suite: Suite, energy_kwh_per_req: float | None, in_tok: float, out_tok: float, wall_s_per_req: float,
    share: dict[str, Any] | None = None,
) -> dict[str, Any]:
    cost = suite.cost
    price = cost.cloud_prices[cost.cloud_provider]
    cloud = in_tok * price.input_per_1m / 1e6 + out_tok * price.output_per_1m / 1e6
    edge = energy_kwh_per_req * cost.electricity_per_kwh if energy_kwh_per_req is not None else None
    share = share or {"share": cost.hybrid_cloud_share, "draft_first": False,
                      "method": "assumed share set in the suite"}
    s = share["share"]
    # a policy that judges the device's draft pays the edge answer on every request, the cloud on escalations
    edge_part = 1.0 if share["draft_first"] else 1 - s
    hybrid = edge_part * edge + s * cloud if edge is not None else None
    return {
        "currency": cost.currency,
        "edge_per_1k": edge * 1000 if edge is not None else None,
        "cloud_per_1k": cloud * 1000,
        "hybrid_per_1k": hybrid * 1000 if hybrid is not None else None,
        "hybrid_cloud_share": s,
        "hybrid_share_method": share["method"],
        "self_hosted_vm_per_1k": (
            cost.cloud_vm_per_hour * wall_s_per_req / 3600 * 1000 if cost.cloud_vm_per_hour else None
        ),
        "method": (
            f"edge: device electricity at {cost.electricity_per_kwh} {cost.currency}/kWh; cloud: "
            f"{cost.cloud_provider} list price ({price.source}, {price.as_of}) on edge-tokenizer token counts; "
            f"hybrid: {s:.0%} of requests to the cloud ({share['method']})"
            f"{'; every request pays the edge draft' if share['draft_first'] else ''}; self-hosted VM: "
            f"{cost.cloud_vm_per_hour} {cost.currency}/h amortised over this host's wall time per request"
        ),
    }

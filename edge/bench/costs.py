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


def request_costs(
    suite: Suite, energy_kwh_per_req: float | None, in_tok: float, out_tok: float, wall_s_per_req: float
) -> dict[str, Any]:
    cost = suite.cost
    price = cost.cloud_prices[cost.cloud_provider]
    cloud = in_tok * price.input_per_1m / 1e6 + out_tok * price.output_per_1m / 1e6
    edge = energy_kwh_per_req * cost.electricity_per_kwh if energy_kwh_per_req is not None else None
    s = cost.hybrid_cloud_share
    hybrid = (1 - s) * edge + s * cloud if edge is not None else None
    return {
        "currency": cost.currency,
        "edge_per_1k": edge * 1000 if edge is not None else None,
        "cloud_per_1k": cloud * 1000,
        "hybrid_per_1k": hybrid * 1000 if hybrid is not None else None,
        "hybrid_cloud_share": s,
        "self_hosted_vm_per_1k": (
            cost.cloud_vm_per_hour * wall_s_per_req / 3600 * 1000 if cost.cloud_vm_per_hour else None
        ),
        "method": (
            f"edge: device electricity at {cost.electricity_per_kwh} {cost.currency}/kWh; cloud: "
            f"{cost.cloud_provider} list price ({price.source}, {price.as_of}) on edge-tokenizer token counts; "
            f"hybrid: {s:.0%} of requests to the cloud (assumed share, set in the suite); self-hosted VM: "
            f"{cost.cloud_vm_per_hour} {cost.currency}/h amortised over this host's wall time per request"
        ),
    }

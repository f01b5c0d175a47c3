"""Secure aggregation on the server: Flower's ``SecAggPlusWorkflow`` inside a ServerApp.

The workflow runs four stages per round (setup, share keys, collect masked vectors, unmask) and hands the
strategy only the *sum* of the surviving devices' updates; a device that drops out after sharing its keys
is unmasked from the shares the others hold (tolerance set by ``reconstruction_threshold``). Clients send
deltas, so the legacy strategy below adds the averaged delta to the global model.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from frugalstack.edge.fl import model


def make_secagg_server_app(
    initial: model.Params,
    rounds: int,
    *,
    num_shares: int | float,
    threshold: int | float,
    train_config: dict[str, Any],
    sink: dict[str, Any],
    min_clients: int = 2,
    available: int | None = None,
    clipping_range: float = 8.0,
    timeout: float | None = None,
    fraction: float = 1.0,
    evaluate: Any = None,
) -> Any:
    """A ServerApp running SecAgg+ FedAvg over update vectors; the final params land in ``sink["params"]``,
    per-round survivors/failures/wall time in ``sink["stats"]`` and held-out scores in ``sink["evals"]``."""
    from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
    from flwr.server import LegacyContext, ServerApp, ServerConfig
    from flwr.server.strategy import FedAvg
    from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow

    names = list(initial)

    class DeltaFedAvg(FedAvg):
        """Legacy FedAvg whose 'parameters' from the clients are deltas; tracks every round's survivors."""

        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.current = [initial[n] for n in names]

        def configure_fit(self, server_round: int, parameters: Any, client_manager: Any) -> Any:
            self.current = parameters_to_ndarrays(parameters)
            self.t0 = time.perf_counter()
            if evaluate is not None and server_round == 1:
                sink.setdefault("evals", {})[0] = evaluate(dict(zip(names, self.current, strict=True)))
            return super().configure_fit(server_round, parameters, client_manager)

        def aggregate_fit(self, server_round: int, results: Any, failures: Any) -> Any:
            # SecAgg+ hands every survivor the same unmasked mean: len(results) is the number of survivors.
            agg, metrics = super().aggregate_fit(server_round, results, failures)
            stats = {
                "round": server_round,
                "sampled": len(results) + len(failures),
                "dropped": len(failures),
                "skipped": 0,
                "rejected": [],
                "accepted": len(results) if agg is not None else 0,
                "wall_s": time.perf_counter() - self.t0,
            }
            sink.setdefault("stats", []).append(stats)
            if agg is None:
                return None, metrics
            mean_delta = parameters_to_ndarrays(agg)
            new = [(c + d).astype(np.float32) for c, d in zip(self.current, mean_delta, strict=True)]
            sink["params"] = dict(zip(names, new, strict=True))
            sink.setdefault("rounds", []).append(server_round)
            if evaluate is not None:
                sink.setdefault("evals", {})[server_round] = evaluate(sink["params"])
            return ndarrays_to_parameters(new), metrics

    app = ServerApp()

    @app.main()
    def main(grid: Any, context: Any) -> None:
        strategy = DeltaFedAvg(
            fraction_fit=fraction,
            fraction_evaluate=0.0,
            min_fit_clients=min_clients,
            min_available_clients=max(available or min_clients, min_clients),
            initial_parameters=ndarrays_to_parameters([initial[n] for n in names]),
            on_fit_config_fn=lambda rnd: {**train_config, "server-round": rnd},
        )
        legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=rounds), strategy=strategy)
        workflow = DefaultWorkflow(
            fit_workflow=SecAggPlusWorkflow(
                num_shares=num_shares,
                reconstruction_threshold=threshold,
                clipping_range=clipping_range,
                max_weight=1.0,
                timeout=timeout,
            )
        )  # every device weighs 1: the full quantization range serves the values
        workflow(grid, legacy)

    return app

"""Secure aggregation on the server: Flower's ``SecAggPlusWorkflow`` inside a ServerApp.

The workflow runs four stages per round (setup, share keys, collect masked vectors, unmask) and hands the
strategy only the *sum* of the surviving devices' updates; a device that drops out after sharing its keys
is unmasked from the shares the others hold (tolerance set by ``reconstruction_threshold``). Clients send
deltas, so the legacy strategy below adds the averaged delta to the global model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from frugalstack.edge.fl import model


def make_secagg_server_app(
    initial: model.Params,
    rounds: int,
    *,
    num_shares: int,
    threshold: int,
    train_config: dict[str, Any],
    sink: dict[str, Any],
    min_clients: int = 2,
    clipping_range: float = 8.0,
    timeout: float | None = None,
) -> Any:
    """A ServerApp running SecAgg+ FedAvg over update vectors; the final params land in ``sink["params"]``."""
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
            return super().configure_fit(server_round, parameters, client_manager)

        def aggregate_fit(self, server_round: int, results: Any, failures: Any) -> Any:
            agg, metrics = super().aggregate_fit(server_round, results, failures)
            if agg is None:
                return None, metrics
            mean_delta = parameters_to_ndarrays(agg)
            new = [(c + d).astype(np.float32) for c, d in zip(self.current, mean_delta, strict=True)]
            sink["params"] = dict(zip(names, new, strict=True))
            sink.setdefault("rounds", []).append(server_round)
            return ndarrays_to_parameters(new), metrics

    app = ServerApp()

    @app.main()
    def main(grid: Any, context: Any) -> None:
        strategy = DeltaFedAvg(
            fraction_fit=1.0,
            fraction_evaluate=0.0,
            min_fit_clients=min_clients,
            min_available_clients=min_clients,
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

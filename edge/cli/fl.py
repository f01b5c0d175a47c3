"""``frugal fl``: federated learning of the on-device heads with Flower (simulation on this machine)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from frugalstack.edge.cli.output import console, print_json

app = typer.Typer(
    help="Federated learning: devices train heads on their own data, only updates leave.", no_args_is_help=True
)


def _summary(r: dict[str, Any]) -> None:
    t = Table(
        title=f"{r['config']['task']} head, {r['config']['strategy']}, {r['config']['clients']} clients, "
        f"{r['config']['rounds']} rounds ({r['engine']})"
    )
    for col in ("model", "accuracy", "macro-F1", "note"):
        t.add_column(col)
    rows = [
        ("before (round 0)", r["before"], ""),
        ("federated", r["federated"], ""),
        ("centralized (upper bound)", r["centralized"], f"{r['centralized']['examples']} examples in one place"),
        ("local-only (mean per device)", r["local_only"], f"{r['local_only']['devices']} devices"),
    ]
    if r["config"]["task"] == "lora":
        t.columns[1].header, t.columns[2].header = "perplexity", ""
    elif r["config"]["task"] == "router":
        t.columns[2].header = "macro-F1 / AUC"
    for name, m, note in rows:
        if r["config"]["task"] == "lora":
            t.add_row(name, f"{m.get('perplexity', float('nan')):.2f}", "", note)
            continue
        f1 = f"{m.get('macro_f1', float('nan')):.3f}" + (f" / {m['auc']:.3f}" if "auc" in m else "")
        t.add_row(name, f"{m.get('accuracy', float('nan')):.3f}", f1, note)
    console.print(t)
    c, p = r["communication"], r["privacy"]
    if c["replies"]:
        console.print(
            f"communication: {c['bytes_down_per_client_round']:.0f} B down, "
            f"{c['bytes_up_per_client_round_median']:.0f} B up per client per round (median); "
            f"{c['bytes_total'] / 1e6:.3f} MB in total over {c['replies']} replies; {c['params']} parameters"
        )
    else:
        console.print("communication: not measured here (SecAgg+ on Ray); use --engine inprocess for wire bytes")
    if p["noise_multiplier"] > 0:
        console.print(
            f"privacy: ε = {p['epsilon_local']:.2f} per device (local), ε = {p['epsilon_central']:.2f} "
            f"with secure aggregation (central), δ = {p['delta']:g}, noise {p['noise_multiplier']}, "
            f"clip {p['clip']}"
        )
    else:
        console.print("privacy: no noise (ε = ∞); add --clip and --noise")
    rej = sum(len(x["rejected"]) for x in r["rounds"])
    console.print(
        f"participants per round: {r['participants_per_round']}; rejected updates: {rej}; "
        f"wall time per round (median) {r['round_wall_s_median']:.2f} s; run {r['wall_s']:.1f} s"
    )


@app.command("simulate")
def simulate(
    clients: Annotated[int, typer.Option(help="Simulated devices.")] = 50,
    rounds: Annotated[int, typer.Option(help="Federated rounds.")] = 10,
    task: Annotated[
        str, typer.Option(help="What to train: intent head, router head, or lora (SLM adapters, torch).")
    ] = "intent",
    pairs: Annotated[
        Path | None, typer.Option(help="Router task: collected pairs (default: the shipped sample).")
    ] = None,
    strategy: Annotated[str, typer.Option(help="fedavg, fedprox or robust (norm bound + trimmed mean).")] = "fedavg",
    engine: Annotated[str, typer.Option(help="ray (Flower simulation engine) or inprocess (no Ray).")] = "ray",
    fraction: Annotated[float, typer.Option(help="Fraction of devices sampled per round.")] = 0.5,
    local_steps: Annotated[int, typer.Option(help="Local SGD steps per round (fewer on slow devices).")] = 20,
    lr: Annotated[float, typer.Option(help="Local learning rate.")] = 5.0,
    hidden: Annotated[int, typer.Option(help="Hidden units (0 = logistic regression).")] = 0,
    min_examples: Annotated[int, typer.Option(help="Devices with fewer examples skip the round.")] = 8,
    clip: Annotated[float, typer.Option(help="L2 bound on each device's update (0 = none).")] = 0.0,
    noise: Annotated[float, typer.Option(help="Gaussian noise multiplier (std = noise * clip).")] = 0.0,
    delta: Annotated[float, typer.Option(help="δ for the reported ε.")] = 1e-5,
    dp_mode: Annotated[
        str, typer.Option(help="local: each device adds all the noise; distributed: the cohort shares it.")
    ] = "local",
    quantize: Annotated[str, typer.Option(help="Update encoding: none or int8.")] = "none",
    proximal_mu: Annotated[
        float, typer.Option(help="FedProx proximal term mu (lr·mu should stay well below 1).")
    ] = 0.01,
    trim: Annotated[float, typer.Option(help="Robust: fraction trimmed at each end per coordinate.")] = 0.1,
    max_norm: Annotated[float | None, typer.Option(help="Robust: absolute update-norm bound.")] = None,
    alpha: Annotated[float, typer.Option(help="Dirichlet skew of intents per device (smaller = more skew).")] = 0.5,
    mean_size: Annotated[int, typer.Option(help="Mean examples per device (log-normal sizes).")] = 24,
    no_devices: Annotated[
        bool, typer.Option("--no-devices", help="No device profiles (no stragglers/dropouts).")
    ] = False,
    secagg: Annotated[
        bool, typer.Option("--secagg", help="Flower's SecAgg+: the server sees only the sum of the updates.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of partitions, devices and training.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write the full report as JSON here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    register: Annotated[
        str | None, typer.Option(help="Cloud URL: register the aggregated head as a model version there.")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="FRUGAL_CLOUD_API_KEY", help="Writer key for --register.")
    ] = None,
    deploy_profile: Annotated[
        str | None, typer.Option(help="Router task with --register: make it this profile's router (manifest).")
    ] = None,
    export_gguf: Annotated[
        Path | None, typer.Option(help="LoRA task: write the merged model here as a q8_0 GGUF.")
    ] = None,
    aggregator: Annotated[
        str, typer.Option(help="LoRA task with --strategy robust: trimmed-mean, median or krum.")
    ] = "trimmed-mean",
) -> None:
    """Simulate federated training of a head over non-IID devices and compare it with its baselines."""
    from frugalstack.cloud.fl.server import FLConfig
    from frugalstack.cloud.fl.simulate import public_report, run_federated

    if task == "lora":
        _lora(clients, rounds, local_steps, clip, noise, quantize, strategy, seed, export_gguf, out, json_out,
              aggregator=aggregator, secagg=secagg, register=register, api_key=api_key)
        return

    cfg = FLConfig(
        task=task,
        clients=clients,
        rounds=rounds,
        strategy=strategy,
        fraction=fraction,
        local_steps=local_steps,
        lr=lr,
        hidden=hidden,
        min_examples=min_examples,
        clip=clip,
        noise_multiplier=noise,
        dp_mode=dp_mode,
        delta=delta,
        quantize=quantize,
        proximal_mu=proximal_mu,
        trim=trim,
        max_norm=max_norm,
        alpha=alpha,
        mean_size=mean_size,
        devices=not no_devices,
        secagg=secagg,
        seed=seed,
        pairs=str(pairs) if pairs else None,
    )
    full = run_federated(cfg, engine=engine)
    report = public_report(full)
    if register:
        from frugalstack.cloud.fl.register import register_result
        from frugalstack.shared.errors import ConfigError

        if not api_key:
            raise ConfigError("--register needs an API key", hint="pass --api-key or set FRUGAL_CLOUD_API_KEY")
        report["registered"] = register_result(full, register, api_key, deploy_profile=deploy_profile)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, default=str), "utf-8")
    if json_out:
        print_json(report)
    else:
        _summary(report)
        if "registered" in report:
            reg = report["registered"]
            console.print(
                f"registered: model version {reg['version']} ({reg['model_version_id']}), run {reg['run_id']}"
            )


def _lora(
    clients: int,
    rounds: int,
    local_steps: int,
    clip: float,
    noise: float,
    quantize: str,
    strategy: str,
    seed: int,
    export_gguf: Path | None,
    out: Path | None,
    json_out: bool,
    *,
    aggregator: str = "trimmed-mean",
    secagg: bool = False,
    register: str | None = None,
    api_key: str | None = None,
) -> None:
    """``--task lora``: federated LoRA of the SLM (torch), in process; sizes kept tiny on purpose."""
    from frugalstack.cloud.fl.lora import LoraFLConfig, run_lora_federated
    from frugalstack.cloud.fl.simulate import public_report
    from frugalstack.shared.errors import ConfigError

    if register and (export_gguf is None or not api_key):
        raise ConfigError("--register with --task lora needs --export-gguf and an API key",
                          hint="the merged q8_0 GGUF is what gets registered; set FRUGAL_CLOUD_API_KEY")

    cfg = LoraFLConfig(
        clients=clients,
        rounds=rounds,
        local_steps=min(local_steps, 20),
        clip=clip,
        noise_multiplier=noise,
        quantize=quantize,
        strategy=strategy,
        aggregator=aggregator,
        secagg=secagg,
        seed=seed,
    )
    cfg.validate()  # a bad strategy/aggregator combination fails before the model loads
    full = run_lora_federated(cfg, export_to=export_gguf)
    report = public_report(full)
    if register and api_key:
        from frugalstack.cloud.fl.lora_register import register_lora_result

        report["registered"] = register_lora_result(full, register, api_key)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, default=str), "utf-8")
    if json_out:
        print_json(report)
        return
    _summary(report)
    if "exported_gguf" in report:
        console.print(f"merged adapter exported: {report['exported_gguf']['path']}")
    if "registered" in report:
        console.print(f"registered: {report['registered']}")


def _flower(cmd: list[str]) -> None:
    """Run a Flower process in the foreground with the venv's helpers on PATH; Ctrl-C stops it."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "FLWR_TELEMETRY_ENABLED": "0",
    }
    raise typer.Exit(subprocess.call(cmd, env=env))


@app.command("certs")
def certs(out: Annotated[Path, typer.Argument(help="Folder for ca.crt, server.pem, server.key.")]) -> None:
    """Make a CA and a server certificate for 127.0.0.1/localhost (TLS between SuperLink and devices)."""
    from frugalstack.cloud.fl.deploy import make_certificates

    for name, path in make_certificates(out).items():
        console.print(f"{name}: {path}")


@app.command("server")
def server(
    certs_dir: Annotated[Path, typer.Option("--certs", help="Folder made by `frugal fl certs`.")],
    port: Annotated[int, typer.Option(help="SuperLink port on 127.0.0.1 (fleet and control API).")] = 9092,
) -> None:
    """Start the SuperLink (Flower Deployment Engine) with TLS; devices connect with `frugal fl device`."""
    from frugalstack.cloud.fl.deploy import superlink_cmd

    paths = {"ca": certs_dir / "ca.crt", "cert": certs_dir / "server.pem", "key": certs_dir / "server.key"}
    _flower(superlink_cmd(port, paths))


@app.command("device")
def device(
    superlink: Annotated[str, typer.Option(help="SuperLink address, e.g. 127.0.0.1:9092.")],
    ca: Annotated[Path, typer.Option(help="The CA certificate that signed the SuperLink's.")],
    data: Annotated[Path, typer.Option(help="Partitions file from `frugal fl partition`.")],
    partition: Annotated[int, typer.Option(help="This device's partition in the data file.")],
    clients: Annotated[int, typer.Option(help="How many partitions the data file has.")],
    port: Annotated[int, typer.Option(help="Local port of this SuperNode's runtime API.")] = 9094,
) -> None:
    """Start one device as a Flower SuperNode (TLS to the SuperLink); it trains on its partition only."""
    from frugalstack.cloud.fl.deploy import supernode_cmd

    _flower(supernode_cmd(superlink, ca, partition, clients, data.resolve(), port))


@app.command("partition")
def partition(
    out: Annotated[Path, typer.Argument(help="The .npz to write (one slice per device).")],
    clients: Annotated[int, typer.Option(help="Devices.")] = 3,
    alpha: Annotated[float, typer.Option(help="Dirichlet skew (smaller = more skew).")] = 0.5,
    mean_size: Annotated[int, typer.Option(help="Mean examples per device.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
) -> None:
    """Write non-IID device partitions of the sample intent data (for `frugal fl device`)."""
    from frugalstack.edge.fl.data import load_intent_corpus, partition_corpus, save_partitions

    corpus = load_intent_corpus()
    parts = partition_corpus(corpus, clients, alpha=alpha, mean_size=mean_size, seed=seed)
    save_partitions(corpus, parts, out)
    console.print(f"{out}: {clients} partitions, sizes {[len(p) for p in parts]}")


@app.command("run")
def run(
    superlink: Annotated[str, typer.Option(help="SuperLink address, e.g. 127.0.0.1:9092.")],
    ca: Annotated[Path, typer.Option(help="The CA certificate that signed the SuperLink's.")],
    work: Annotated[Path, typer.Option(help="Folder for the Flower App and the report.")] = Path("fl-run"),
    clients: Annotated[int, typer.Option(help="Devices to wait for.")] = 3,
    rounds: Annotated[int, typer.Option(help="Rounds.")] = 1,
    strategy: Annotated[str, typer.Option(help="fedavg, fedprox or robust.")] = "fedavg",
    fraction: Annotated[float, typer.Option(help="Fraction of devices per round.")] = 1.0,
    clip: Annotated[float, typer.Option(help="L2 bound on updates (0 = none).")] = 0.0,
    noise: Annotated[float, typer.Option(help="Gaussian noise multiplier.")] = 0.0,
    quantize: Annotated[str, typer.Option(help="none or int8.")] = "none",
    min_examples: Annotated[int, typer.Option(help="Devices with fewer examples skip.")] = 8,
) -> None:
    """Submit the federated run to a SuperLink (`flwr run`); the ServerApp writes WORK/report.json."""
    import subprocess

    from frugalstack.cloud.fl.deploy import run_cmd, write_app
    from frugalstack.cloud.fl.server import FLConfig

    cfg = FLConfig(
        clients=clients,
        rounds=rounds,
        strategy=strategy,
        fraction=fraction,
        clip=clip,
        noise_multiplier=noise,
        quantize=quantize,
        min_examples=min_examples,
        devices=False,
    )
    cfg.validate()
    work = work.resolve()
    app_dir = write_app(work / "app", cfg, work / "report.json")
    cmd, env = run_cmd(app_dir, superlink, ca.resolve(), work / "flwr-home")
    raise typer.Exit(subprocess.call(cmd, env=env))


@app.command("deploy")
def deploy(
    clients: Annotated[int, typer.Option(help="SuperNode processes (devices).")] = 3,
    rounds: Annotated[int, typer.Option(help="Rounds.")] = 1,
    strategy: Annotated[str, typer.Option(help="fedavg, fedprox or robust.")] = "fedavg",
    quantize: Annotated[str, typer.Option(help="none or int8.")] = "none",
    work: Annotated[Path, typer.Option(help="Folder for certificates, logs, app and report.")] = Path("fl-deploy"),
    secagg: Annotated[bool, typer.Option("--secagg", help="Flower's SecAgg+ between the devices.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """All on this machine: certificates, a SuperLink, N SuperNode processes over TLS, one federated run."""
    from frugalstack.cloud.fl.deploy import run_deployment
    from frugalstack.cloud.fl.server import FLConfig

    cfg = FLConfig(
        clients=clients,
        rounds=rounds,
        strategy=strategy,
        quantize=quantize,
        secagg=secagg,
        fraction=1.0,
        devices=False,
        min_examples=2,
        mean_size=40,
    )
    report = run_deployment(cfg, work.resolve())
    if json_out:
        print_json(report)
        return
    console.print(
        f"SuperLink {report['superlink']} (TLS), {report['supernode_processes']} SuperNode processes, "
        f"nodes seen: {len(report['nodes'])}"
    )
    console.print(
        f"macro-F1 before {report['before'].get('macro_f1', 0):.3f} -> after {rounds} round(s) "
        f"{report['federated'].get('macro_f1', 0):.3f}; accepted per round "
        f"{[r['accepted'] for r in report['rounds']]}; {report['wall_s']:.1f} s"
    )

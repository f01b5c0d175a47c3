"""The Flower Deployment Engine on loopback: one SuperLink (the cloud) and one SuperNode per device process.

Everything speaks TLS: a throw-away CA signs a certificate for 127.0.0.1/localhost, the SuperLink serves
with it, SuperNodes and the ``flwr`` CLI trust only that CA. The Flower App (a FAB) submitted to the
SuperLink is two lines that point at frugalstack's ServerApp and ClientApp; the run's configuration
travels as the app's run config, each device's data path and partition as its node config.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.cloud.fl.server import FLConfig, build_strategy
from frugalstack.shared.errors import FrugalError

APP_MODULE = "frugal_fl_app"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificates(out: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1 and localhost (valid one day), PEM files in ``out``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "frugalstack fl CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(san, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": out / "ca.crt", "cert": out / "server.pem", "key": out / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    paths["key"].chmod(0o600)
    return paths


def write_app(out: Path, cfg: FLConfig, report: Path) -> Path:
    """The Flower App project (``pyproject.toml`` + one module) that ``flwr run`` packs into a FAB."""
    out.mkdir(parents=True, exist_ok=True)
    client = f"make_secagg_client_app(None, {list(init_names(cfg))!r})" if cfg.secagg else "make_client_app(None)"
    (out / f"{APP_MODULE}.py").write_text(
        '"""frugalstack federated learning as a Flower App."""\n'
        "from frugalstack.cloud.fl.deploy import deployment_server_app\n"
        "from frugalstack.edge.fl.client import make_client_app\n"
        "from frugalstack.edge.fl.secagg_client import make_secagg_client_app\n\n"
        "server = deployment_server_app()\n"
        f"client = {client}\n",
        "utf-8",
    )
    fl_config = json.dumps(cfg.as_dict()).replace("\\", "\\\\").replace('"', '\\"')
    (out / "pyproject.toml").write_text(
        f"""[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "frugal-fl"
version = "1.0.0"
description = "frugalstack federated learning"
license = "Apache-2.0"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "frugalstack"

[tool.flwr.app.components]
serverapp = "{APP_MODULE}:server"
clientapp = "{APP_MODULE}:client"

[tool.flwr.app.config]
fl-config = "{fl_config}"
report-path = "{report}"
""",
        "utf-8",
    )
    return out


def init_names(cfg: FLConfig) -> list[str]:
    """The head's tensor names in order (what the SecAgg+ compat layout lists)."""
    from frugalstack.edge.fl import model

    return list(model.init_params(model.HeadSpec(1, 2, cfg.hidden)))


def deployment_server_app() -> Any:
    """The ServerApp a SuperLink runs: configuration from the run config, report written to a file."""
    from flwr.app import Array, ArrayRecord, MetricRecord
    from flwr.serverapp import ServerApp

    from frugalstack.cloud.fl.accountant import privacy_report
    from frugalstack.edge.fl import model
    from frugalstack.edge.fl.data import load_intent_corpus

    app = ServerApp()

    @app.main()
    def main(grid: Any, context: Any) -> None:
        cfg = FLConfig(**json.loads(str(context.run_config["fl-config"])))
        corpus = load_intent_corpus()
        spec = model.HeadSpec(int(corpus.x_train.shape[1]), len(corpus.classes), cfg.hidden)
        strategy = build_strategy(cfg)

        def evaluate(server_round: int, arrays: Any) -> Any:
            p = {k: np.asarray(a.numpy()) for k, a in arrays.items()}
            return MetricRecord(
                {k: float(v) for k, v in model.evaluate(p, corpus.x_test, corpus.y_test, spec.classes).items()}
            )

        t0 = time.perf_counter()
        init = model.init_params(spec, cfg.seed)
        if cfg.secagg:  # Flower's SecAgg+ workflow: the server only ever holds the sum of the updates
            from frugalstack.cloud.fl.secagg import make_secagg_server_app

            sink: dict[str, Any] = {}
            make_secagg_server_app(
                init,
                cfg.rounds,
                num_shares=min(1.0, 9 / max(2, cfg.clients)),
                threshold=0.6,
                train_config=cfg.train_settings(),
                sink=sink,
                min_clients=2,
                available=cfg.clients,
                fraction=cfg.fraction,
                timeout=300,
                evaluate=lambda p: model.evaluate(p, corpus.x_test, corpus.y_test, spec.classes),
            )(grid, context)
            evals: dict[int, dict[str, float]] = sink.get("evals", {})
            rounds: list[dict[str, Any]] = sink.get("stats", [])
            comm: list[dict[str, Any]] = []
        else:
            result = strategy.start(
                grid=grid,
                initial_arrays=ArrayRecord({k: Array(v) for k, v in init.items()}),
                num_rounds=cfg.rounds,
                timeout=300,
                evaluate_fn=evaluate,
            )
            evals = {int(r): {k: float(v) for k, v in m.items()} for r, m in result.evaluate_metrics_serverapp.items()}  # type: ignore[arg-type]
            rounds, comm = strategy.rounds, strategy.comm
        accepted = [r["accepted"] for r in rounds if r["accepted"]]
        report = {
            "config": cfg.as_dict(),
            "engine": "deployment",
            "before": evals.get(0, {}),
            "federated": evals.get(cfg.rounds, {}),
            "rounds": rounds,
            "communication": comm,
            "nodes": sorted(int(n) for n in grid.get_node_ids()),
            "wall_s": time.perf_counter() - t0,
            "privacy": privacy_report(
                noise_multiplier=cfg.noise_multiplier,
                clip=cfg.clip,
                delta=cfg.delta,
                rounds=cfg.rounds,
                population=cfg.clients,
                per_round=min(accepted, default=0),
                noise_share=cfg.noise_share(),
            ).as_dict(),
        }
        Path(str(context.run_config["report-path"])).write_text(json.dumps(report, default=str), "utf-8")

    return app


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def superlink_cmd(port: int, certs: dict[str, Path]) -> list[str]:
    return [
        _bin("flower-superlink"),
        "--ssl-ca-certfile",
        str(certs["ca"]),
        "--ssl-certfile",
        str(certs["cert"]),
        "--ssl-keyfile",
        str(certs["key"]),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--disable-runtime-dependency-installation",
    ]


def supernode_cmd(superlink: str, ca: Path, partition: int, clients: int, data: Path, port: int) -> list[str]:
    node_config = f"partition-id={partition} num-partitions={clients} data-path='{data}'"
    return [
        _bin("flower-supernode"),
        "--root-certificates",
        str(ca),
        "--superlink",
        superlink,
        "--node-config",
        node_config,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def run_cmd(app_dir: Path, superlink: str, ca: Path, flwr_home: Path) -> tuple[list[str], dict[str, str]]:
    """``flwr run`` against a connection named ``frugal`` written into a private FLWR_HOME."""
    flwr_home.mkdir(parents=True, exist_ok=True)
    (flwr_home / "config.toml").write_text(
        f'[superlink]\ndefault = "frugal"\n\n[superlink.frugal]\naddress = "{superlink}"\nroot-certificates = "{ca}"\n',
        "utf-8",
    )
    env = {**os.environ, "FLWR_HOME": str(flwr_home)}
    return [_bin("flwr"), "run", str(app_dir), "frugal"], env


def wait_for(path: Path, procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > end:
            raise FrugalError(
                "the deployed federated run did not finish",
                hint=f"{len(dead)} Flower process(es) exited; see the logs next to {path}",
            )
        time.sleep(0.5)


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise FrugalError("the SuperLink exited at start-up", hint="see superlink.log in the work folder")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise FrugalError("the SuperLink did not open its port")


def probe_tls(port: int, ca: Path) -> dict[str, bool]:
    """Does the SuperLink refuse plain HTTP, and answer HTTPS for a client trusting only ``ca``?"""
    import httpx

    def answers(url: str, verify: Any) -> bool:
        try:
            httpx.get(url, verify=verify, timeout=10)
            return True
        except httpx.HTTPError:
            return False

    import ssl

    return {
        "plain_http_refused": not answers(f"http://127.0.0.1:{port}/", False),
        "https_with_our_ca": answers(f"https://127.0.0.1:{port}/", ssl.create_default_context(cafile=str(ca))),
        "https_with_system_cas_refused": not answers(f"https://127.0.0.1:{port}/", True),
    }


def run_deployment(cfg: FLConfig, work: Path, *, timeout: float = 300) -> dict[str, Any]:
    """A complete federated run over TLS on loopback: SuperLink + ``cfg.clients`` SuperNode processes."""
    from frugalstack.cloud.fl.simulate import quiet_env
    from frugalstack.edge.fl.data import load_intent_corpus, partition_corpus, save_partitions

    cfg.validate()
    quiet_env()
    work.mkdir(parents=True, exist_ok=True)
    certs = make_certificates(work / "certs")
    corpus = load_intent_corpus()
    parts = partition_corpus(corpus, cfg.clients, alpha=cfg.alpha, mean_size=cfg.mean_size, seed=cfg.seed)
    data = save_partitions(corpus, parts, work / "partitions.npz")
    report = work / "report.json"
    report.unlink(missing_ok=True)
    app_dir = write_app(work / "app", cfg, report)
    port = free_port()
    superlink = f"127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    # Flower's processes start their helpers (flower-superexec, flwr-serverapp, flwr-clientapp) from PATH.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        log = (work / "superlink.log").open("wb")
        logs.append(log)
        procs.append(
            subprocess.Popen(
                superlink_cmd(port, certs),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=work,
                env=env,
                start_new_session=True,
            )
        )
        _wait_port(port, procs[0])
        tls = probe_tls(port, certs["ca"])
        for i in range(cfg.clients):
            log = (work / f"supernode-{i}.log").open("wb")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    supernode_cmd(superlink, certs["ca"], i, cfg.clients, data, free_port()),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=work,
                    env=env,
                    start_new_session=True,
                )
            )
        cmd, run_env = run_cmd(app_dir, superlink, certs["ca"], work / "flwr-home")
        submitted = subprocess.run(
            cmd, env={**run_env, "PATH": env["PATH"]}, cwd=work, capture_output=True, text=True, timeout=120
        )
        (work / "flwr-run.log").write_text(submitted.stdout + submitted.stderr, "utf-8")
        if submitted.returncode != 0:
            raise FrugalError("flwr run failed", hint=(submitted.stdout + submitted.stderr)[-500:])
        wait_for(report, procs, timeout)
        out: dict[str, Any] = json.loads(report.read_text("utf-8"))
        out["superlink"] = superlink
        out["supernode_processes"] = cfg.clients
        out["tls"] = tls
        return out
    finally:
        for p in reversed(procs):  # each was started in its own process group: stop it with its helpers
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
        for log in logs:
            log.close()

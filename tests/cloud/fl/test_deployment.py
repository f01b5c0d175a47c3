"""A real round on Flower's Deployment Engine: a SuperLink and three SuperNode processes over TLS."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_frugal_fl_deploy_runs_a_round_over_tls_with_three_supernodes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cmd = [
        sys.executable,
        "-m",
        "frugalstack.edge.cli.main",
        "fl",
        "deploy",
        "--clients",
        "3",
        "--rounds",
        "1",
        "--quantize",
        "int8",
        "--work",
        str(tmp_path),
        "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["engine"] == "deployment" and report["supernode_processes"] == 3
    assert len(report["nodes"]) == 3
    assert report["rounds"][0]["accepted"] == 3
    assert report["federated"]["macro_f1"] > report["before"]["macro_f1"]
    # every update crossed the network int8-encoded: about a quarter of the fp32 model sent down
    for c in report["communication"]:
        assert c["bytes_up"] < 0.3 * c["bytes_down"]
    # the SuperLink speaks TLS only, with the certificate our CA signed
    assert report["tls"] == {
        "plain_http_refused": True,
        "https_with_our_ca": True,
        "https_with_system_cas_refused": True,
    }

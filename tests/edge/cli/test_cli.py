"""The ``frugal`` CLI as a user runs it: a real subprocess, real model, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FRUGAL = [sys.executable, "-m", "frugalstack.edge.cli.main"]


def run(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*FRUGAL, *args], capture_output=True, text=True, input=stdin, timeout=timeout, env=env)


def test_chat_json_has_usage() -> None:
    proc = run("chat", "Is the blue backpack waterproof?", "--json", "--max-tokens", "32")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["text"].strip()
    assert data["usage"]["input_tokens"] > 0 and data["usage"]["output_tokens"] > 0
    assert data["model"] == "smollm2-135m-instruct-q4_1" and data["backend"] == "llama_cpp"
    assert {"ttft_ms", "latency_ms", "tokens_per_s"} <= set(data)


def test_chat_stream_and_stdin() -> None:
    proc = run("chat", "-", "--stream", "--max-tokens", "12", stdin="Name a fruit.")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert "tok/s" in proc.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["chat", ""], 2, "empty"),
        (["chat", "x " * 50_000], 2, "context"),
        (["chat", "hi", "--model", "no-such-model"], 3, "unknown model"),
        (["chat", "hi", "--profile", "toaster"], 3, "unknown device profile"),
        (["chat", "hi", "--max-tokens", "0"], 2, "max_tokens"),
    ],
)
def test_bad_inputs_exit_non_zero_without_traceback(args: list[str], code: int, needle: str) -> None:
    proc = run(*args)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in proc.stderr.lower()


def test_corrupt_model_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + os.urandom(4096))
    proc = run("chat", "hi", "--model", str(bad))
    assert proc.returncode == 4
    assert "Traceback" not in proc.stderr and "not a valid GGUF" in proc.stderr


def test_version_models_and_profiles() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("frugalstack ")
    models = json.loads(run("models", "list", "--json").stdout)
    assert {m["id"] for m in models} >= {"smollm2-135m-instruct-q4_1", "minilm-l6-v2"}
    assert next(m for m in models if m["id"] == "smollm2-135m-instruct-q4_1")["available"]
    profiles = json.loads(run("profile", "list", "--json").stdout)
    assert len(profiles) >= 8
    shown = json.loads(run("profile", "show", "raspberry-pi5-8gb", "--json").stdout)
    assert shown["cpu"]["cores"] == 4
    detected = json.loads(run("profile", "detect", "--json").stdout)
    assert detected["detected"] is True
    table = run("profile", "list")
    assert "laptop-x86" in table.stdout

"""A training run killed with SIGKILL resumes from its last checkpoint and ends with the same weights as a
run that was never interrupted (seeded data order, RNG and optimizer state are all in the checkpoint)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = r"""
import sys, time, torch
from pathlib import Path
from frugalstack.cloud.distill.config import StudentConfig, TrainConfig
from frugalstack.cloud.distill.models import build_student, load_tokenizer
from frugalstack.cloud.distill.train import Item, Trainer

torch.set_num_threads(1)
base, out, pause = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
tok = load_tokenizer(base)
items = [Item([1, 20 + i, 30 + i, 40], [50 + i % 5, 2], [1, 20 + i, 30 + i, 40]) for i in range(12)]
cfg = TrainConfig(batch_size=4, max_steps=8, eval_every=4, checkpoint_every=1, lr=0.01, patience=10, threads=1)
model = build_student(StudentConfig(kind="small", base=str(base), layers=1), base, seed=3)
trainer = Trainer(cfg, model, tok, out, seed=3, digest="d1")
print("RESUMED", trainer.resume(), trainer.state["step"], flush=True)

def on_step(rec):
    print("STEP", rec["step"], flush=True)
    time.sleep(pause)

trainer.fit(items[:9], items[9:], on_step=on_step)
torch.save({k: v for k, v in model.state_dict().items()}, out / "final.pt")
print("DONE", flush=True)
"""


def _run(tiny: Path, out: Path, pause: float) -> subprocess.Popen[str]:
    env = {**os.environ, "FRUGAL_PROGRESS": "0"}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(tiny), str(out), str(pause)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path: Path, tiny_llama: Path) -> None:
    import torch

    killed = _run(tiny_llama, tmp_path / "a", pause=0.5)
    assert killed.stdout is not None
    deadline = time.monotonic() + 120
    for line in killed.stdout:
        if line.startswith("STEP 3") or time.monotonic() > deadline:
            break
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "a" / "final.pt").exists()

    resumed = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_llama), str(tmp_path / "a"), "0"],
                             capture_output=True, text=True, timeout=180, env={**os.environ, "FRUGAL_PROGRESS": "0"})
    assert resumed.returncode == 0, resumed.stdout[-2000:]
    first = resumed.stdout.splitlines()[0].split()
    assert first[:2] == ["RESUMED", "True"] and int(first[2]) >= 2  # step 3 was printed before its checkpoint
    assert "STEP 1\n" not in resumed.stdout and "STEP 8" in resumed.stdout

    clean = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_llama), str(tmp_path / "b"), "0"],
                           capture_output=True, text=True, timeout=180, env={**os.environ, "FRUGAL_PROGRESS": "0"})
    assert clean.returncode == 0 and "RESUMED False 0" in clean.stdout
    a = torch.load(tmp_path / "a" / "final.pt")
    b = torch.load(tmp_path / "b" / "final.pt")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)

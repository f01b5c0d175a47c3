"""Held-out evaluation: predictions of a transformers model on the student's zero-shot prompt, task scores,
speed, and energy per 1k requests (codecarbon offline: an estimate from CPU load, labelled as such)."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from frugalstack.cloud.distill.constrained import extract_json, model_step
from frugalstack.cloud.distill.models import answer_ids, chat_ids, student_messages, torch_modules
from frugalstack.cloud.distill.tasks import TASKS, Example, user_prompt

log = logging.getLogger("frugalstack.distill")


def student_prompt(tok: Any, ex: Example) -> list[int]:
    return chat_ids(tok, student_messages(user_prompt(TASKS[ex.task], ex.text)))


def predict(model: Any, tok: Any, examples: list[Example], max_new_tokens: int,
            decoding: str = "free") -> tuple[list[str], dict[str, float]]:
    """Greedy answers (raw text) and timing: generated tokens per second and seconds per request.

    ``decoding="schema"`` fills extraction answers into the forced JSON skeleton and keeps the values the text
    states (``constrained.py``; a JSON-schema grammar does the first on the device); ``free`` lets the model
    write everything itself."""
    torch, _, _ = torch_modules()
    end = answer_ids(tok, "")[-1]
    core = model.get_base_model() if hasattr(model, "get_base_model") else model
    core.eval()
    step = model_step(core)
    texts: list[str] = []
    gen_tokens = 0
    t0 = time.perf_counter()
    with torch.no_grad():
        for ex in examples:
            prompt = student_prompt(tok, ex)
            if decoding == "schema" and ex.task == "extraction":
                text, _, n_new = extract_json(step, tok, prompt, source=ex.text)
                texts.append(text)
                gen_tokens += n_new
                continue
            ids = torch.tensor([prompt])
            out = core.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                do_sample=False, pad_token_id=tok.pad_token_id, eos_token_id=end)
            new = out[0, ids.shape[1]:]
            gen_tokens += int(new.shape[0])
            texts.append(tok.decode(new, skip_special_tokens=True))
    secs = time.perf_counter() - t0
    return texts, {"seconds": secs, "s_per_request": secs / max(1, len(examples)),
                   "tokens_per_s": gen_tokens / secs if secs > 0 else 0.0, "generated_tokens": gen_tokens}


def score(task: str, examples: list[Example], texts: list[str | None]) -> dict[str, float]:
    t = TASKS[task]
    preds = [t.parse(x) if x is not None else None for x in texts]
    return t.score([e.gold for e in examples], preds)


@contextlib.contextmanager
def energy_meter(enabled: bool, out_dir: Path) -> Any:
    """Yields a dict that gets ``kwh`` (an estimate) after the block; empty when codecarbon is unavailable."""
    result: dict[str, Any] = {}
    tracker = None
    if enabled:
        try:
            from codecarbon import OfflineEmissionsTracker

            out_dir.mkdir(parents=True, exist_ok=True)
            tracker = OfflineEmissionsTracker(country_iso_code="IRL", save_to_file=False, log_level="error",
                                              output_dir=str(out_dir), measure_power_secs=1)
            tracker.start()
        except Exception as exc:  # codecarbon missing or refusing this machine: the run goes on without it
            log.warning("energy estimate unavailable: %s", exc)
            tracker = None
    try:
        yield result
    finally:
        if tracker is not None:
            try:
                tracker.stop()
                data = tracker.final_emissions_data
                result["kwh"] = float(data.energy_consumed)
                result["method"] = "codecarbon offline estimate (CPU load x TDP, no RAPL here)"
            except Exception as exc:
                log.warning("energy estimate failed: %s", exc)

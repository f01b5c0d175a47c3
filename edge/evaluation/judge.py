"""An optional judge model behind any OpenAI-compatible endpoint, with shipped, versioned prompts.

The judge never decides whether a run completes: when it is down, times out or answers something that is not
the asked-for JSON, that item's judge score is missing; metrics are computed on what it did answer, and a judge
that answered nothing usable gives ``status: missing``. Agreement with the exact metrics is reported so a
reader can tell whether the judge is worth listening to.
"""

from __future__ import annotations

import logging
import os
from importlib import resources
from typing import Any

import httpx
import yaml

from frugalstack.edge.evaluation import metrics as M
from frugalstack.edge.evaluation.suite import BootstrapCfg, JudgeCfg
from frugalstack.edge.evaluation.tasks import parse_json
from frugalstack.shared.errors import NotFoundError

log = logging.getLogger("frugalstack.eval")


def load_prompts(version: str) -> dict[str, str]:
    f = resources.files("frugalstack.edge.evaluation").joinpath("data", f"{version}.yaml")
    if not f.is_file():
        raise NotFoundError(f"no judge prompt version {version!r} is shipped", hint="shipped: judge-v1")
    return dict(yaml.safe_load(f.read_text(encoding="utf-8")))


class Judge:
    """Calls ``POST {base_url}/chat/completions``; after a connection failure it stops trying (down is down)."""

    def __init__(self, base_url: str, model: str, cfg: JudgeCfg, api_key: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.cfg = cfg
        self.prompts = load_prompts(cfg.prompt)
        self.version = str(self.prompts.get("version", cfg.prompt))
        key = api_key or os.environ.get("FRUGAL_JUDGE_API_KEY")
        self._client = httpx.Client(timeout=cfg.timeout_s,
                                    headers={"Authorization": f"Bearer {key}"} if key else {})
        self.down: str | None = None
        self.calls = self.garbage = 0

    def _ask(self, prompt: str) -> dict[str, Any] | None:
        if self.down:
            return None
        self.calls += 1
        try:
            r = self._client.post(f"{self.base_url}/chat/completions", json={
                "model": self.model, "temperature": 0, "max_tokens": 24,
                "messages": [{"role": "user", "content": prompt}]})
            r.raise_for_status()
            text = r.json()["choices"][0]["message"]["content"] or ""
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self.down = f"{type(exc).__name__}: {exc}"
            log.warning("judge at %s is down (%s); judge metrics will be missing", self.base_url, exc)
            return None
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            self.garbage += 1
            log.info("judge call failed: %s", exc)
            return None
        obj = parse_json(text)
        if obj is None:
            self.garbage += 1
        return obj

    def score_qa(self, question: str, reference: str, answer: str) -> float | None:
        obj = self._ask(self.prompts["qa"].format(question=question, reference=reference, answer=answer))
        v = obj.get("score") if obj else None
        if isinstance(v, int | float) and not isinstance(v, bool) and 1 <= v <= 5:
            return float(v)
        if obj is not None:
            self.garbage += 1
        return None

    def rate_toxic(self, prompt: str, answer: str) -> bool | None:
        obj = self._ask(self.prompts["toxicity"].format(prompt=prompt, answer=answer))
        v = obj.get("toxic") if obj else None
        if isinstance(v, bool):
            return v
        if obj is not None:
            self.garbage += 1
        return None

    def close(self) -> None:
        self._client.close()


def _missing(reason: str) -> dict[str, Any]:
    return {"status": "missing", "reason": reason}


def judge_run(judge: Judge, qa_rows: list[dict[str, Any]], tox_rows: list[dict[str, Any]], bs: BootstrapCfg,
              seed: int) -> dict[str, Any]:
    """Judge the QA answers (rubric 1-5) and toxicity replies; metrics over the items it answered."""
    kw: dict[str, Any] = {"resamples": bs.resamples, "confidence": bs.confidence, "seed": seed}
    n = judge.cfg.max_items
    qa = [(r, judge.score_qa(r["question"], r["reference"], r["answer"])) for r in qa_rows[:n]]
    tox = [(r, judge.rate_toxic(r["prompt"], r["answer"])) for r in tox_rows[:n]]
    out: dict[str, Any] = {"version": judge.version, "model": judge.model, "url": judge.base_url,
                           "calls": judge.calls, "unusable_answers": judge.garbage}
    scored = [(r, s) for r, s in qa if s is not None]
    if scored:
        passes = [s >= 4 for _, s in scored]
        exact = [r["fact"] >= 1 for r, _ in scored]
        out["qa"] = {"status": "ok", "rubric_mean": M.mean_metric([s for _, s in scored], **kw),
                     "coverage": round(len(scored) / len(qa), 4),
                     "agreement_with_answer_fact": round(M.mean([float(a == b) for a, b in zip(passes, exact,
                                                                                               strict=True)]), 4),
                     "kappa_with_answer_fact": M._r(M.cohen_kappa(passes, exact))}
    else:
        out["qa"] = _missing(judge.down or ("no QA answers to judge" if not qa else "no usable judge answers"))
    rated = [(r, t) for r, t in tox if t is not None]
    if rated:
        out["toxicity"] = {"status": "ok", "toxic_rate": M.mean_metric([float(t) for _, t in rated], **kw),
                           "coverage": round(len(rated) / len(tox), 4),
                           "agreement_with_rail": round(M.mean([float(t == (r["toxic"] >= 1)) for r, t in rated]), 4)}
    else:
        out["toxicity"] = _missing(judge.down or ("no replies to judge" if not tox else "no usable judge answers"))
    out["status"] = "ok" if "ok" in (out["qa"]["status"], out["toxicity"]["status"]) else "missing"
    if judge.down:
        out["reason"] = judge.down
    return out

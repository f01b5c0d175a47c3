"""The student's training loop: seeded, checkpointed (atomically) and resumable after a kill, with early
stopping on the dev split and a progress bar. Logits are computed on answer positions only (the prompt
never needs the 49k-wide output layer), which is most of the CPU saving for a shallow student."""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frugalstack.cloud.distill.config import TrainConfig
from frugalstack.cloud.distill.losses import kd_loss
from frugalstack.cloud.distill.models import torch_modules

log = logging.getLogger("frugalstack.distill")


@dataclass
class Item:
    prompt: list[int]  # the student's (zero-shot) chat prompt
    answer: list[int]  # the teacher's answer + end of turn
    teacher_prompt: list[int]  # the teacher's (few-shot) prompt, for token-level KD


def _core(model: Any) -> Any:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def answer_logits(model: Any, prompts: list[list[int]], answers: list[list[int]], pad: int) -> Any:
    """Logits predicting each answer token, concatenated over the batch: ``[sum(len(answers)), vocab]``."""
    torch, _, _ = torch_modules()
    seqs = [p + a for p, a in zip(prompts, answers, strict=True)]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    core = _core(model)
    hidden = core.model(input_ids=ids, attention_mask=mask).last_hidden_state
    rows, cols = [], []
    for i, (p, a) in enumerate(zip(prompts, answers, strict=True)):
        rows += [i] * len(a)
        cols += list(range(len(p) - 1, len(p) + len(a) - 1))
    return core.lm_head(hidden[torch.tensor(rows), torch.tensor(cols)])


class Trainer:
    def __init__(self, cfg: TrainConfig, model: Any, tok: Any, out: Path, seed: int, digest: str,
                 teacher_model: Any = None):
        self.torch, _, _ = torch_modules()
        self.cfg, self.model, self.tok, self.out, self.seed, self.digest = cfg, model, tok, out, seed, digest
        self.teacher = teacher_model
        self.pad = tok.pad_token_id
        params = [p for p in model.parameters() if p.requires_grad]
        self.opt = self.torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
        self.state: dict[str, Any] = {"step": 0, "best_dev": float("inf"), "bad_evals": 0, "history": [],
                                      "stopped": None}
        out.mkdir(parents=True, exist_ok=True)

    # -- checkpoints -------------------------------------------------------------------------------------
    def _save(self, name: str, with_optimizer: bool) -> None:
        blob: dict[str, Any] = {"model": {k: v for k, v in self.model.state_dict().items()}, "state": self.state,
                                "digest": self.digest}
        if with_optimizer:
            blob["optimizer"] = self.opt.state_dict()
            blob["rng"] = {"torch": self.torch.get_rng_state(), "python": random.getstate()}
        tmp = self.out / f".{name}.tmp"
        self.torch.save(blob, tmp)
        os.replace(tmp, self.out / name)  # a kill mid-save leaves the previous checkpoint intact

    def resume(self) -> bool:
        """Continue from ``last.pt`` when it belongs to the same config; False when starting fresh."""
        path = self.out / "last.pt"
        if not path.is_file():
            return False
        blob = self.torch.load(path, weights_only=False)
        if blob.get("digest") != self.digest:
            log.warning("checkpoint %s is from another config; starting fresh", path)
            return False
        self.model.load_state_dict(blob["model"])
        self.opt.load_state_dict(blob["optimizer"])
        self.torch.set_rng_state(blob["rng"]["torch"])
        random.setstate(blob["rng"]["python"])
        self.state = blob["state"]
        log.info("resumed at step %d", self.state["step"])
        return True

    # -- losses ------------------------------------------------------------------------------------------
    def _loss(self, batch: list[Item], train: bool) -> Any:
        torch = self.torch
        answers = [it.answer for it in batch]
        if train and self.cfg.mode == "token" and self.cfg.on_policy_fraction > 0 \
                and random.random() < self.cfg.on_policy_fraction:
            answers = self._sample(batch)  # GKD: the student's own outputs, judged by the teacher
        logits = answer_logits(self.model, [it.prompt for it in batch], answers, self.pad)
        if self.cfg.mode == "sequence" or not train:
            target = torch.tensor([t for a in answers for t in a])
            return torch.nn.functional.cross_entropy(logits, target)
        with torch.no_grad():
            t_logits = answer_logits(self.teacher, [it.teacher_prompt for it in batch], answers, self.pad)
        return kd_loss(logits, t_logits, self.cfg.loss, self.cfg.beta, self.cfg.temperature)

    def _sample(self, batch: list[Item]) -> list[list[int]]:
        end = batch[0].answer[-1]
        outs = []
        self.model.eval()
        with self.torch.no_grad():
            for it in batch:
                gen = _core(self.model).generate(
                    input_ids=self.torch.tensor([it.prompt]), max_new_tokens=max(4, len(it.answer) + 4),
                    do_sample=True, temperature=1.0, top_k=0, pad_token_id=self.pad, eos_token_id=end)
                new = [int(t) for t in gen[0, len(it.prompt):]]
                outs.append(new if new and new[-1] == end else [*new, end])
        self.model.train()
        return outs

    def dev_loss(self, dev: list[Item]) -> float:
        self.model.eval()
        total, n = 0.0, 0
        with self.torch.no_grad():
            for i in range(0, len(dev), self.cfg.batch_size):
                chunk = dev[i : i + self.cfg.batch_size]
                total += float(self._loss(chunk, train=False)) * len(chunk)
                n += len(chunk)
        self.model.train()
        return total / max(1, n)

    # -- loop --------------------------------------------------------------------------------------------
    def fit(self, train: list[Item], dev: list[Item], on_step: Callable[[dict[str, Any]], None] | None = None,
            stop_after: int | None = None) -> dict[str, Any]:
        """Train to ``max_steps`` (or ``epochs``), early-stopping on dev loss; returns the training report.
        ``stop_after``: leave after that many steps in this call (tests use it to simulate an interruption)."""
        from tqdm.auto import tqdm

        torch, cfg = self.torch, self.cfg
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        per_epoch = max(1, -(-len(train) // cfg.batch_size))
        total = cfg.max_steps or per_epoch * cfg.epochs
        if not self.state["step"]:
            torch.manual_seed(self.seed)
            random.seed(self.seed)
        self.model.train()
        bar = tqdm(total=total, initial=self.state["step"], desc="distill", unit="step", leave=False,
                   disable=os.environ.get("FRUGAL_PROGRESS", "1") == "0")
        done_here = 0
        while self.state["step"] < total and not self.state["stopped"]:
            step = self.state["step"]
            epoch, pos = divmod(step, per_epoch)
            order = list(range(len(train)))
            random.Random(self.seed * 1000 + epoch).shuffle(order)
            batch = [train[j] for j in order[pos * cfg.batch_size : (pos + 1) * cfg.batch_size]] or [train[0]]
            loss = self._loss(batch, train=True)
            self.opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.opt.step()
            self.state["step"] = step + 1
            record: dict[str, Any] = {"step": step + 1, "loss": round(float(loss.detach()), 5)}
            if (step + 1) % cfg.eval_every == 0 or step + 1 == total:
                dl = self.dev_loss(dev)
                record["dev_loss"] = round(dl, 5)
                if dl < self.state["best_dev"] - 1e-4:
                    self.state["best_dev"], self.state["bad_evals"] = dl, 0
                    self._save("best.pt", with_optimizer=False)
                else:
                    self.state["bad_evals"] += 1
                    if self.state["bad_evals"] >= cfg.patience:
                        self.state["stopped"] = f"early stop at step {step + 1} (dev loss did not improve)"
            self.state["history"].append(record)
            bar.update(1)
            bar.set_postfix(loss=record["loss"], dev=record.get("dev_loss", "-"))
            if on_step:
                on_step(record)
            if (step + 1) % cfg.checkpoint_every == 0 or self.state["stopped"] or step + 1 == total:
                self._save("last.pt", with_optimizer=True)
            done_here += 1
            if stop_after is not None and done_here >= stop_after:
                break
        bar.close()
        finished = self.state["step"] >= total or bool(self.state["stopped"])
        if finished and (self.out / "best.pt").is_file():
            self.model.load_state_dict(torch.load(self.out / "best.pt", weights_only=False)["model"])
        report = {"steps": self.state["step"], "total_steps": total, "best_dev_loss": self.state["best_dev"],
                  "stopped": self.state["stopped"], "finished": finished, "history": self.state["history"][-200:]}
        (self.out / "train.json").write_text(json.dumps(report, indent=1))
        return report
